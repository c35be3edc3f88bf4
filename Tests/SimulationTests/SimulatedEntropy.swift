import Replication

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
