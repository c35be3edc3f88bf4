import Replication

/// Snapshots: the store frozen and streamed in bounded chunks to bring a new backup up (re-protection), and back.
///
/// Layout, version 7, numbers as LEB128 varints unless marked:
/// `"LKKV" · version (1 byte) · database count · databases · digest (8 bytes LE) · sessions · blocked clients ·
/// settings (2 bytes)`, where
/// - a database is `number · level · split pointer · shard count · shards`; database 0 comes first, always, then
///   every other database holding keys, in increasing number (`KeyValueStore+Databases`);
/// - the shard count must be `2^level + split pointer` (the store's linear-hashing table, `KeyValueStore`);
/// - each shard is `key count · records · TTL count · TTL order`, in shard order;
/// - a record is `key length · key · flags (1 byte: bit 0 = has TTL, bits 1-3 = the `ValueKind`) · [expiry, Unix
///   ms, 8 bytes LE] · value`, in the shard's key order, where the value is `length · bytes` for a string, and for
///   a collection its member count (at least 1) followed by, in the collection's order, `field length · field ·
///   value length · value` per field of a hash, `length · member` per member of a set, `length · element` per
///   element of a list, `length · member · score (8 bytes LE, the double's bit pattern)` per member of a sorted set
///   (its map's order; the order by score is rebuilt from the scores);
/// - the TTL order gives, for each position of the shard's TTL order, the key's position in the shard's key
///   order;
/// - the digest is the keys' (the sessions carry their own), and the sessions are `SessionTable`'s encoding;
/// - the blocked clients are `length (8 bytes LE) · BlockedClients.encoded`;
/// - the settings are a byte with bit 0 set when active expiry is off (`DEBUG SET-ACTIVE-EXPIRE 0`) and no other
///   bit, then its complement: the digest does not cover them, and a corrupt byte must not pass for a setting.
/// Random picks (RANDOMKEY, active expiry) and KEYS index the shards and these two orders, so a restored backup
/// must have the primary's layout exactly or its next random pick diverges: the snapshot carries the layout, not
/// only the contents. The digest (the store's, over every database) lets the restorer check the whole decode against
/// what the primary had. The restorer also reads the two older versions, so a snapshot file an older node wrote still
/// restores: version 6 is version 7 without the settings, version 5 is version 6 without blocked clients, version 4 is version 5 with database 0 alone (no database
/// count and numbers), version 3 is version 4 without sorted sets and sessions.
///
/// Taking a snapshot copies the shard table (references to pages of shards), and a write afterwards copies only
/// the page and the shard it touches (`ShardTable`), so the snapshot stays frozen at no cost proportional to the state. Writing
/// it out walks the shards with a cursor, and a collection member by member; a key, value or member longer than a
/// chunk continues in the next one, so a chunk never exceeds its byte limit, whatever the size of a collection.
extension KeyValueStore {
    static let snapshotMagic: [UInt8] = Array("LKKV".utf8)
    static let snapshotVersion: UInt8 = 7
    /// The newest version without the settings after the blocked clients.
    static let unsetSnapshotVersion: UInt8 = 6
    /// The newest version without blocked clients after the sessions.
    static let unblockedSnapshotVersion: UInt8 = 5
    /// The oldest version the restorer still reads: database 0 alone, without sorted sets and sessions.
    static let snapshotOldestVersion: UInt8 = 3
    /// The newest version without databases: database 0 alone, with sorted sets and sessions.
    static let singleDatabaseSnapshotVersion: UInt8 = 4
    /// Largest level a snapshot may declare: 2^40 shards is far beyond any memory, so more can only be corruption.
    static let snapshotLevelLimit = 40
    /// Largest key a snapshot may hold: the same as a value, Redis's `proto-max-bulk-len`.
    static let snapshotKeyBytesLimit = valueBytesLimit
    /// Most bytes the restorer reserves ahead on the word of a length or count it has not yet seen bytes for; a
    /// larger key or value grows as its bytes arrive, so a corrupt length cannot make the backup allocate.
    static let restoreReserveBytesLimit = 1 << 20

    /// The state as it is now, frozen: later commands do not show in it. Copies one array of references.
    public func snapshot() -> Snapshot { Snapshot(self) }

    /// A restorer that builds a store from a snapshot's encoding, chunk by chunk.
    public func makeRestorer() -> Restorer { Restorer(slowLog: slowLog, keyspaceEvents: keyspaceEventSettings) }

    /// A frozen store writing out its version-7 encoding a bounded chunk at a time.
    public struct Snapshot: StateSnapshot, Sendable {
        /// The next piece of the layout `advance()` produces.
        private enum Stage {
            case header, databaseStart, shardStart, record, flags, member, memberValue, memberScore, expiryOrder
            case trailer, sessions, blockedClients, settings, finished
        }

        /// One database as the snapshot froze it.
        private struct Database {
            var number: Int
            var shards: ShardTable
            var level: Int, splitPointer: Int
        }

        /// Database 0, then the others holding keys, in increasing number.
        private let databases: [Database]
        private let digest: UInt64
        private var sessions: SessionTable.Snapshot
        /// Encoded at its turn, in one step: its size is bounded by the connections, not by the state.
        private let blocked: BlockedClients
        private let isActiveExpiryOn: Bool
        /// The database being written, and its shards.
        private var databaseIndex = 0
        private var shards: ShardTable
        /// Key and value bytes, plus a few bytes for each key and shard, plus the header and trailer.
        public let estimatedByteCount: Int

        private var stage = Stage.header
        private var shardIndex = 0
        /// The record or TTL-order position within the current shard.
        private var position = 0
        /// A small piece (a length, flags, a position; at most a few dozen bytes), from `carryOffset` on not yet out.
        private var carry: [UInt8] = []
        private var carryOffset = 0
        /// The part of a key or value not yet out; it views the frozen shard's storage, so it is never copied whole.
        private var field: ArraySlice<UInt8> = []
        /// The current record's value (a string's, or a collection's kind, members, and the position of its next
        /// member) and TTL, written after its key. A collection's parts are taken once per key, not per member.
        private var pendingValue: ArraySlice<UInt8> = []
        private var pendingKind = ValueKind.string
        private var pendingElements = ListValue()
        private var pendingMembers = MemberTable().makeIterator()
        private var memberCount = 0
        private var memberPosition = 0
        private var pendingExpiry: Int64?

        init(_ store: KeyValueStore) {
            var databases: [Database] = []
            var estimate = 32
            for number in 0..<KeyValueStore.databaseCount {
                guard let keyspace = store.keyspace(of: number), number == 0 || keyspace.count > 0 else { continue }
                databases.append(
                    Database(
                        number: number, shards: keyspace.shards, level: keyspace.level,
                        splitPointer: keyspace.splitPointer))
                estimate += keyspace.byteCount + 4 * keyspace.count + 4 * keyspace.shards.count + 8
            }
            if databases.first?.number != 0 {
                // Database 0 is parked empty (nil) only while another is selected; a snapshot is never taken then.
                databases.insert(Database(number: 0, shards: [StoreShard()], level: 0, splitPointer: 0), at: 0)
            }
            self.databases = databases
            shards = databases[0].shards
            digest = store.combinedDigest
            sessions = SessionTable.Snapshot(store.sessions)
            blocked = store.blocked
            isActiveExpiryOn = store.isActiveExpiryOn
            estimatedByteCount = estimate + sessions.estimatedByteCount
        }

        /// Whether every byte of the encoding has been returned.
        public var isFinished: Bool { stage == .finished && carryOffset == carry.count && field.isEmpty }

        /// Pieces of the layout (a key, a value, a member, its score) one chunk holds at most, whatever their size.
        /// Encoding and installing cost about the same per piece as per few bytes, so 64 KiB of a list's one-byte
        /// elements took milliseconds where 64 KiB of values took a fraction of one; the primary and the backup each
        /// take a window of chunks in one event.
        static let piecesPerChunkLimit = 2_048

        /// The next at most `byteLimit` bytes (at least one while not finished), and at most `piecesPerChunkLimit`
        /// pieces, in time proportional to them.
        public mutating func nextChunk(byteLimit: Int) -> [UInt8] {
            let limit = max(byteLimit, 1)
            var pieces = 0
            var chunk: [UInt8] = []
            chunk.reserveCapacity(min(limit, estimatedByteCount + 64))
            while chunk.count < limit {
                if carryOffset < carry.count {
                    let taken = min(carry.count - carryOffset, limit - chunk.count)
                    chunk.append(contentsOf: carry[carryOffset..<(carryOffset + taken)])
                    carryOffset += taken
                } else if !field.isEmpty {
                    let taken = min(field.count, limit - chunk.count)
                    chunk.append(contentsOf: field.prefix(taken))
                    field = field.dropFirst(taken)
                } else if stage == .finished || (pieces >= Self.piecesPerChunkLimit && !chunk.isEmpty) {
                    break
                } else {
                    advance()
                    pieces += 1
                }
            }
            return chunk
        }

        /// Produces the next piece into `carry` (and a key or value into `field`) and moves the cursor past it.
        private mutating func advance() {
            carry.removeAll(keepingCapacity: true)
            carryOffset = 0
            switch stage {
            case .header:
                carry.append(contentsOf: KeyValueStore.snapshotMagic)
                carry.append(KeyValueStore.snapshotVersion)
                Varint.append(UInt64(databases.count), to: &carry)
                stage = .databaseStart
            case .databaseStart:
                let database = databases[databaseIndex]
                shards = database.shards
                shardIndex = 0
                Varint.append(UInt64(database.number), to: &carry)
                Varint.append(UInt64(database.level), to: &carry)
                Varint.append(UInt64(database.splitPointer), to: &carry)
                Varint.append(UInt64(shards.count), to: &carry)
                stage = .shardStart
            case .shardStart:
                Varint.append(UInt64(shards[shardIndex].count), to: &carry)
                position = 0
                stage = .record
            case .record:
                let shard = shards[shardIndex]
                guard position < shard.count else {
                    Varint.append(UInt64(shard.expiringCount), to: &carry)
                    position = 0
                    stage = .expiryOrder
                    return
                }
                let key = shard.key(atPosition: position).bytes
                Varint.append(UInt64(key.count), to: &carry)
                field = key
                pendingExpiry = shard.expiry(atPosition: position)
                pendingKind = shard.kind(at: position)
                if pendingKind == .string {
                    pendingValue = shard.record(atPosition: position).value
                } else {
                    let collection = shard.collection(at: position)
                    memberCount = collection.count
                    if pendingKind == .list {
                        pendingElements = collection.elements
                    } else {
                        pendingMembers = collection.members.makeIterator()
                    }
                }
                stage = .flags
            case .flags:
                carry.append(pendingKind.rawValue << 1 | (pendingExpiry == nil ? 0 : 1))
                if let expiresAt = pendingExpiry {
                    withUnsafeBytes(of: expiresAt.littleEndian) { carry.append(contentsOf: $0) }
                }
                if pendingKind != .string {
                    Varint.append(UInt64(memberCount), to: &carry)
                    memberPosition = 0
                    stage = .member
                } else {
                    Varint.append(UInt64(pendingValue.count), to: &carry)
                    field = pendingValue
                    pendingValue = []
                    position += 1
                    stage = .record
                }
            case .member:
                guard memberPosition < memberCount else {
                    pendingElements = ListValue()
                    pendingMembers = MemberTable().makeIterator()
                    position += 1
                    stage = .record
                    return
                }
                if pendingKind == .list {
                    field = pendingElements[memberPosition][...]
                    memberPosition += 1
                } else {
                    guard let member = pendingMembers.next() else { preconditionFailure("a collection ran out early") }
                    field = member.field
                    if pendingKind == .hash {
                        pendingValue = member.value
                        stage = .memberValue
                    } else if pendingKind == .sortedSet {
                        pendingValue = member.value
                        stage = .memberScore
                    } else {
                        memberPosition += 1
                    }
                }
                Varint.append(UInt64(field.count), to: &carry)
            case .memberValue:
                Varint.append(UInt64(pendingValue.count), to: &carry)
                field = pendingValue
                pendingValue = []
                memberPosition += 1
                stage = .member
            case .memberScore:
                carry.append(contentsOf: pendingValue)  // the 8 bytes of the score, as the set stores them
                pendingValue = []
                memberPosition += 1
                stage = .member
            case .expiryOrder:
                let shard = shards[shardIndex]
                guard position < shard.expiringCount else {
                    shardIndex += 1
                    guard shardIndex == shards.count else {
                        stage = .shardStart
                        return
                    }
                    databaseIndex += 1
                    stage = databaseIndex == databases.count ? .trailer : .databaseStart
                    return
                }
                Varint.append(UInt64(shard.keyPosition(ofExpiryPosition: position)), to: &carry)
                position += 1
            case .trailer:
                withUnsafeBytes(of: digest.littleEndian) { carry.append(contentsOf: $0) }
                stage = .sessions
            case .sessions:
                carry = sessions.nextChunk(byteLimit: 64 << 10)
                if sessions.isFinished { stage = .blockedClients }
            case .blockedClients:
                let encoded = blocked.encoded
                withUnsafeBytes(of: UInt64(encoded.count).littleEndian) { carry.append(contentsOf: $0) }
                carry.append(contentsOf: encoded)
                stage = .settings
            case .settings:
                let settings: UInt8 = isActiveExpiryOn ? 0 : 1
                carry.append(contentsOf: [settings, ~settings])
                stage = .finished
            case .finished:
                preconditionFailure("advanced past the end of a snapshot")
            }
        }
    }
}
