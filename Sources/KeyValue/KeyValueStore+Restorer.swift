import Replication

extension KeyValueStore {
    /// Rebuilds a store from a snapshot's version-6 encoding, or an older version's (no blocked clients; database 0 alone), fed cut
    /// anywhere (`KeyValueStore+Snapshot.swift`).
    ///
    /// A parser over the byte stream that holds at most one partial record (its key or value grows as its bytes
    /// arrive) and builds shard by shard, so a chunk costs time in proportion to its bytes plus, at most, finishing
    /// one shard. It trusts nothing: the magic and version, the databases' numbers (database 0 first, then
    /// increasing, below `databaseCount`), each level against its shard count, every length against its limit before
    /// reserving anything, every key against the shard it sits in, no key twice in a shard, every kind (no sorted set
    /// in a version-3 snapshot), no empty collection and no field or member twice in one, no NaN score, the TTL order
    /// against the keys with TTLs (a permutation of them), the digest over everything, and no byte after it. The
    /// first failure is thrown, and thrown again for anything fed after it.
    public struct Restorer: SnapshotRestorer {
        /// The store being rebuilt.
        public typealias Machine = KeyValueStore

        /// What the next bytes are.
        private enum Stage {
            case magic, version, databaseCount, databaseNumber
            case level, splitPointer, shardCount, keyCount, keyLength, key, valueLength, value, flags
            case expiry, memberCount, memberLength, member, memberValueLength, memberValue, memberScore
            case expiryCount, expiryPosition, digest, sessions, blockedLength, blockedClients, settings, done
        }

        /// The store so far: in its fields, the database being read (its layout from its header, and the shards
        /// completed); the databases completed are in `databases`.
        private var store = KeyValueStore()
        private var databases: [Keyspace?] = KeyValueStore.noParkedKeyspaces
        /// Databases still to come, and the number of the one being read.
        private var databasesLeft = 0
        private var databaseNumber = -1
        private var stage = Stage.magic
        private var failure: SnapshotError?
        /// Bytes consumed before the current chunk, for error messages.
        private var offset = 0
        /// The snapshot's version, read from its header: 3 has no sorted sets and no sessions after the digest.
        private var version: UInt8 = 0

        /// A varint being read: its value so far and the shift of its next 7 bits.
        private var varintValue: UInt64 = 0
        private var varintShift: UInt64 = 0
        /// A fixed-size item (magic, version, flags, expiry, digest) being read.
        private var fixed: [UInt8] = []
        /// A key or value being read, and how long it will be.
        private var field: [UInt8] = []
        private var fieldLength = 0

        private var shardCount = 0
        private var sessions = SessionTable.Restorer()
        private var shard = StoreShard()
        private var recordsLeft = 0
        private var expiryPositionsLeft = 0
        private var key: [UInt8] = []
        private var keyHash: UInt64 = 0
        private var value: [UInt8] = []
        /// The current record's kind and TTL, read before its value.
        private var kind = ValueKind.string
        private var expiresAtMilliseconds: Int64?
        /// The collection being read, its members still to come, and the current hash field.
        private var collection = CollectionValue(kind: .hash)
        private var membersLeft = 0
        private var member: [UInt8] = []

        /// A restorer for an empty store's configuration: its slow log and keyspace event setting.
        init(slowLog: SlowLog? = nil, keyspaceEvents: KeyspaceEventSettings? = nil) {
            store.slowLog = slowLog
            store.keyspaceEventSettings = keyspaceEvents
        }

        /// Takes the next bytes of the encoding, cut anywhere; throws at the first sign of corruption.
        public mutating func consume(_ bytes: [UInt8]) throws(SnapshotError) {
            if let failure { throw failure }
            do {
                try parse(bytes)
                offset += bytes.count
            } catch {
                failure = error
                throw error
            }
        }

        /// The rebuilt store, once the whole encoding (and nothing more) has been consumed.
        public mutating func finish() throws(SnapshotError) -> KeyValueStore {
            if let failure { throw failure }
            guard stage == .done else {
                let error = SnapshotError("truncated after \(offset) bytes, in the \(stage)")
                failure = error
                throw error
            }
            failure = SnapshotError("the restorer has already handed its store over")
            var first = databases[0] ?? Keyspace()
            databases[0] = nil
            store.exchangeKeyspace(&first)
            store.parkedKeyspaces = databases.map { $0?.count == 0 ? nil : $0 }
            return store
        }

        private mutating func parse(_ bytes: [UInt8]) throws(SnapshotError) {
            var index = 0
            while index < bytes.count {
                switch stage {
                case .magic, .version, .flags, .expiry, .memberScore, .digest, .blockedLength, .settings:
                    let needed = fixedByteCount(stage) - fixed.count
                    let taken = min(needed, bytes.count - index)
                    fixed.append(contentsOf: bytes[index..<(index + taken)])
                    index += taken
                    if taken == needed {
                        try completeFixed(at: offset + index)
                        fixed.removeAll(keepingCapacity: true)
                    }
                case .key, .value, .member, .memberValue:
                    let taken = min(fieldLength - field.count, bytes.count - index)
                    field.append(contentsOf: bytes[index..<(index + taken)])
                    index += taken
                    if field.count == fieldLength { try completeField(at: offset + index) }
                case .sessions:
                    do {
                        index += try sessions.consume(bytes[index...])
                    } catch {
                        throw SnapshotError("at byte \(offset + index): \(error.reason)")
                    }
                    if sessions.isFinished {
                        store.sessions = try sessions.finish()
                        stage = version > KeyValueStore.unblockedSnapshotVersion ? .blockedLength : .done
                    }
                case .blockedClients:
                    let taken = min(fieldLength - field.count, bytes.count - index)
                    field.append(contentsOf: bytes[index..<(index + taken)])
                    index += taken
                    if field.count == fieldLength { try completeBlockedClients() }
                case .done:
                    throw SnapshotError("\(bytes.count - index) trailing bytes after the end")
                default:
                    let start = offset + index
                    let byte = bytes[index]
                    index += 1
                    // The tenth byte may only carry bit 63.
                    guard varintShift < 63 || (varintShift == 63 && byte <= 1) else {
                        throw SnapshotError("the \(stage) ending at byte \(start) overflows 64 bits")
                    }
                    varintValue |= UInt64(byte & 0x7F) << varintShift
                    varintShift += 7
                    if byte & 0x80 == 0 {
                        let value = varintValue
                        varintValue = 0
                        varintShift = 0
                        try completeVarint(value, at: start)
                    }
                }
            }
        }

        private func fixedByteCount(_ stage: Stage) -> Int {
            switch stage {
            case .magic: KeyValueStore.snapshotMagic.count
            case .version, .flags: 1
            case .settings: 2
            default: 8
            }
        }

        /// A number `value` ending at byte `position`, which must be at most `limit`.
        private func checked(_ value: UInt64, atMost limit: Int, _ what: String, at position: Int) throws(SnapshotError)
            -> Int
        {
            guard value <= UInt64(max(limit, 0)) else {
                throw SnapshotError("\(what) \(value) at byte \(position) exceeds \(limit)")
            }
            return Int(value)
        }

        private mutating func completeVarint(_ value: UInt64, at position: Int) throws(SnapshotError) {
            switch stage {
            case .databaseCount:
                guard value >= 1, value <= UInt64(KeyValueStore.databaseCount) else {
                    throw SnapshotError(
                        "database count \(value) at byte \(position) is not 1 to \(KeyValueStore.databaseCount)")
                }
                databasesLeft = Int(value)
                stage = .databaseNumber
            case .databaseNumber:
                let first = databaseNumber < 0
                guard first ? value == 0 : value > UInt64(databaseNumber) && value < UInt64(KeyValueStore.databaseCount)
                else {
                    throw SnapshotError(
                        "database number \(value) at byte \(position) does not follow \(databaseNumber) (database 0 "
                            + "first, then increasing, below \(KeyValueStore.databaseCount))")
                }
                beginDatabase(Int(value))
            case .level:
                store.level = try checked(value, atMost: KeyValueStore.snapshotLevelLimit, "level", at: position)
                stage = .splitPointer
            case .splitPointer:
                store.splitPointer = try checked(
                    value, atMost: (1 << store.level) - 1, "split pointer", at: position)
                stage = .shardCount
            case .shardCount:
                let expected = (1 << store.level) + store.splitPointer
                guard value == UInt64(expected) else {
                    throw SnapshotError("shard count \(value) is not 2^level + split pointer = \(expected)")
                }
                shardCount = expected  // not reserved: shards are only trusted as far as they arrive
                stage = .keyCount
            case .keyCount:
                // Not reserved: a count is only trusted as far as records arrive.
                recordsLeft = try checked(value, atMost: Int.max, "key count", at: position)
                shard = StoreShard()
                stage = recordsLeft == 0 ? .expiryCount : .keyLength
            case .keyLength:
                try beginField(
                    try checked(value, atMost: KeyValueStore.snapshotKeyBytesLimit, "key length", at: position),
                    stage: .key, at: position)
            case .valueLength:
                try beginField(
                    try checked(value, atMost: KeyValueStore.valueBytesLimit, "value length", at: position),
                    stage: .value, at: position)
            case .memberCount:
                guard value > 0 else { throw SnapshotError("an empty collection at byte \(position)") }
                membersLeft = try checked(value, atMost: Int.max, "member count", at: position)
                collection = CollectionValue(kind: kind)
                stage = .memberLength
            case .memberLength:
                try beginField(
                    try checked(value, atMost: KeyValueStore.valueBytesLimit, "member length", at: position),
                    stage: .member, at: position)
            case .memberValueLength:
                try beginField(
                    try checked(value, atMost: KeyValueStore.valueBytesLimit, "field value length", at: position),
                    stage: .memberValue, at: position)
            case .expiryCount:
                guard value == UInt64(shard.unorderedExpiryCount) else {
                    throw SnapshotError(
                        "TTL order of shard \(store.shards.count) has \(value) keys but "
                            + "\(shard.unorderedExpiryCount) keys have a TTL")
                }
                expiryPositionsLeft = Int(value)
                if expiryPositionsLeft == 0 { completeShard() } else { stage = .expiryPosition }
            case .expiryPosition:
                let keyPosition = try checked(value, atMost: shard.count - 1, "TTL order position", at: position)
                guard shard.appendToExpiryOrder(keyPosition: keyPosition) else {
                    throw SnapshotError("TTL order names a key without a TTL, or one twice, at byte \(position)")
                }
                expiryPositionsLeft -= 1
                if expiryPositionsLeft == 0 { completeShard() }
            default:
                preconditionFailure("a varint read in the \(stage)")
            }
        }

        /// Starts reading a key or value of `length` bytes, reserving no more than `restoreReserveBytesLimit`.
        private mutating func beginField(_ length: Int, stage next: Stage, at position: Int) throws(SnapshotError) {
            field = []
            field.reserveCapacity(min(length, KeyValueStore.restoreReserveBytesLimit))
            fieldLength = length
            stage = next
            if length == 0 { try completeField(at: position) }
        }

        private mutating func completeField(at position: Int) throws(SnapshotError) {
            switch stage {
            case .key:
                swap(&key, &field)
                keyHash = ShardHash.of(key[...])
                guard store.shardIndex(hash: keyHash) == store.shards.count else {
                    throw SnapshotError("the key ending at byte \(position) belongs in another shard")
                }
                stage = .flags
            case .value:
                swap(&value, &field)
                try completeRecord(at: position)
            case .member where kind == .hash:
                swap(&member, &field)
                stage = .memberValueLength
            case .member where kind == .sortedSet:
                swap(&member, &field)
                stage = .memberScore
            case .member:
                if kind == .list {
                    collection.elements.pushBack(field)
                } else if !collection.members.storeMember(field[...]) {
                    throw SnapshotError("the member ending at byte \(position) repeats one of its set")
                }
                try completeMember(at: position)
            default:
                guard collection.members.storeMember(member[...], value: field[...]) else {
                    throw SnapshotError("the field ending at byte \(position) repeats one of its hash")
                }
                try completeMember(at: position)
            }
            field = []
        }

        private mutating func completeMember(at position: Int) throws(SnapshotError) {
            membersLeft -= 1
            if membersLeft == 0 {
                try completeRecord(at: position)
            } else {
                stage = .memberLength
            }
        }

        private mutating func completeFixed(at position: Int) throws(SnapshotError) {
            switch stage {
            case .magic:
                guard fixed == KeyValueStore.snapshotMagic else {
                    throw SnapshotError("not a key-value snapshot (bad magic)")
                }
                stage = .version
            case .version:
                let version = fixed[0]
                guard version >= KeyValueStore.snapshotOldestVersion, version <= KeyValueStore.snapshotVersion else {
                    throw SnapshotError(
                        "unsupported snapshot version \(version); this node reads versions "
                            + "\(KeyValueStore.snapshotOldestVersion) to \(KeyValueStore.snapshotVersion)")
                }
                self.version = version
                if version > KeyValueStore.singleDatabaseSnapshotVersion {
                    stage = .databaseCount
                } else {
                    databasesLeft = 1
                    beginDatabase(0)
                }
            case .flags:
                guard fixed[0] >> 4 == 0, let kind = ValueKind(rawValue: fixed[0] >> 1),
                    kind != .sortedSet || version >= 4
                else {
                    throw SnapshotError("record flags \(fixed[0]) at byte \(position - 1) name no kind of value")
                }
                self.kind = kind
                expiresAtMilliseconds = nil
                if fixed[0] & 1 == 1 {
                    stage = .expiry
                } else {
                    stage = kind == .string ? .valueLength : .memberCount
                }
            case .expiry:
                expiresAtMilliseconds = Int64(bitPattern: Self.littleEndian(fixed))
                stage = kind == .string ? .valueLength : .memberCount
            case .memberScore:
                let score = Double(bitPattern: Self.littleEndian(fixed))
                guard !score.isNaN else { throw SnapshotError("the score ending at byte \(position) is NaN") }
                guard collection.score(of: member[...]) == nil else {
                    throw SnapshotError("the member ending at byte \(position - 8) repeats one of its sorted set")
                }
                collection.setScore(score, of: member[...])
                try completeMember(at: position)
            case .digest:
                var digest: UInt64 = 0
                for (number, keyspace) in databases.enumerated() {
                    digest &+= KeyValueStore.databaseDigest(keyspace?.digestSum ?? 0, database: number)
                }
                guard Self.littleEndian(fixed) == digest else {
                    throw SnapshotError("contents do not match the recorded digest")
                }
                stage = version == 3 ? .done : .sessions
            case .settings:
                guard fixed[0] <= 1, fixed[1] == ~fixed[0] else {
                    throw SnapshotError("the settings ending at byte \(position) are corrupt: \(fixed[0]), \(fixed[1])")
                }
                store.isActiveExpiryOn = fixed[0] & 1 == 0
                stage = .done
            case .blockedLength:
                fieldLength = try checked(
                    Self.littleEndian(fixed), atMost: BlockedClients.encodingBytesLimit, "blocked clients' length",
                    at: position)
                field = []
                stage = .blockedClients
                if fieldLength == 0 { try completeBlockedClients() }
            default:
                preconditionFailure("a fixed-size item read in the \(stage)")
            }
        }

        private mutating func completeBlockedClients() throws(SnapshotError) {
            store.blocked = try BlockedClients(decoding: field)
            field = []
            stage = version > KeyValueStore.unsetSnapshotVersion ? .settings : .done
        }

        private mutating func completeRecord(at position: Int) throws(SnapshotError) {
            let added: Bool
            if kind == .string {
                added = shard.appendBuilding(
                    key: key[...], value: value[...], expiresAtMilliseconds: expiresAtMilliseconds, hash: keyHash)
            } else {
                added = shard.appendBuilding(
                    key: key[...], collection: collection, expiresAtMilliseconds: expiresAtMilliseconds, hash: keyHash)
                collection = CollectionValue(kind: .hash)
            }
            guard added else { throw SnapshotError("the record ending at byte \(position) repeats a key") }
            key = []
            value = []
            recordsLeft -= 1
            stage = recordsLeft == 0 ? .expiryCount : .keyLength
        }

        /// Adds the finished shard to the store and its totals; the next shard, or the digest, follows.
        private mutating func completeShard() {
            store.count += shard.count
            store.expiringCount += shard.expiringCount
            store.digestSum &+= shard.digestSum
            store.byteCount += shard.byteCount
            store.memoryByteCount += shard.memoryByteCount
            store.shards.append(shard)
            shard = StoreShard()
            guard store.shards.count == shardCount else {
                stage = .keyCount
                return
            }
            var completed = Keyspace()
            store.exchangeKeyspace(&completed)
            databases[databaseNumber] = completed
            databasesLeft -= 1
            stage = databasesLeft == 0 ? .digest : .databaseNumber
        }

        /// Starts reading database `number`: its layout comes next, then its shards.
        private mutating func beginDatabase(_ number: Int) {
            var empty = Keyspace()
            store.exchangeKeyspace(&empty)
            store.shards = []
            databaseNumber = number
            stage = .level
        }

        private static func littleEndian(_ bytes: [UInt8]) -> UInt64 {
            var value: UInt64 = 0
            for (index, byte) in bytes.enumerated() { value |= UInt64(byte) << (8 * index) }
            return value
        }
    }
}
