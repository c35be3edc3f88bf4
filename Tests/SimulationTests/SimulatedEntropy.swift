import LogChannel
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

/// The simulation's virtual time, for entropy sources that read it: the simulation sets it before each event.
///
/// A reference, because a node's entropy source lives inside its core (and the primary's `ApplyContext`), out of the
/// simulation's reach between events.
final class VirtualWallClock {
    var now = Instant.zero
}

/// The primary's nondeterminism with a wall clock that is virtual time: both nodes read one clock, which never goes
/// back across failovers, so the checkers can judge TTLs against the instants they record (`KeyValueHistory+Expiry`).
struct VirtualTimeEntropy: EntropySource {
    /// The Unix time, in nanoseconds, that virtual time zero stands for.
    static let origin: Int64 = 1_700_000_000_000_000_000

    var random: SeededRandom
    let wallClock: VirtualWallClock

    mutating func wallClockNanoseconds() -> Int64 { Self.origin + Int64(wallClock.now.nanoseconds) }
    mutating func randomValue() -> UInt64 { random.next() }
}
