import Glibc
import Posix

/// Streams the records of a scanned log in order, from a chosen sequence, one at a time.
///
/// Reads only what the scan validated (each segment up to its scanned byte count) and checks every record again
/// as it goes, so a file changed since the scan is an error, never a wrong entry. Memory is one read window and
/// one record; the runtime replays as it reads instead of loading the log.
public final class LogReader {
    private let directory: DataDirectory
    private let limits: DurabilityLimits
    private var segments: ArraySlice<LogSegment>
    private var cursor: SegmentCursor?
    private let startSequence: UInt64
    private var expectedSequence: UInt64
    private var previousEpoch: UInt64?

    /// A reader of `summary`'s log (from `LogRecovery.scan` of `directory`), starting at the record with
    /// `sequence` (or the first record, when it is older than the log).
    public init(
        _ directory: DataDirectory, summary: LogSummary, from sequence: UInt64,
        limits: DurabilityLimits = DurabilityLimits()
    ) {
        self.directory = directory
        self.limits = limits
        let start = summary.segments.lastIndex(where: { $0.firstSequence <= sequence }) ?? 0
        segments = summary.segments[start...]
        startSequence = sequence
        expectedSequence = segments.first?.firstSequence ?? sequence
    }

    deinit {
        if let cursor { directory.disk.closeQuietly(cursor.file) }
    }

    /// The next record at or after the start sequence, nil after the last.
    public func next() throws(DurabilityError) -> LogRecord? {
        while true {
            if cursor == nil {
                guard let segment = segments.popFirst() else { return nil }
                guard segment.firstSequence == expectedSequence else {
                    throw .sequenceGap(path: segment.path, expected: expectedSequence, found: segment.firstSequence)
                }
                let file = try directory.disk.open(segment.path, flags: O_RDONLY)
                cursor = SegmentCursor(
                    path: segment.path, file: file, endOffset: segment.byteCount, disk: directory.disk, limits: limits)
            }
            switch try cursor!.next(expectedSequence: expectedSequence, previousEpoch: previousEpoch) {
            case .end:
                directory.disk.closeQuietly(cursor!.file)
                cursor = nil
            case .damage(let damage):
                throw .corruptLog(path: cursor!.path, offset: cursor!.offset, damage: damage)
            case .record(let record):
                expectedSequence = record.sequence + 1
                previousEpoch = record.epoch
                if record.sequence >= startSequence { return record }
            }
        }
    }
}
