/// How far a checkpoint transfer has come: what the primary has sent, or what the backup has installed.
///
/// Reported while a backup is being brought up (`NodeStatus.checkpoint`), so an operator watching a gigabyte
/// transfer in `INFO` or `lockstep status` sees that it moves and when it should end. The cores fill it from what
/// they counted and the time of their latest event; rendering needs no clock.
public struct CheckpointProgress: Equatable, Sendable {
    /// Which side of the transfer reports.
    public enum Direction: String, Sendable, CaseIterable {
        /// The primary, streaming its snapshot.
        case sending
        /// The backup, installing it.
        case receiving
    }

    /// Which side of the transfer reports.
    public var direction: Direction
    /// The checkpoint is the state after this entry.
    public var sequence: UInt64
    /// Bytes of the encoding sent (primary) or installed (backup).
    public var bytes: Int
    /// Chunks sent (primary) or installed (backup).
    public var chunks: Int
    /// The encoding's size as estimated when the primary took the snapshot (`StateSnapshot.estimatedByteCount`); the
    /// backup has it from the first chunk's frame. Nil where unknown.
    public var estimatedBytes: Int?
    /// From the transfer's start to the latest chunk counted.
    public var elapsed: Duration

    /// Progress of a transfer that has just started.
    public init(direction: Direction, sequence: UInt64, bytes: Int = 0, chunks: Int = 0, estimatedBytes: Int? = nil,
                elapsed: Duration = .zero) {
        self.direction = direction
        self.sequence = sequence
        self.bytes = bytes
        self.chunks = chunks
        self.estimatedBytes = estimatedBytes
        self.elapsed = elapsed
    }

    /// The average rate so far; nil before any time has passed.
    public var bytesPerSecond: Double? {
        let seconds = elapsed.secondsValue
        return seconds > 0 ? Double(bytes) / seconds : nil
    }

    /// The time the rest should take at the average rate so far; nil without an estimate or a rate.
    public var estimatedTimeLeft: Duration? {
        guard let estimatedBytes, let rate = bytesPerSecond, rate > 0 else { return nil }
        let seconds = Double(max(0, estimatedBytes - bytes)) / rate
        return .milliseconds(Int64(min(seconds, 1e9) * 1_000))
    }

    /// `estimatedTimeLeft` in whole milliseconds, for `INFO`.
    public var estimatedMillisecondsLeft: Int? {
        estimatedTimeLeft.map { Int($0.secondsValue * 1_000) }
    }

    /// One phrase for the log: e.g. "sent 12.0 MB of ~46.0 MB in 48 chunks in 1.2 s (10.0 MB/s, ~3.4 s left)".
    public var summary: String {
        var text = "\(direction == .sending ? "sent" : "installed") \(Self.megabytes(bytes))"
        if let estimatedBytes { text += " of ~\(Self.megabytes(estimatedBytes))" }
        text += " in \(chunks) chunks in \(Self.seconds(elapsed))"
        var details: [String] = []
        if let rate = bytesPerSecond { details.append("\(Self.megabytes(Int(rate)))/s") }
        if let left = estimatedTimeLeft { details.append("~\(Self.seconds(left)) left") }
        return details.isEmpty ? text : text + " (" + details.joined(separator: ", ") + ")"
    }

    private static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + 500_000) / 1_000_000
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    private static func seconds(_ duration: Duration) -> String {
        let tenths = Int((duration.secondsValue * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}

extension Duration {
    /// This duration in seconds, as a `Double`.
    public var secondsValue: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
