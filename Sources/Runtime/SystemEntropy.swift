import Posix
import Replication

/// The production source of nondeterminism: CLOCK_REALTIME and the system's random number generator.
///
/// Only the primary reads it, through `ApplyContext`, which records every value into the log entry so the
/// backup replays the same ones (DESIGN 1). Tests and the simulator pass a seeded source instead.
public struct SystemEntropy: EntropySource, Sendable {
    private var generator = SystemRandomNumberGenerator()

    /// The system's clock and generator; nothing to configure.
    public init() {}

    /// CLOCK_REALTIME, nanoseconds since the Unix epoch.
    public mutating func wallClockNanoseconds() -> Int64 { Posix.wallClockNanoseconds() }

    /// 64 bits from the system's random number generator.
    public mutating func randomValue() -> UInt64 { generator.next() }
}
