import Glibc
import Posix

/// The recovery scan: reads every segment in order, checks every record, cuts a torn tail, refuses anything worse.
///
/// **Tail versus middle.** A crash can tear only the last writes, which all land at the end of the last segment
/// (a segment is synced before the next one is created, see `LogWriter`). So damage at the end of the last
/// segment, with no valid record anywhere after it, is a torn tail: the file is cut back to the last valid
/// record and synced, and the cut is reported as a `DurabilityNote` with the bytes dropped. Damage followed by
/// any valid record, damage in an earlier segment, a sequence gap or repeat, an epoch going back, or a record
/// whose CRC holds but whose entry does not decode cannot come from a torn write: the scan throws, and the node
/// refuses to start rather than skip entries.
///
/// **Discarding what was never synced.** After a failed sync the writer stops (`writerBroken`): the kernel may have
/// dropped pages it still shows in the page cache, so what reads back after the last successful sync proves
/// nothing. `discardingAfter: writer.syncedThrough` cuts the log after that sequence (truncating the segment that
/// holds the next record, removing every later one) before the runtime reopens a writer and appends again the
/// entries it still holds.
///
/// **Bounded.** Memory is one read window and at most one record, whatever the log's size; the entries are not
/// kept (read them afterwards with `LogReader`, which checks them again as it streams).
public enum LogRecovery {
    /// Scans the log in `directory`, repairing a torn tail and, when `discardingAfter` is given, cutting every record
    /// after that sequence: what it holds and what was repaired.
    public static func scan(
        _ directory: DataDirectory, limits: DurabilityLimits = DurabilityLimits(), discardingAfter: UInt64? = nil
    ) throws(DurabilityError) -> (summary: LogSummary, notes: [DurabilityNote]) {
        let disk = directory.disk
        var named: [(sequence: UInt64, name: String)] = []
        for name in try disk.names(inDirectory: directory.logPath) {
            if let sequence = LogFormat.firstSequence(ofSegmentNamed: name) { named.append((sequence, name)) }
        }
        named.sort { $0.sequence < $1.sequence }
        var summary = LogSummary()
        var notes: [DurabilityNote] = []
        var isCut = false
        for (index, segment) in named.enumerated() {
            let path = directory.logPath + "/" + segment.name
            if isCut {
                let file = try disk.open(path, flags: O_RDONLY)
                let byteCount = try disk.byteCount(file, path)
                disk.closeQuietly(file)  // only sized
                try disk.removeFile(path)
                notes.append(.unsyncedTailDiscarded(path: path, afterSequence: discardingAfter!, droppedBytes: byteCount))
                continue
            }
            let isLast = index == named.count - 1
            let file = try disk.open(path, flags: isLast || discardingAfter != nil ? O_RDWR : O_RDONLY)
            defer { disk.closeQuietly(file) }
            let scanned = try scanSegment(
                path: path, file: file, declaredFirstSequence: segment.sequence, isLast: isLast,
                discardingAfter: discardingAfter, disk: disk, limits: limits, summary: &summary, notes: &notes)
            if let segment = scanned.segment { summary.segments.append(segment) }
            isCut = scanned.isCut
        }
        if isCut { try disk.synchronizeDirectory(directory.logPath) }
        return (summary, notes)
    }

    /// Scans one segment, adding its records to `summary`: the segment (nil when a torn creation removed it), and
    /// whether it was cut after `discardingAfter`, so every later segment goes too.
    private static func scanSegment(
        path: String, file: FileDescriptor, declaredFirstSequence: UInt64, isLast: Bool, discardingAfter: UInt64?,
        disk: Disk, limits: DurabilityLimits, summary: inout LogSummary, notes: inout [DurabilityNote]
    ) throws(DurabilityError) -> (segment: LogSegment?, isCut: Bool) {
        let byteCount = try disk.byteCount(file, path)
        let header = try disk.read(LogFormat.segmentHeaderBytes, at: 0, from: file, path)
        let firstSequence: UInt64
        switch LogFormat.parseSegmentHeader(header) {
        case .success(let sequence):
            firstSequence = sequence
        case .failure(let damage):
            // Only a header write can be torn here: the first record follows a synced header.
            guard isLast, byteCount <= LogFormat.segmentHeaderBytes else {
                throw .corruptLog(path: path, offset: 0, damage: damage)
            }
            try disk.removeFile(path)
            try disk.synchronizeDirectory(String(path[..<path.lastIndex(of: "/")!]))
            notes.append(.tornSegmentRemoved(path: path, droppedBytes: byteCount))
            return (nil, false)
        }
        guard firstSequence == declaredFirstSequence else {
            throw .corruptLog(path: path, offset: 0, damage: .nameMismatch)
        }
        if let previous = summary.segments.last {
            let expected = previous.lastSequence.map { $0 + 1 } ?? previous.firstSequence
            guard firstSequence == expected else {
                throw .sequenceGap(path: path, expected: expected, found: firstSequence)
            }
        }
        var cursor = SegmentCursor(path: path, file: file, endOffset: byteCount, disk: disk, limits: limits)
        var segment = LogSegment(path: path, firstSequence: firstSequence, lastSequence: nil, byteCount: byteCount)
        var expected = firstSequence
        while true {
            let start = cursor.offset
            let step = try cursor.next(expectedSequence: expected, previousEpoch: summary.lastEpoch)
            switch step {
            case .end:
                return (segment, false)
            case .record(let record) where discardingAfter.map({ record.sequence > $0 }) ?? false:
                try disk.truncate(file, toByteCount: start, path)
                try disk.synchronizeData(file, path)
                notes.append(
                    .unsyncedTailDiscarded(path: path, afterSequence: discardingAfter!, droppedBytes: byteCount - start))
                segment.byteCount = start
                return (segment, true)
            case .record(let record):
                if summary.firstEpoch == nil { summary.firstEpoch = record.epoch }
                if summary.lastEpoch != record.epoch { summary.lastEpochFirstSequence = record.sequence }
                summary.lastEpoch = record.epoch
                segment.lastSequence = record.sequence
                expected = record.sequence + 1
            case .damage(let damage):
                let offset = cursor.offset
                guard isLast else { throw .corruptLog(path: path, offset: offset, damage: damage) }
                guard try !cursor.validRecordFollows(expectedSequence: expected) else {
                    throw .corruptLog(path: path, offset: offset, damage: damage)
                }
                try disk.truncate(file, toByteCount: offset, path)
                try disk.synchronizeData(file, path)
                notes.append(
                    .tornTailTruncated(path: path, offset: offset, droppedBytes: byteCount - offset, damage: damage))
                segment.byteCount = offset
                return (segment, false)
            }
        }
    }
}
