/// Client sessions kept in the replicated state: what lets a client retry a request after a failover without the
/// request taking effect twice.
///
/// A client opens a session and numbers its requests 1, 2, 3, ... The table applies number `last + 1`, saves its
/// reply, and answers a retry of any number it still keeps with the saved reply instead of applying it again. Since
/// the table is part of the state that both nodes build from the same log, a retry sent to the new primary after a
/// failover finds the reply the old one saved (if the backup had the entry) or applies the request for the first time
/// (if it had not). A state machine embeds a table, puts it in its snapshot (`SessionTable.Snapshot`) and digest,
/// and reads the time for it only from its `ApplyContext`, so both nodes evict and expire alike.
///
/// Every step is bounded by `limits`: a request costs time in proportion to its reply, an eviction or expiry step
/// removes a bounded number of sessions, and the least-recently-used order is a linked list through the sessions.
public struct SessionTable: Equatable, Sendable {
    /// What the table says of a numbered request before anything is applied.
    public enum Admission: Equatable, Sendable {
        /// The request is the session's next: apply it, then hand its reply to `save(_:of:)`.
        case new
        /// The request had been applied before: answer with this reply, saved then, and apply nothing.
        case repeated([UInt8])
        /// No such session: it never existed, was closed, expired or was evicted. Apply nothing.
        case unknownSession
        /// The number is older than the oldest reply kept: whether it was applied cannot be told any more.
        case stale(oldestKept: UInt64)
        /// The number skips ahead of the next one expected; apply nothing.
        case gap(expected: UInt64)
    }

    /// One session: its last applied number, the replies of the numbers up to it, and its place in the LRU order.
    struct Session: Equatable, Sendable {
        var lastNumber: UInt64 = 0
        /// The replies of numbers `lastNumber - replies.count + 1 ... lastNumber`, oldest first.
        var replies: [[UInt8]] = []
        /// Each reply's hash, so dropping one takes its share out of the digest without reading it again.
        var replyHashes: [UInt64] = []
        /// The wrapping sum of `replyHashes`, kept with them: the session's hash reads it on every request.
        var replyHashSum: UInt64 = 0
        var replyBytes = 0
        var lastUsedMilliseconds: Int64
        /// The neighbours in least-recently-used order: `older` was used before this one, `newer` after.
        var older: UInt64?
        var newer: UInt64?

        /// The oldest number whose reply is kept (`lastNumber + 1` when none is).
        var oldestKept: UInt64 { lastNumber + 1 - UInt64(replies.count) }
    }

    /// Sessions removed in one step by expiry: the rest go in later steps, so no entry does unbounded work.
    public static let expiryStepLimit = 16

    var sessions: [UInt64: Session] = [:]
    /// The least and the most recently used sessions, the ends of the LRU list.
    var oldest: UInt64?
    var newest: UInt64?
    /// The bounds the last session-opening entry carried.
    public internal(set) var limits = SessionLimits.defaults
    /// Bytes of saved replies across all sessions, kept at most `limits.replyBytesLimit`.
    public internal(set) var replyBytes = 0
    /// Wrapping sum of the sessions' hashes (`hash(of:)`), kept up to date by every mutation.
    var sessionsDigest: UInt64 = 0

    /// An empty table.
    public init() {}

    /// Sessions held.
    public var count: Int { sessions.count }

    /// Whether a session `id` is held (expired or not).
    public func contains(_ id: UInt64) -> Bool { sessions[id] != nil }

    /// A hash of the sessions and the limits, equal for equal tables in every process; zero for an empty table, whose
    /// limits affect nothing (the next opening brings its own), so a store that never had sessions keeps its digest.
    public var digest: UInt64 {
        sessions.isEmpty ? 0 : wholeDigest
    }

    /// The sessions' and the limits' hash, empty or not: what the encoding's trailer checks.
    var wholeDigest: UInt64 {
        sessionsDigest &+ Self.mix(
            UInt64(limits.window) &+ Self.mix(UInt64(limits.sessionsLimit) &+ Self.mix(
                UInt64(limits.replyBytesLimit) &+ Self.mix(UInt64(bitPattern: limits.idleTimeoutMilliseconds)))))
    }

    /// Opens session `id` (not held; draw another id if it is) under `limits`, at `now` (recorded Unix ms),
    /// evicting the least recently used sessions while the table is full.
    public mutating func open(_ id: UInt64, limits: SessionLimits, at now: Int64) {
        precondition(sessions[id] == nil, "session \(id) is already open")
        precondition(limits.isValid, "invalid session limits \(limits)")
        self.limits = limits
        expireIdle(at: now)
        // A table over a lowered bound shrinks a step per opening, as expiry does: the bound on work per entry.
        var evicted = 0
        while sessions.count >= limits.sessionsLimit, evicted <= Self.expiryStepLimit, let oldest {
            remove(oldest)
            evicted += 1
        }
        sessions[id] = Session(lastUsedMilliseconds: now)
        sessionsDigest &+= hash(of: id)
        link(id)
        trimReplies(keeping: id)
    }

    /// Closes session `id`; false if it is not held.
    @discardableResult
    public mutating func close(_ id: UInt64) -> Bool {
        guard sessions[id] != nil else { return false }
        remove(id)
        return true
    }

    /// Judges request `number` of session `id` at `now` (recorded Unix ms), expiring idle sessions first. On `.new`
    /// the caller applies the request and must then `save` its reply before anything else touches the table.
    public mutating func admit(_ id: UInt64, number: UInt64, at now: Int64) -> Admission {
        expireIdle(at: now)
        guard let session = sessions[id] else { return .unknownSession }
        touch(id, at: now)
        if number == session.lastNumber + 1 { return .new }
        guard number <= session.lastNumber else { return .gap(expected: session.lastNumber + 1) }
        guard number >= session.oldestKept else { return .stale(oldestKept: session.oldestKept) }
        return .repeated(session.replies[Int(number - session.oldestKept)])
    }

    /// Saves `reply` as the reply of the request of session `id` just admitted as `.new`, then keeps the window and
    /// the byte bound.
    public mutating func save(_ reply: [UInt8], of id: UInt64) {
        guard let number = sessions[id].map({ $0.lastNumber + 1 }) else {
            preconditionFailure("a reply saved for session \(id), which is not held")
        }
        save(reply, number: number, in: id)
    }

    /// Removes up to `expiryStepLimit` sessions idle longer than the timeout at `now`; how many it removed. Sessions
    /// are in LRU order, so it looks only at the oldest.
    @discardableResult
    public mutating func expireIdle(at now: Int64) -> Int {
        var removed = 0
        while removed < Self.expiryStepLimit, let oldest, let session = sessions[oldest],
            now - session.lastUsedMilliseconds > limits.idleTimeoutMilliseconds
        {
            remove(oldest)
            removed += 1
        }
        return removed
    }

    // MARK: - Primitives: every change goes through these, which keep the LRU list, the bytes and the digest.

    /// Marks `id` used at `now`: the most recent in the LRU order.
    private mutating func touch(_ id: UInt64, at now: Int64) {
        sessionsDigest &-= hash(of: id)
        unlink(id)
        sessions[id]!.lastUsedMilliseconds = now
        link(id)
        sessionsDigest &+= hash(of: id)
    }

    /// Saves `reply` as the reply of `number`, the session's next, then keeps the window and the byte bound.
    private mutating func save(_ reply: [UInt8], number: UInt64, in id: UInt64) {
        sessionsDigest &-= hash(of: id)
        sessions[id]!.lastNumber = number
        if reply.count > limits.replyBytesLimit {
            // Not kept, nor the older ones: what is kept must run up to `lastNumber`.
            dropReplies(of: id, count: sessions[id]!.replies.count)
        } else {
            sessions[id]!.replies.append(reply)
            let hash = Self.replyHash(reply, number: number)
            sessions[id]!.replyHashes.append(hash)
            sessions[id]!.replyHashSum &+= hash
            sessions[id]!.replyBytes += reply.count
            replyBytes += reply.count
            let excess = sessions[id]!.replies.count - limits.window
            if excess > 0 { dropReplies(of: id, count: excess) }
        }
        sessionsDigest &+= hash(of: id)
        trimReplies(keeping: id)
    }

    /// Evicts the least recently used sessions other than `id` while the saved replies exceed the bound, then drops
    /// `id`'s own oldest replies if it alone still does.
    private mutating func trimReplies(keeping id: UInt64) {
        while replyBytes > limits.replyBytesLimit, let oldest, oldest != id { remove(oldest) }
        while replyBytes > limits.replyBytesLimit, sessions[id]?.replies.isEmpty == false {
            sessionsDigest &-= hash(of: id)
            dropReplies(of: id, count: 1)
            sessionsDigest &+= hash(of: id)
        }
    }

    /// Drops the `count` oldest replies of `id` (the caller keeps the digest).
    private mutating func dropReplies(of id: UInt64, count: Int) {
        let dropped = sessions[id]!.replies.prefix(count).reduce(0) { $0 + $1.count }
        sessions[id]!.replyHashSum &-= sessions[id]!.replyHashes.prefix(count).reduce(0, &+)
        sessions[id]!.replies.removeFirst(count)
        sessions[id]!.replyHashes.removeFirst(count)
        sessions[id]!.replyBytes -= dropped
        replyBytes -= dropped
    }

    /// Removes session `id` entirely.
    private mutating func remove(_ id: UInt64) {
        sessionsDigest &-= hash(of: id)
        unlink(id)
        replyBytes -= sessions.removeValue(forKey: id)!.replyBytes
    }

    /// Puts `id` at the newest end of the LRU list.
    mutating func link(_ id: UInt64) {
        sessions[id]!.older = newest
        sessions[id]!.newer = nil
        if let newest { sessions[newest]!.newer = id } else { oldest = id }
        newest = id
    }

    /// Takes `id` out of the LRU list.
    private mutating func unlink(_ id: UInt64) {
        let session = sessions[id]!
        if let older = session.older { sessions[older]!.newer = session.newer } else { oldest = session.newer }
        if let newer = session.newer { sessions[newer]!.older = session.older } else { newest = session.older }
    }

    // MARK: - Hashing

    /// A session's share of the digest: its id, number, last use and kept replies (not its place in the LRU order,
    /// which follows from the same entries).
    func hash(of id: UInt64) -> UInt64 {
        let session = sessions[id]!
        return Self.mix(
            id &+ Self.mix(session.lastNumber &+ Self.mix(UInt64(bitPattern: session.lastUsedMilliseconds))))
            &+ session.replyHashSum
    }

    /// A saved reply's hash: FNV-1a over its bytes, finished with its number.
    static func replyHash(_ reply: [UInt8], number: UInt64) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in reply { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        return mix(hash ^ mix(number))
    }

    /// SplitMix64's finaliser: a bijection that spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
