import Testing

@testable import BenchmarkKit

@Suite("Backpressure intake pause")
struct IntakePauseTests {
    /// Samples every 10 ms from t = 0: `counts[i]` at `i × 10 ms`.
    private func series(_ counts: [UInt64]) -> [(UInt64, UInt64)] {
        counts.enumerated().map { (UInt64($0.offset) * 10_000_000, $0.element) }
    }

    /// The pause for a log that grew 100k entries/s before the stop, needing 100 ms of stillness.
    private func pauseIndex(_ counts: [UInt64]) -> Int? {
        BackpressureBenchmark.pauseIndex(series(counts), ratePerSecondBefore: 100_000, stillNanoseconds: 100_000_000)
    }

    @Test("intake counts as paused from the sample after which the log barely grows")
    func plateauAfterGrowth() {
        // 100k entries/s before the stop (1,000 per 10 ms), then a plateau with a trickle of own entries.
        let counts: [UInt64] = [0, 1_000, 2_000, 2_500, 2_501, 2_501, 2_502] + Array(repeating: 2_503, count: 20)
        #expect(pauseIndex(counts) == 3)
    }

    @Test("a log that keeps growing never pauses")
    func steadyGrowth() {
        let counts = (0..<30).map { UInt64($0) * 500 }
        #expect(pauseIndex(counts) == nil)
    }

    @Test("a plateau shorter than the required stillness is not a pause yet")
    func plateauTooShort() {
        let counts: [UInt64] = [0, 1_000, 2_000, 3_000, 3_000, 3_000]
        #expect(pauseIndex(counts) == nil)
    }
}
