import Ledger
import Lockstep

/// A primary's ledger and a backup's, driven the way Lockstep drives them, without a network.
///
/// The primary applies each command with a recording context; the backup applies the same bytes with a context
/// that replays what the primary recorded: exactly what travels in a log entry.
struct LedgerPair {
    var primary = Ledger()
    var backup = Ledger()
    var entropy = SeededEntropy(seed: 42)
    /// Replies the backup computed that differ from the primary's, and divergences its context noted.
    var mismatches: [String] = []

    /// Applies `line` on both and returns the primary's reply, without the newline.
    @discardableResult
    mutating func run(_ line: String) -> String {
        var recording = ApplyContext.recording(from: entropy)
        let reply = primary.apply(Array(line.utf8), context: &recording)
        entropy = recording.entropySource as! SeededEntropy  // the source we passed in, advanced
        var replaying = ApplyContext.replaying(recording.recorded)
        let replayed = backup.apply(Array(line.utf8), context: &replaying)
        replaying.finishReplay()
        if replayed != reply { mismatches.append("\(line): backup said \(String(decoding: replayed, as: UTF8.self))") }
        if let divergence = replaying.divergence { mismatches.append("\(line): \(divergence)") }
        return String(decoding: reply.dropLast(), as: UTF8.self)
    }

    /// Runs the timer on both, as the primary's tick entry does: the values the primary's tick read, nothing else.
    mutating func tick() {
        var recording = ApplyContext.recording(from: entropy)
        primary.tick(context: &recording)
        entropy = recording.entropySource as! SeededEntropy
        var replaying = ApplyContext.replaying(recording.recorded)
        backup.tick(context: &replaying)
        replaying.finishReplay()
        if let divergence = replaying.divergence { mismatches.append("tick: \(divergence)") }
    }
}
