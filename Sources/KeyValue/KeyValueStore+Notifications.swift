import Replication

/// Redis's keyspace notifications (`notify-keyspace-events`, `KeyspaceEvents`): each change a command makes to a key
/// publishes its event to `__keyspace@<db>__:<key>` and the key to `__keyevent@<db>__:<event>`.
///
/// Notifications are produced where entries are applied, and leave as PUBLISHes do: each is held for the release
/// beside the entry's reply (`ReleaseEnvelope`, marked a notification, so no reply takes its count), and the runtime
/// delivers it to channel and pattern subscribers once the backup acks the entry, in log order with every other
/// message (`carriesBroadcast`, `KeyValueClientProtocol+Publish`). A transaction's notifications ride in its EXEC's
/// reply; the background sweep's in the tick's output (`tickWithOutput`). A key a read finds expired is deleted by an
/// entry (`KeyValueStore+Reads` declines such a read), so its `expired` event is notified like any other. The events,
/// their names and their order are Redis 7.0's (its `notifyKeyspaceEvent` calls): the command's event, then `del`
/// for a collection it left empty; `new` when a key is created, before the command's event.
///
/// The setting is node-local (`KeyspaceEventSettings`), read once per entry into `notifiedEvents`; while it is empty,
/// which is the default, each event site costs one branch.
extension KeyValueStore {
    /// A store that notes slow commands in `slowLog` and notifies the events `keyspaceEvents` asks for; restorers it
    /// makes, and what FLUSHALL leaves, keep both.
    public init(slowLog: SlowLog, keyspaceEvents: KeyspaceEventSettings) {
        self.init(slowLog: slowLog)
        self.keyspaceEventSettings = keyspaceEvents
    }

    /// Reads the node's setting for the entry about to be applied.
    @inline(__always)
    mutating func startNotifying() {
        if let keyspaceEventSettings { notifiedEvents = keyspaceEventSettings.events }
    }

    /// Notifies `event` of class `type` on `key`, if the setting asks for that class; then `del` if the command left
    /// `key` an empty collection, which it deleted.
    @inline(__always)
    mutating func notify(_ type: KeyspaceEvents, _ event: StaticString, _ key: StoreKey) {
        guard !notifiedEvents.isEmpty else { return }
        holdEvent(type, event, key.bytes)
    }

    /// Notifies `new` for `key`, just created; nothing when the command itself emptied and deleted it before (LMOVE
    /// of a list's last element onto itself), as to Redis that key never went away.
    @inline(__always)
    mutating func notifyCreated(_ key: StoreKey) {
        guard !notifiedEvents.isEmpty else { return }
        if let index = emptiedKeys.firstIndex(where: { $0[...] == key.bytes }) {
            emptiedKeys.remove(at: index)
            return
        }
        holdEvent(.new, "new", key.bytes)
    }

    /// `notify` for a key given as bytes.
    @inline(__always)
    mutating func notify(_ type: KeyspaceEvents, _ event: StaticString, _ key: ArraySlice<UInt8>) {
        guard !notifiedEvents.isEmpty else { return }
        holdEvent(type, event, key)
    }

    /// Notes that `key` was deleted because a command left its collection empty: its `del` follows the command's own
    /// event (`notify`), or the command's end if it notified nothing for the key.
    @inline(__always)
    mutating func noteEmptied(_ key: StoreKey) {
        guard !notifiedEvents.isEmpty else { return }
        emptiedKeys.append(Array(key.bytes))
    }

    /// The `del` events of emptied keys no event of the command's preceded; at the end of each command.
    mutating func finishCommandEvents() {
        while !emptiedKeys.isEmpty {
            let key = emptiedKeys.removeFirst()
            if notifiedEvents.contains(.generic) { holdMessages(Self.deleteEvent, key[...]) }
        }
    }

    /// `notify`'s work, off the path of a store that notifies nothing.
    @inline(never)
    private mutating func holdEvent(_ type: KeyspaceEvents, _ event: StaticString, _ key: ArraySlice<UInt8>) {
        if notifiedEvents.contains(type) {
            holdMessages(event.withUTF8Buffer { Array($0) }, key)
        }
        // At most a few keys a command: a linear search.
        if let index = emptiedKeys.firstIndex(where: { $0[...] == key }) {
            emptiedKeys.remove(at: index)
            if notifiedEvents.contains(.generic) { holdMessages(Self.deleteEvent, key) }
        }
    }

    private static let deleteEvent = Array("del".utf8)
    private static let publishName = Array("publish".utf8)

    /// Holds the keyspace and keyevent messages of one event, as the setting's `K` and `E` ask.
    private mutating func holdMessages(_ event: [UInt8], _ key: ArraySlice<UInt8>) {
        let database = Array(String(selectedDatabase).utf8)
        if notifiedEvents.contains(.keyspace) {
            let channel = Array("__keyspace@".utf8) + database + Array("__:".utf8) + key
            holdPublish(channel: channel, message: event)
        }
        if notifiedEvents.contains(.keyevent) {
            let channel = Array("__keyevent@".utf8) + database + Array("__:".utf8) + event
            holdPublish(channel: channel, message: Array(key))
        }
    }

    /// Holds `PUBLISH channel message` for the release, as a notification (no reply takes its count).
    private mutating func holdPublish(channel: [UInt8], message: [UInt8]) {
        let command = KeyValueCommand.encode([Self.publishName, channel, message])
        heldForRelease.append(ReleaseEnvelope.Held(position: nil, isNotification: true, command: command[...]))
    }

    /// Deletes `key`, whose TTL has passed, and notifies `expired`: lazily, when a command meets it, or by the sweep.
    mutating func removeExpired(_ key: StoreKey) {
        remove(key)
        notify(.expired, "expired", key)
    }
}
