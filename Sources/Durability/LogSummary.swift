/// What a recovery scan found in the log: its segments and the sequences and epochs they hold.
///
/// Small by construction: one `LogSegment` per file, never the entries (`LogReader` streams those).
public struct LogSummary: Equatable, Sendable {
    /// The segments, oldest first; their records follow each other without a gap.
    public var segments: [LogSegment] = []
    /// The epoch of the first record, nil when the log holds none.
    public var firstEpoch: UInt64?
    /// The epoch of the last record.
    public var lastEpoch: UInt64?
    /// The sequence of the first record of `lastEpoch`: from here on, the log is that epoch's.
    public var lastEpochFirstSequence: UInt64?

    /// The log's first sequence, nil when it holds no record.
    public var firstSequence: UInt64? { segments.first(where: { $0.lastSequence != nil })?.firstSequence }
    /// The log's last sequence, nil when it holds no record.
    public var lastSequence: UInt64? { segments.last(where: { $0.lastSequence != nil })?.lastSequence }
    /// Whether the log holds no record.
    public var isEmpty: Bool { lastSequence == nil }
}

/// One segment file as the recovery scan left it.
public struct LogSegment: Equatable, Sendable {
    /// The file.
    public var path: String
    /// The sequence its name and header declare for its first record.
    public var firstSequence: UInt64
    /// Its last record's sequence, nil when it holds none (a segment just created).
    public var lastSequence: UInt64?
    /// Its size after the scan: header and valid records, a torn tail cut off.
    public var byteCount: Int
}
