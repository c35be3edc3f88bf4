import Synchronization

/// This node's `notify-keyspace-events`, which CONFIG SET changes and the store reads as it applies entries.
///
/// Node-local, like the slow log and the encoding thresholds: shared by the client protocol, which sets it, and the
/// store, which reads it once per entry (`KeyValueStore.apply`, `tick`) and notifies as it applies. A backup's store
/// reads its own node's setting, but what it notifies goes nowhere: a backup releases no output (its replayed replies
/// are dropped), and a node that becomes primary notifies from the next entry it applies under the setting it has
/// then. So each node notifies its own subscribers under its own setting, as each Redis server does; setting it on
/// both nodes, as a test harness does through the primary only, is the operator's choice. An atomic, so the read costs
/// no lock.
public final class KeyspaceEventSettings: Sendable {
    private let bits = Atomic<UInt16>(0)

    /// No events: Redis's default, under which notifying costs one branch per entry.
    public init() {}

    /// The classes notified now.
    public var events: KeyspaceEvents {
        get { KeyspaceEvents(rawValue: bits.load(ordering: .relaxed)) }
        set { bits.store(newValue.rawValue, ordering: .relaxed) }
    }
}
