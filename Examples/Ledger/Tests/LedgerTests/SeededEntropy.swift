import Lockstep

/// A clock and random numbers the test controls: what the primary would read from the system, made repeatable.
///
/// The clock stands still unless the test moves it (`advance`), so a test can say exactly when a hold expires.
struct SeededEntropy: EntropySource {
    /// Unix time in nanoseconds: 2024-06-10T06:13:20Z, a round number of milliseconds.
    var nowNanoseconds: Int64 = 1_718_000_000_000_000_000
    /// SplitMix64's state.
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func advance(milliseconds: Int64) {
        nowNanoseconds += milliseconds * 1_000_000
    }

    mutating func wallClockNanoseconds() -> Int64 { nowNanoseconds }

    mutating func randomValue() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }
}
