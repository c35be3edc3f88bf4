import Replication

/// The connections waiting in blocking pops (and in DEBUG SLEEP, which waits on no key), and the keys they wait on:
/// replicated state, in the digest and the snapshot, so both nodes serve the same waiter from the same entry
/// (`KeyValueStore+Blocking`).
///
/// Which waiter an entry serves is decided by the replicated order alone (first come, first served per key), except
/// for one judgement only the primary can make: whether the waiter's connection is still its own. A waiter
/// registered under an earlier primary (`tenure`) lost its connection with that primary, and is dropped when met
/// rather than handed elements nobody would read.
struct BlockedClients: Equatable, Sendable {
    /// Waiters at most: past it a blocking pop that finds nothing is refused. A primary has one per connection at
    /// most (`clientConnectionsLimit`); waiters of earlier primaries are swept by ticks.
    static let waitersLimit = 65_536

    struct Waiter: Equatable, Sendable {
        /// Registration order, unique: first come, first served.
        var serial: UInt64
        /// The connection id on the primary that registered it (`ClientConnection.id`).
        var connection: UInt64
        /// The registering primary's tenure (`ApplyContext.tenure`), as it observed it.
        var tenure: UInt64
        var database: Int
        /// Whether the waiter's reply is shaped in RESP3.
        var isRESP3: Bool
        /// The blocking command, parsed once when the waiter registers.
        var command: BlockingCommand

        var digest: UInt64 {
            var hash = SplitMix64.mix(serial ^ 0x6c6f_636b_7374_6570)
            hash = SplitMix64.mix(hash ^ connection)
            hash = SplitMix64.mix(hash ^ tenure)
            hash = SplitMix64.mix(hash ^ UInt64(database) ^ (isRESP3 ? 1 << 32 : 0))
            for argument in command.arguments { hash = SplitMix64.mix(hash ^ ShardHash.of(argument[...])) }
            return hash
        }
    }

    /// A key in a database.
    struct Key: Hashable, Sendable {
        var database: Int
        var key: [UInt8]
    }

    private(set) var waiters: [UInt64: Waiter] = [:]
    /// The serials in registration order (ascending): the oldest first, for the sweep and the snapshot.
    private(set) var order: [UInt64] = []
    /// Per key, the serials waiting on it, first come first.
    private var queues: [Key: [UInt64]] = [:]
    /// The newest waiter of each connection id, for `lockstep-unblock`.
    private var byConnection: [UInt64: UInt64] = [:]
    private(set) var nextSerial: UInt64 = 1
    /// Keys written since the last serve that have waiters: node-local bookkeeping of one entry, empty between entries.
    private(set) var readyKeys: [Key] = []
    private(set) var digest: UInt64 = 0

    var isEmpty: Bool { waiters.isEmpty }

    /// The waiters' digests and the next serial: zero for a table no client ever waited in, so a store without
    /// blocking pops keeps the digest it had before they existed.
    var tableDigest: UInt64 {
        nextSerial == 1 ? digest : digest &+ SplitMix64.mix(nextSerial ^ 0x626c_6f63_6b65_6421)
    }
    var count: Int { waiters.count }

    static func == (lhs: BlockedClients, rhs: BlockedClients) -> Bool {
        lhs.waiters == rhs.waiters && lhs.nextSerial == rhs.nextSerial
    }

    /// Registers a waiter on `keys` (distinct), with the next serial.
    mutating func register(
        connection: UInt64, tenure: UInt64, database: Int, isRESP3: Bool, command: BlockingCommand
    ) {
        let waiter = Waiter(
            serial: nextSerial, connection: connection, tenure: tenure, database: database, isRESP3: isRESP3,
            command: command)
        nextSerial += 1
        insert(waiter)
    }

    /// Adds `waiter` as it was (the restorer's path too).
    mutating func insert(_ waiter: Waiter) {
        waiters[waiter.serial] = waiter
        if let last = order.last, last > waiter.serial {
            order.insert(waiter.serial, at: order.firstIndex { $0 > waiter.serial }!)
        } else {
            order.append(waiter.serial)
        }
        for key in waiter.command.keys {
            queues[Key(database: waiter.database, key: key), default: []].append(waiter.serial)
        }
        byConnection[waiter.connection] = waiter.serial
        nextSerial = max(nextSerial, waiter.serial + 1)
        digest = digest &+ waiter.digest
    }

    /// Removes the waiter `serial` from every queue; returns it.
    @discardableResult
    mutating func remove(_ serial: UInt64) -> Waiter? {
        guard let waiter = waiters.removeValue(forKey: serial) else { return nil }
        if let position = order.firstIndex(of: serial) { order.remove(at: position) }
        for key in waiter.command.keys {
            let queueKey = Key(database: waiter.database, key: key)
            queues[queueKey]?.removeAll { $0 == serial }
            if queues[queueKey]?.isEmpty == true { queues[queueKey] = nil }
        }
        if byConnection[waiter.connection] == serial { byConnection[waiter.connection] = nil }
        digest = digest &- waiter.digest
        return waiter
    }

    /// The newest waiter of connection `connection`.
    func waiter(ofConnection connection: UInt64) -> Waiter? {
        byConnection[connection].flatMap { waiters[$0] }
    }

    /// The serials waiting on `key`, first come first.
    func queue(_ key: Key) -> [UInt64] { queues[key] ?? [] }

    /// Notes that `key` was written, if someone waits on it: it is served once the entry is done.
    mutating func noteWritten(_ key: Key) {
        guard queues[key] != nil, !readyKeys.contains(key) else { return }
        readyKeys.append(key)
    }

    /// Notes every key with waiters in `databases` as written (SWAPDB), in the order their oldest waiters came, so
    /// both nodes serve them in one order. Costs time in proportion to the waited-on keys, which the waiters bound.
    mutating func noteAllWritten(inDatabases databases: Set<Int>) {
        let keys = queues.filter { databases.contains($0.key.database) }.sorted { $0.value[0] < $1.value[0] }
        for (key, _) in keys { noteWritten(key) }
    }

    /// The next written key to serve, in the order written.
    mutating func takeReadyKey() -> Key? {
        readyKeys.isEmpty ? nil : readyKeys.removeFirst()
    }

    mutating func forgetReadyKeys() { readyKeys.removeAll() }
}

// MARK: - Snapshot encoding

extension BlockedClients {
    /// Most bytes the encoding may declare: a corrupt length cannot make the restorer wait for more.
    static let encodingBytesLimit = 1 << 30

    /// `next serial · waiter count · waiters · table digest (8 bytes LE)`, the waiters oldest first, each `serial ·
    /// connection · tenure · database · RESP3 flag (1 byte) · argument count · (length · argument)...`, the rest LEB128
    /// varints: what a snapshot carries after the sessions. The digest checks the decode, as the keys' digest does.
    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        Varint.append(nextSerial, to: &bytes)
        Varint.append(UInt64(order.count), to: &bytes)
        for serial in order {
            guard let waiter = waiters[serial] else { continue }
            for value in [waiter.serial, waiter.connection, waiter.tenure, UInt64(waiter.database)] {
                Varint.append(value, to: &bytes)
            }
            bytes.append(waiter.isRESP3 ? 1 : 0)
            Varint.append(UInt64(waiter.command.arguments.count), to: &bytes)
            for argument in waiter.command.arguments {
                Varint.append(UInt64(argument.count), to: &bytes)
                bytes.append(contentsOf: argument)
            }
        }
        withUnsafeBytes(of: tableDigest.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// The table `bytes` encode; throws at anything malformed: a truncation, trailing bytes, a database out of range,
    /// a serial out of order or not below the next one, a command that is no blocking pop, or a digest that differs.
    init(decoding encoding: [UInt8]) throws(SnapshotError) {
        guard encoding.count >= 8 else { throw SnapshotError("the blocked clients are truncated") }
        let bytes = Array(encoding.dropLast(8))
        var recorded: UInt64 = 0
        for (index, byte) in encoding.suffix(8).enumerated() { recorded |= UInt64(byte) << (8 * UInt64(index)) }
        var offset = 0
        func number(_ what: String) throws(SnapshotError) -> UInt64 {
            guard let value = Varint.read(bytes, at: &offset) else {
                throw SnapshotError("the blocked clients' \(what) is truncated or malformed")
            }
            return value
        }
        self.init()
        let next = try number("next serial")
        let count = try number("count")
        guard count <= UInt64(Self.waitersLimit) else { throw SnapshotError("\(count) blocked clients exceed the limit") }
        var previous: UInt64 = 0
        for _ in 0..<count {
            let serial = try number("serial")
            let connection = try number("connection")
            let tenure = try number("tenure")
            let database = try number("database")
            guard serial > previous, serial < next, database < UInt64(KeyValueStore.databaseCount), offset < bytes.count,
                bytes[offset] <= 1
            else { throw SnapshotError("blocked client \(serial) is malformed") }
            let isRESP3 = bytes[offset] == 1
            offset += 1
            let argumentCount = try number("argument count")
            var arguments: [[UInt8]] = []
            for _ in 0..<argumentCount {
                let length = try number("argument length")
                guard length <= UInt64(bytes.count - offset) else { throw SnapshotError("a blocked client's argument is truncated") }
                arguments.append(Array(bytes[offset..<(offset + Int(length))]))
                offset += Int(length)
            }
            guard case .success(let command)? = BlockingCommand.parse(arguments) else {
                throw SnapshotError("blocked client \(serial) waits in no blocking pop")
            }
            insert(
                Waiter(
                    serial: serial, connection: connection, tenure: tenure, database: Int(database), isRESP3: isRESP3,
                    command: command))
            previous = serial
        }
        guard offset == bytes.count else { throw SnapshotError("\(bytes.count - offset) bytes after the blocked clients") }
        nextSerial = next
        guard next >= 1, tableDigest == recorded else {
            throw SnapshotError("the blocked clients do not match their recorded digest")
        }
    }
}
