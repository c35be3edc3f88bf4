import Replication
import Synchronization

/// What the loop thread shares with other threads: the published status and the crash switch.
final class RuntimeShared: Sendable {
    struct Published: Sendable {
        var status: NodeStatus
        var counters: RuntimeCounters
    }

    /// Refreshed at most `StatusPublisher.publishIntervalNanoseconds` apart, and at once after a role change.
    let published: Mutex<Published>
    /// Set by `crash()` from any thread: from then on the loop does nothing more than finish its round.
    let isCrashed = Atomic<Bool>(false)

    init(status: NodeStatus) {
        published = Mutex(Published(status: status, counters: RuntimeCounters()))
    }
}
