import Replication

/// The simulation's state machine: a few keys, each an append-only list of unique tokens.
///
/// Simple enough that the checkers can read the state directly ("is every acked token here, once?") and judge
/// reads against it: a list only grows, so a read's `count` names one point in the key's history and `last`
/// says which. Every append reads the clock and a random value, so replay of recorded nondeterminism is
/// exercised on every write; reads touch no nondeterminism and change nothing, yet go through the log like
/// every command.
struct TokenLog: SmallStateMachine, Equatable {
    /// Few keys, so reads and writes of one key overlap often enough for the linearizability checker to bite.
    static let keyCount = 4

    /// What a client may ask, and its wire form (`a` key token, or `r` key).
    enum Command: Equatable {
        case append(key: Int, token: UInt64)
        case read(key: Int)

        var key: Int {
            switch self {
            case .append(let key, _), .read(let key): key
            }
        }

        var encoded: [UInt8] {
            switch self {
            case .append(let key, let token):
                var bytes = [UInt8(ascii: "a"), UInt8(key)]
                Self.put(token, into: &bytes)
                return bytes
            case .read(let key):
                return [UInt8(ascii: "r"), UInt8(key)]
            }
        }

        init?(decoding bytes: [UInt8]) {
            guard bytes.count >= 2, Int(bytes[1]) < TokenLog.keyCount else { return nil }
            let key = Int(bytes[1])
            switch (bytes[0], bytes.count) {
            case (UInt8(ascii: "a"), 10): self = .append(key: key, token: Self.word(bytes, at: 2))
            case (UInt8(ascii: "r"), 2): self = .read(key: key)
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

    /// What a command answered: an append's position in its key (counting from 1), or a read's view of the key.
    enum Answer: Equatable {
        case appended(position: UInt64)
        /// The key held `count` tokens, the last of them `last` (0 when empty).
        case read(count: UInt64, last: UInt64)

        init?(decoding bytes: [UInt8]) {
            switch (bytes.first, bytes.count) {
            case (UInt8(ascii: "p"), 9): self = .appended(position: Command.word(bytes, at: 1))
            case (UInt8(ascii: "v"), 17): self = .read(count: Command.word(bytes, at: 1), last: Command.word(bytes, at: 9))
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
            }
            return bytes
        }
    }

    private(set) var lists: [[UInt64]] = Array(repeating: [], count: keyCount)
    private(set) var mix: UInt64 = 0
    private(set) var lastTickClock: Int64 = 0
    /// One running hash per key over its tokens in order, kept as tokens arrive so that `digest()` costs the same
    /// at any size: the state checker asks for it after every event. Derived from `lists`, so a restore rebuilds it.
    private var listHashes: [UInt64] = Array(repeating: Self.hashSeed, count: keyCount)

    private static let hashSeed: UInt64 = 0xcbf2_9ce4_8422_2325

    /// Every token of every key.
    var tokens: [UInt64] { lists.flatMap { $0 } }

    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        switch Command(decoding: command) {
        case .append(let key, let token):
            let clock = context.wallClockNanoseconds()
            mix = mix &* 31 &+ context.randomValue() &+ UInt64(bitPattern: clock)
            lists[key].append(token)
            listHashes[key] = Self.hash(listHashes[key], token)
            return Answer.appended(position: UInt64(lists[key].count)).encoded
        case .read(let key):
            return Answer.read(count: UInt64(lists[key].count), last: lists[key].last ?? 0).encoded
        case nil:
            return Array("unknown command".utf8)
        }
    }

    /// Reads are answered without entries (`StateMachine.read`), so the read checker judges that path.
    func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        guard case .read(let key) = Command(decoding: command) else { return false }
        reply.append(contentsOf: Answer.read(count: UInt64(lists[key].count), last: lists[key].last ?? 0).encoded)
        return true
    }

    mutating func tick(context: inout ApplyContext) {
        lastTickClock = context.wallClockNanoseconds()
    }

    /// `mix · lastTickClock · then per key: count · tokens`, little-endian words.
    func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        for value in [mix, UInt64(bitPattern: lastTickClock)] + lists.flatMap({ [UInt64($0.count)] + $0 }) {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        guard snapshot.count >= 8 * (2 + Self.keyCount), snapshot.count % 8 == 0 else {
            throw SnapshotError("bad length \(snapshot.count)")
        }
        let words = stride(from: 0, to: snapshot.count, by: 8).map { Command.word(snapshot, at: $0) }
        var restored: [[UInt64]] = []
        var offset = 2
        for _ in 0..<Self.keyCount {
            guard offset < words.count, words[offset] <= UInt64(words.count - offset - 1) else {
                throw SnapshotError("token count of key \(restored.count) overruns the snapshot")
            }
            let count = Int(words[offset])
            restored.append(Array(words[offset + 1..<offset + 1 + count]))
            offset += 1 + count
        }
        guard offset == words.count else { throw SnapshotError("\(words.count - offset) words after the last key") }
        mix = words[0]
        lastTickClock = Int64(bitPattern: words[1])
        lists = restored
        listHashes = restored.map { $0.reduce(Self.hashSeed, Self.hash) }
    }

    func digest() -> UInt64 {
        ([mix, UInt64(bitPattern: lastTickClock)] + listHashes).reduce(Self.hashSeed, Self.hash)
    }

    /// FNV-1a over 64-bit words.
    private static func hash(_ hash: UInt64, _ value: UInt64) -> UInt64 {
        (hash ^ value) &* 0x0000_0100_0000_01b3
    }
}
