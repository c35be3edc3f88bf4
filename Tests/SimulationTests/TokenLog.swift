import Replication

/// The simulation's state machine: a few keys, each an append-only list of unique tokens.
///
/// Simple enough that the checkers can read the state directly ("is every acked token here, once?") and judge
/// reads against it: a list only grows, so a read's `count` names one point in the key's history and `last`
/// says which. Every append reads the clock and a random value, so replay of recorded nondeterminism is
/// exercised on every write; reads touch no nondeterminism and change nothing, yet go through the log like
/// every command.
///
/// It embeds a `SessionTable`, as a real service would (`TokenLog+Sessions`): session clients open a session and
/// send numbered appends, which the table applies at most once however often a client resends them.
struct TokenLog: SmallStateMachine, Equatable {
    /// Few keys, so reads and writes of one key overlap often enough for the linearizability checker to bite.
    static let keyCount = 4

    /// What a client may ask, and its wire form (`a` key token, `r` key, `o` window sessions-limit
    /// reply-bytes-limit idle-timeout-ms, `s` key session number token; numbers as little-endian words).
    enum Command: Equatable {
        case append(key: Int, token: UInt64)
        case read(key: Int)
        /// Opens a session under `limits`, which the table adopts; the id comes from the recorded randomness.
        case openSession(SessionLimits)
        /// Request `number` of `session`: append `token` to `key`, at most once however often it is sent.
        case sessionAppend(key: Int, session: UInt64, number: UInt64, token: UInt64)

        var encoded: [UInt8] {
            switch self {
            case .append(let key, let token):
                var bytes = [UInt8(ascii: "a"), UInt8(key)]
                Self.put(token, into: &bytes)
                return bytes
            case .read(let key):
                return [UInt8(ascii: "r"), UInt8(key)]
            case .openSession(let limits):
                var bytes = [UInt8(ascii: "o")]
                for value in [
                    UInt64(limits.window), UInt64(limits.sessionsLimit), UInt64(limits.replyBytesLimit),
                    UInt64(bitPattern: limits.idleTimeoutMilliseconds),
                ] { Self.put(value, into: &bytes) }
                return bytes
            case .sessionAppend(let key, let session, let number, let token):
                var bytes = [UInt8(ascii: "s"), UInt8(key)]
                for value in [session, number, token] { Self.put(value, into: &bytes) }
                return bytes
            }
        }

        init?(decoding bytes: [UInt8]) {
            if bytes.first == UInt8(ascii: "o"), bytes.count == 33 {
                let words = (0..<4).map { Self.word(bytes, at: 1 + 8 * $0) }
                guard words[0...2].allSatisfy({ $0 <= UInt64(Int.max) }) else { return nil }
                self = .openSession(SessionLimits(
                    window: Int(words[0]), sessionsLimit: Int(words[1]), replyBytesLimit: Int(words[2]),
                    idleTimeoutMilliseconds: Int64(bitPattern: words[3])))
                return
            }
            guard bytes.count >= 2, Int(bytes[1]) < TokenLog.keyCount else { return nil }
            let key = Int(bytes[1])
            switch (bytes[0], bytes.count) {
            case (UInt8(ascii: "a"), 10): self = .append(key: key, token: Self.word(bytes, at: 2))
            case (UInt8(ascii: "r"), 2): self = .read(key: key)
            case (UInt8(ascii: "s"), 26):
                self = .sessionAppend(
                    key: key, session: Self.word(bytes, at: 2), number: Self.word(bytes, at: 10),
                    token: Self.word(bytes, at: 18))
            default: return nil
            }
        }

        /// The little-endian word at `offset`.
        static func word(_ bytes: [UInt8], at offset: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
            return value
        }

        /// Appends `value` as a little-endian word.
        static func put(_ value: UInt64, into bytes: inout [UInt8]) {
            for index in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
        }
    }

    /// What a command answered: an append's position in its key (counting from 1), or a read's view of the key;
    /// for sessions, the id opened, or why a numbered request was not applied (`SessionTable.Admission`).
    enum Answer: Equatable {
        case appended(position: UInt64)
        /// The key held `count` tokens, the last of them `last` (0 when empty).
        case read(count: UInt64, last: UInt64)
        case opened(session: UInt64)
        /// The session is not held (never opened, expired or evicted): nothing was applied.
        case noSession
        /// The number is older than the oldest reply kept: whether it was applied cannot be told.
        case stale(oldestKept: UInt64)
        /// The number skips ahead of `expected`: nothing was applied.
        case gap(expected: UInt64)

        init?(decoding bytes: [UInt8]) {
            switch (bytes.first, bytes.count) {
            case (UInt8(ascii: "p"), 9): self = .appended(position: Command.word(bytes, at: 1))
            case (UInt8(ascii: "v"), 17): self = .read(count: Command.word(bytes, at: 1), last: Command.word(bytes, at: 9))
            case (UInt8(ascii: "o"), 9): self = .opened(session: Command.word(bytes, at: 1))
            case (UInt8(ascii: "n"), 1): self = .noSession
            case (UInt8(ascii: "t"), 9): self = .stale(oldestKept: Command.word(bytes, at: 1))
            case (UInt8(ascii: "g"), 9): self = .gap(expected: Command.word(bytes, at: 1))
            default: return nil
            }
        }

        var encoded: [UInt8] {
            var bytes: [UInt8] = []
            switch self {
            case .appended(let position):
                bytes.append(UInt8(ascii: "p"))
                Command.put(position, into: &bytes)
            case .read(let count, let last):
                bytes.append(UInt8(ascii: "v"))
                Command.put(count, into: &bytes)
                Command.put(last, into: &bytes)
            case .opened(let session):
                bytes.append(UInt8(ascii: "o"))
                Command.put(session, into: &bytes)
            case .noSession:
                bytes.append(UInt8(ascii: "n"))
            case .stale(let oldestKept):
                bytes.append(UInt8(ascii: "t"))
                Command.put(oldestKept, into: &bytes)
            case .gap(let expected):
                bytes.append(UInt8(ascii: "g"))
                Command.put(expected, into: &bytes)
            }
            return bytes
        }
    }

    private(set) var lists: [[UInt64]] = Array(repeating: [], count: keyCount)
    private(set) var mix: UInt64 = 0
    private(set) var lastTickClock: Int64 = 0
    /// The sessions of session clients; changed only by the session commands and by expiry at each tick.
    var sessions = SessionTable()
    /// Session appends the table admitted as new, each of which appended one token: what the checker holds against
    /// the session tokens present.
    var sessionAppendsApplied: UInt64 = 0
    /// Session appends answered with the reply saved earlier, applying nothing: resends that reached the table.
    var sessionRepeats: UInt64 = 0
    /// One running hash per key over its tokens in order, kept as tokens arrive so that `digest()` costs the same
    /// at any size: the state checker asks for it after every event. Derived from `lists`, so a restore rebuilds it.
    private var listHashes: [UInt64] = Array(repeating: Self.hashSeed, count: keyCount)

    private static let hashSeed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Every token of every key.
    var tokens: [UInt64] { lists.flatMap { $0 } }

    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        switch Command(decoding: command) {
        case .append(let key, let token):
            return append(token, to: key, context: &context)
        case .read(let key):
            return Answer.read(count: UInt64(lists[key].count), last: lists[key].last ?? 0).encoded
        case .openSession(let limits):
            return openSession(limits, context: &context)
        case .sessionAppend(let key, let session, let number, let token):
            return sessionAppend(token, to: key, session: session, number: number, context: &context)
        case nil:
            return Array("unknown command".utf8)
        }
    }

    /// Appends `token` to `key`, reading the clock and a random value as every append does.
    mutating func append(_ token: UInt64, to key: Int, context: inout ApplyContext) -> [UInt8] {
        let clock = context.wallClockNanoseconds()
        mix = mix &* 31 &+ context.randomValue() &+ UInt64(bitPattern: clock)
        lists[key].append(token)
        listHashes[key] = Self.hash(listHashes[key], token)
        return Answer.appended(position: UInt64(lists[key].count)).encoded
    }

    /// Reads are answered without entries (`StateMachine.read`), so the read checker judges that path.
    func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        guard case .read(let key) = Command(decoding: command) else { return false }
        reply.append(contentsOf: Answer.read(count: UInt64(lists[key].count), last: lists[key].last ?? 0).encoded)
        return true
    }

    mutating func tick(context: inout ApplyContext) {
        lastTickClock = context.wallClockNanoseconds()
        sessions.expireIdle(at: Self.milliseconds(lastTickClock))
    }

    /// `mix · lastTickClock · then per key: count · tokens`, little-endian words; then, once sessions were used,
    /// `sessionAppendsApplied · sessionRepeats` and the session table's own encoding (`SessionTable.Snapshot`).
    /// Without sessions the encoding is the plain one, so the swarms without session clients keep their traces (the
    /// checkpoint's size decides how many chunks it takes).
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        let words = [mix, UInt64(bitPattern: lastTickClock)] + lists.flatMap({ [UInt64($0.count)] + $0 })
        for value in words { Command.put(value, into: &bytes) }
        guard hasUsedSessions else { return bytes }
        for value in [sessionAppendsApplied, sessionRepeats] { Command.put(value, into: &bytes) }
        var table = SessionTable.Snapshot(sessions)
        while !table.isFinished { bytes += table.nextChunk(byteLimit: 4_096) }
        return bytes
    }

    /// Whether any session command changed the state (the encoding then carries the sessions).
    private var hasUsedSessions: Bool {
        sessions != SessionTable() || sessionAppendsApplied != 0 || sessionRepeats != 0
    }

    mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        let headerWords = 2
        guard snapshot.count >= 8 * (headerWords + Self.keyCount) else {
            throw SnapshotError("bad length \(snapshot.count)")
        }
        let header = (0..<headerWords).map { Command.word(snapshot, at: 8 * $0) }
        var offset = 8 * headerWords
        var restored: [[UInt64]] = []
        for _ in 0..<Self.keyCount {
            guard offset + 8 <= snapshot.count else { throw SnapshotError("key \(restored.count) is cut off") }
            let count = Command.word(snapshot, at: offset)
            offset += 8
            guard count <= UInt64(snapshot.count - offset) / 8 else {
                throw SnapshotError("token count of key \(restored.count) overruns the snapshot")
            }
            restored.append((0..<Int(count)).map { Command.word(snapshot, at: offset + 8 * $0) })
            offset += 8 * Int(count)
        }
        var counters: [UInt64] = [0, 0]
        var table = SessionTable()
        if offset < snapshot.count {
            guard offset + 16 <= snapshot.count else { throw SnapshotError("the session counters are cut off") }
            counters = [Command.word(snapshot, at: offset), Command.word(snapshot, at: offset + 8)]
            offset += 16
            var restorer = SessionTable.Restorer()
            let taken = try restorer.consume(snapshot[offset...])
            table = try restorer.finish()
            guard offset + taken == snapshot.count else {
                throw SnapshotError("\(snapshot.count - offset - taken) bytes after the session table")
            }
        }
        mix = header[0]
        lastTickClock = Int64(bitPattern: header[1])
        sessionAppendsApplied = counters[0]
        sessionRepeats = counters[1]
        lists = restored
        listHashes = restored.map { $0.reduce(Self.hashSeed, Self.hash) }
        sessions = table
    }

    func digest() -> UInt64 {
        ([mix, UInt64(bitPattern: lastTickClock), sessionAppendsApplied, sessionRepeats, sessions.digest] + listHashes)
            .reduce(Self.hashSeed, Self.hash)
    }

    /// Recorded nanoseconds as the session table's milliseconds.
    static func milliseconds(_ nanoseconds: Int64) -> Int64 { nanoseconds / 1_000_000 }

    /// FNV-1a over 64-bit words.
    private static func hash(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        (hash ^ value) &* 0x0000_0100_0000_01b3
    }
}
