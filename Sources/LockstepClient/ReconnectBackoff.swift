/// The pause before the next attempt to reach the primary: doubling from `initial` up to `limit`, with jitter.
///
/// Jitter (the pause is drawn from its upper half) keeps many clients that lost the same primary from dialling the
/// new one in lockstep. The generator is seeded by whoever makes the backoff, so a test can replay a sequence.
struct ReconnectBackoff {
    let initial: Duration
    let limit: Duration
    private var state: UInt64

    init(initial: Duration, limit: Duration, seed: UInt64) {
        self.initial = initial
        self.limit = limit
        state = seed
    }

    /// The pause after `failures` consecutive failed attempts (at least 1).
    mutating func delay(afterFailures failures: Int) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        let full = min(initial * (1 << doublings), limit)
        let fraction = Double(next() >> 11) / Double(1 << 53)
        return full / 2 + (full / 2) * fraction
    }

    /// SplitMix64: small, fast, and good enough for jitter.
    private mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
