import Replication

/// One durable log entry: the entry and where it sits in the log.
public struct LogRecord: Equatable, Sendable {
    /// The epoch of the primary that appended the entry.
    public var epoch: UInt64
    /// The entry's sequence, one more than the record before it.
    public var sequence: UInt64
    /// What to replay.
    public var entry: LogEntry

    /// A record of `entry` at `sequence` in `epoch`.
    public init(epoch: UInt64, sequence: UInt64, entry: LogEntry) {
        self.epoch = epoch
        self.sequence = sequence
        self.entry = entry
    }
}
