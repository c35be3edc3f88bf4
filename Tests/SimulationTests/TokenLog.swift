import Replication

/// The simulation's state machine: an append-only list of unique tokens.
///
/// Simple enough that the checker can read the state directly ("is every acked token here, once?"),
/// and it reads the clock and a random value on every append so replay of recorded
/// nondeterminism is exercised on every entry.
struct TokenLog: StateMachine, Equatable {
    private(set) var tokens: [UInt64] = []
    private(set) var mix: UInt64 = 0
    private(set) var lastTickClock: Int64 = 0

    /// `a<token>` appends; anything else reads the count.
    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        guard command.count == 9, command[0] == UInt8(ascii: "a") else {
            return Array("count \(tokens.count)".utf8)
        }
        var token: UInt64 = 0
        for index in 1..<9 { token = token << 8 | UInt64(command[index]) }
        let clock = context.wallClockNanoseconds()
        mix = mix &* 31 &+ context.randomValue() &+ UInt64(bitPattern: clock)
        tokens.append(token)
        return Array("ok \(tokens.count)".utf8)
    }

    mutating func tick(context: inout ApplyContext) {
        lastTickClock = context.wallClockNanoseconds()
    }

    func snapshot() -> [UInt8] {
        var bytes: [UInt8] = []
        for value in [mix, UInt64(bitPattern: lastTickClock), UInt64(tokens.count)] + tokens {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        guard snapshot.count >= 24, snapshot.count % 8 == 0 else { throw SnapshotError("bad length \(snapshot.count)") }
        let words = stride(from: 0, to: snapshot.count, by: 8).map { offset in
            (0..<8).reduce(UInt64(0)) { $0 | UInt64(snapshot[offset + $1]) << (8 * $1) }
        }
        guard words[2] == UInt64(words.count - 3) else { throw SnapshotError("token count mismatch") }
        mix = words[0]
        lastTickClock = Int64(bitPattern: words[1])
        tokens = Array(words[3...])
    }

    func digest() -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for value in [mix, UInt64(bitPattern: lastTickClock)] + tokens {
            hash = (hash ^ value) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    static func append(_ token: UInt64) -> [UInt8] {
        [UInt8(ascii: "a")] + (0..<8).map { UInt8(truncatingIfNeeded: token >> (8 * (7 - $0))) }
    }
}

/// SplitMix64: small, fast, and the same sequence on every machine for a seed.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// The primary's nondeterminism in simulation: virtual wall clock and seeded randomness.
struct SimulatedEntropy: EntropySource {
    var random: SeededRandom
    var clock: Int64 = 1_700_000_000_000_000_000
    mutating func wallClockNanoseconds() -> Int64 {
        clock += Int64(random.next() % 1_000_000)
        return clock
    }
    mutating func randomValue() -> UInt64 { random.next() }
}
