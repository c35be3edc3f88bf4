/// A session table's encoding, written and read in bounded chunks as part of its state machine's snapshot.
///
/// Layout, integers as 8 bytes little-endian: `version (1 byte) · window · sessions limit · reply bytes limit · idle
/// timeout ms · session count · sessions · digest`, the sessions in least-recently-used order (oldest first, which is
/// how the restorer rebuilds that order), each `id · last number · last use ms · reply count · replies`, a reply
/// `length · bytes`. The encoding delimits itself, so a machine can put it between its own parts.
extension SessionTable {
    static let encodingVersion: UInt8 = 1

    /// A frozen table writing out its encoding a bounded chunk at a time.
    ///
    /// Freezing copies the table's references; the table's next write then copies its dictionary of sessions once,
    /// which costs time in proportion to the sessions, bounded by `limits.sessionsLimit`, not to their replies.
    public struct Snapshot: StateSnapshot, Sendable {
        private let table: SessionTable
        /// The next session to write, walking the LRU list from the oldest.
        private var next: UInt64?
        /// The current session's next reply to write.
        private var replyIndex = 0
        private var current: Session?
        private var isHeaderWritten = false
        private var isTrailerWritten = false
        /// Bytes produced but not yet handed out.
        private var pending: [UInt8] = []
        private var pendingOffset = 0
        /// The part of a reply not yet out; it views the frozen table's storage.
        private var field: ArraySlice<UInt8> = []

        /// Header, trailer, each session's fixed part and the replies' bytes (not their lengths: the estimate is for
        /// progress reports and must cost nothing per session).
        public let estimatedByteCount: Int

        /// The table as it is now, frozen.
        public init(_ table: SessionTable) {
            self.table = table
            next = table.oldest
            estimatedByteCount = 49 + 8 + table.replyBytes + table.count * 32
        }

        /// Whether every byte of the encoding has been returned.
        public var isFinished: Bool { isTrailerWritten && pendingOffset == pending.count && field.isEmpty }

        /// The next at most `byteLimit` bytes (at least one while not finished), in time proportional to them.
        public mutating func nextChunk(byteLimit: Int) -> [UInt8] {
            let limit = max(byteLimit, 1)
            var chunk: [UInt8] = []
            while chunk.count < limit {
                if pendingOffset < pending.count {
                    let taken = min(pending.count - pendingOffset, limit - chunk.count)
                    chunk.append(contentsOf: pending[pendingOffset..<(pendingOffset + taken)])
                    pendingOffset += taken
                } else if !field.isEmpty {
                    let taken = min(field.count, limit - chunk.count)
                    chunk.append(contentsOf: field.prefix(taken))
                    field = field.dropFirst(taken)
                } else if isTrailerWritten {
                    break
                } else {
                    advance()
                }
            }
            return chunk
        }

        /// Produces the next fixed part into `pending` (and a reply into `field`).
        private mutating func advance() {
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
            if !isHeaderWritten {
                pending.append(SessionTable.encodingVersion)
                for value in [
                    UInt64(table.limits.window), UInt64(table.limits.sessionsLimit),
                    UInt64(table.limits.replyBytesLimit), UInt64(bitPattern: table.limits.idleTimeoutMilliseconds),
                    UInt64(table.count),
                ] { Self.append(value, to: &pending) }
                isHeaderWritten = true
            } else if let session = current, replyIndex < session.replies.count {
                Self.append(UInt64(session.replies[replyIndex].count), to: &pending)
                field = session.replies[replyIndex][...]
                replyIndex += 1
            } else if let id = next {
                let session = table.sessions[id]!
                for value in [
                    id, session.lastNumber, UInt64(bitPattern: session.lastUsedMilliseconds),
                    UInt64(session.replies.count),
                ] { Self.append(value, to: &pending) }
                current = session
                replyIndex = 0
                next = session.newer
            } else {
                Self.append(table.wholeDigest, to: &pending)
                current = nil
                isTrailerWritten = true
            }
        }

        static func append(_ value: UInt64, to bytes: inout [UInt8]) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
    }

    /// Rebuilds a table from its encoding, fed cut anywhere, and says where the encoding ends so that the machine
    /// embedding it can go on with its own bytes. Trusts nothing: version, limits, counts, lengths against the
    /// limits before anything is reserved, no session twice, and the digest over the whole table.
    public struct Restorer: Sendable {
        private enum Stage { case version, header, sessionHeader, replyLength, reply, digest, done }

        private var table = SessionTable()
        private var stage = Stage.version
        /// The fixed-size numbers being read for the current stage.
        private var fixed: [UInt8] = []
        private var numbers: [UInt64] = []
        private var sessionsLeft = 0
        private var repliesLeft = 0
        private var id: UInt64 = 0
        private var session = Session(lastUsedMilliseconds: 0)
        private var reply: [UInt8] = []
        private var replyLength = 0

        /// A restorer at the start of an encoding.
        public init() {}

        /// Whether the whole encoding has been read.
        public var isFinished: Bool { stage == .done }

        /// Reads from `bytes` up to the end of the encoding; how many bytes it took (all of them unless it finished).
        public mutating func consume(_ bytes: ArraySlice<UInt8>) throws(SnapshotError) -> Int {
            var index = bytes.startIndex
            while index < bytes.endIndex, stage != .done {
                if stage == .reply {
                    let taken = min(replyLength - reply.count, bytes.endIndex - index)
                    reply.append(contentsOf: bytes[index..<(index + taken)])
                    index += taken
                    if reply.count == replyLength { try finishReply() }
                    continue
                }
                let needed = stage == .version ? 1 : 8
                let taken = min(needed - fixed.count, bytes.endIndex - index)
                fixed.append(contentsOf: bytes[index..<(index + taken)])
                index += taken
                guard fixed.count == needed else { continue }
                try take(fixed)
                fixed.removeAll(keepingCapacity: true)
            }
            return index - bytes.startIndex
        }

        /// The rebuilt table, once the whole encoding has been read.
        public func finish() throws(SnapshotError) -> SessionTable {
            guard stage == .done else { throw SnapshotError("the session table is truncated, in its \(stage)") }
            return table
        }

        /// Acts on one complete fixed-size item of the current stage.
        private mutating func take(_ item: [UInt8]) throws(SnapshotError) {
            if stage == .version {
                guard item[0] == SessionTable.encodingVersion else {
                    throw SnapshotError("the session table has version \(item[0]), not \(SessionTable.encodingVersion)")
                }
                stage = .header
                return
            }
            let value = item.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
            switch stage {
            case .header:
                numbers.append(value)
                guard numbers.count == 5 else { return }
                guard numbers[0...2].allSatisfy({ $0 <= UInt64(Int.max) }) else {
                    throw SnapshotError("the session table's limits are out of range")
                }
                let limits = SessionLimits(
                    window: Int(numbers[0]), sessionsLimit: Int(numbers[1]), replyBytesLimit: Int(numbers[2]),
                    idleTimeoutMilliseconds: Int64(bitPattern: numbers[3]))
                guard limits.isValid, numbers[4] <= UInt64(limits.sessionsLimit) else {
                    throw SnapshotError("the session table's limits or session count are invalid")
                }
                table.limits = limits
                sessionsLeft = Int(numbers[4])
                numbers.removeAll()
                stage = sessionsLeft == 0 ? .digest : .sessionHeader
            case .sessionHeader:
                numbers.append(value)
                guard numbers.count == 4 else { return }
                id = numbers[0]
                guard table.sessions[id] == nil else { throw SnapshotError("session \(id) appears twice") }
                guard numbers[3] <= UInt64(table.limits.window), numbers[3] <= numbers[1] else {
                    throw SnapshotError("session \(id) keeps \(numbers[3]) replies, more than its window or numbers")
                }
                session = Session(
                    lastNumber: numbers[1], lastUsedMilliseconds: Int64(bitPattern: numbers[2]))
                repliesLeft = Int(numbers[3])
                numbers.removeAll()
                if repliesLeft == 0 { finishSession() } else { stage = .replyLength }
            case .replyLength:
                guard value <= UInt64(table.limits.replyBytesLimit) - UInt64(table.replyBytes + session.replyBytes)
                else { throw SnapshotError("session \(id) keeps more reply bytes than the table's bound") }
                replyLength = Int(value)
                reply = []
                reply.reserveCapacity(min(replyLength, 1 << 20))
                stage = .reply
                if replyLength == 0 { try finishReply() }
            case .digest:
                guard value == table.wholeDigest else {
                    throw SnapshotError("the session table's digest does not match its contents")
                }
                stage = .done
            case .version, .reply, .done:
                preconditionFailure("no fixed-size item in the \(stage)")
            }
        }

        /// Adds the reply just read to the current session.
        private mutating func finishReply() throws(SnapshotError) {
            let number = session.lastNumber - UInt64(repliesLeft) + 1
            let hash = SessionTable.replyHash(reply, number: number)
            session.replyHashes.append(hash)
            session.replyHashSum &+= hash
            session.replyBytes += reply.count
            session.replies.append(reply)
            reply = []
            repliesLeft -= 1
            if repliesLeft == 0 { finishSession() } else { stage = .replyLength }
        }

        /// Adds the current session at the newest end, which rebuilds the LRU order.
        private mutating func finishSession() {
            table.insertRestored(id, session)
            sessionsLeft -= 1
            stage = sessionsLeft == 0 ? .digest : .sessionHeader
        }
    }

    /// Adds a restored session as the most recently used.
    private mutating func insertRestored(_ id: UInt64, _ session: Session) {
        sessions[id] = session
        replyBytes += session.replyBytes
        link(id)
        sessionsDigest &+= hash(of: id)
    }
}
