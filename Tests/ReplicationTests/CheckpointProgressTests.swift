import Replication
import Testing

@Suite("checkpoint progress")
struct CheckpointProgressTests {
    @Test("rate and time left follow from the bytes so far, the time taken and the estimate")
    func rateAndTimeLeft() {
        let progress = CheckpointProgress(
            direction: .sending, sequence: 9, bytes: 12_000_000, chunks: 46, estimatedBytes: 48_000_000,
            elapsed: .seconds(2))
        #expect(progress.bytesPerSecond == 6_000_000)
        #expect(progress.estimatedTimeLeft == .seconds(6))
        #expect(progress.estimatedMillisecondsLeft == 6_000)
        #expect(progress.summary == "sent 12.0 MB of ~48.0 MB in 46 chunks in 2.0 s (6.0 MB/s, ~6.0 s left)")
    }

    @Test("an installing backup with the primary's estimate reports the total and the time left as the primary does")
    func receivingWithAnEstimate() {
        let progress = CheckpointProgress(
            direction: .receiving, sequence: 9, bytes: 3_000_000, chunks: 12, estimatedBytes: 9_000_000,
            elapsed: .seconds(1))
        #expect(progress.estimatedMillisecondsLeft == 2_000)
        #expect(progress.summary == "installed 3.0 MB of ~9.0 MB in 12 chunks in 1.0 s (3.0 MB/s, ~2.0 s left)")
    }

    @Test("without an estimate or any time passed, neither rate nor time left is guessed")
    func unknowns() {
        let receiving = CheckpointProgress(direction: .receiving, sequence: 9, bytes: 5, chunks: 1)
        #expect(receiving.bytesPerSecond == nil)
        #expect(receiving.estimatedTimeLeft == nil)
        #expect(receiving.summary == "installed 0.0 MB in 1 chunks in 0.0 s")
    }

    @Test("past the estimate, no time is left rather than a negative one")
    func pastTheEstimate() {
        let progress = CheckpointProgress(
            direction: .sending, sequence: 1, bytes: 200, chunks: 2, estimatedBytes: 100, elapsed: .seconds(1))
        #expect(progress.estimatedTimeLeft == .zero)
    }
}
