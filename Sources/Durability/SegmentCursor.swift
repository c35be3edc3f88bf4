import Posix
import Replication

/// Reads one segment's records in order through a bounded window, checking each one.
///
/// Shared by the recovery scan and `LogReader`, so both apply the same checks: length bounds, CRC, sequence
/// continuity, epochs never going back, an entry that decodes. Memory is the window (`readBufferBytes`) plus at
/// most one record larger than it, never the segment.
struct SegmentCursor {
    /// What the next read found.
    enum Step {
        case record(LogRecord)
        /// The bytes at `offset` are not a whole valid record; whether that is a torn tail is the caller's call.
        case damage(DurabilityError.Damage)
        case end
    }

    let path: String
    let file: FileDescriptor
    /// Where the records end: the file's size for a scan, the scanned valid end for a reader.
    private(set) var endOffset: Int
    /// Where the next record starts.
    private(set) var offset = LogFormat.segmentHeaderBytes
    private let disk: Disk
    private let limits: DurabilityLimits
    private var window: [UInt8] = []
    private var windowStart = 0

    init(path: String, file: FileDescriptor, endOffset: Int, disk: Disk, limits: DurabilityLimits) {
        self.path = path
        self.file = file
        self.endOffset = endOffset
        self.disk = disk
        self.limits = limits
    }

    /// The record at `offset`, checked against the sequence that must come next and the previous epoch.
    ///
    /// A record whose CRC holds but whose sequence, epoch or entry is wrong was written that way, not torn: that
    /// throws, wherever it is. Anything a torn or damaged write can produce is returned as `.damage`.
    mutating func next(expectedSequence: UInt64, previousEpoch: UInt64?) throws(DurabilityError) -> Step {
        guard offset < endOffset else { return .end }
        let available = endOffset - offset
        guard available >= LogFormat.recordHeaderBytes else {
            return .damage(.truncated(needed: LogFormat.recordHeaderBytes, available: available))
        }
        let headerBytes = try bytes(at: offset, count: LogFormat.recordHeaderBytes)
        let header = headerBytes.withUnsafeBytes { LogFormat.parseRecordHeader($0) }
        guard header.length >= 1, header.length <= limits.recordBytesLimit else {
            return .damage(.lengthOutOfBounds(declared: header.length, limit: limits.recordBytesLimit))
        }
        let recordBytes = LogFormat.recordHeaderBytes + header.length
        guard available >= recordBytes else { return .damage(.truncated(needed: recordBytes, available: available)) }
        let record = try bytes(at: offset, count: recordBytes)
        guard record.withUnsafeBytes({ LogFormat.checksumMatches($0, header) }) else {
            return .damage(.checksumMismatch)
        }
        guard header.sequence == expectedSequence else {
            throw .sequenceGap(path: path, expected: expectedSequence, found: header.sequence)
        }
        if let previousEpoch, header.epoch < previousEpoch {
            throw .corruptLog(path: path, offset: offset, damage: .epochRegressed(from: previousEpoch, to: header.epoch))
        }
        let entry: LogEntry
        do {
            entry = try LogEntry(decoding: Array(record[(record.startIndex + LogFormat.recordHeaderBytes)...]))
        } catch {
            throw .corruptLog(path: path, offset: offset, damage: .undecodableEntry(error))
        }
        offset += recordBytes
        return .record(LogRecord(epoch: header.epoch, sequence: header.sequence, entry: entry))
    }

    /// Whether any whole record with a matching CRC and a sequence at or after `expectedSequence` starts after
    /// `offset`: the test that tells a torn tail (nothing valid after the damage) from damage in the middle.
    ///
    /// Tries every byte position; cheap filters (length bounds, a sequence the remaining bytes could reach) come
    /// before the CRC, so a zero-filled or random tail costs little more than reading it.
    mutating func validRecordFollows(expectedSequence: UInt64) throws(DurabilityError) -> Bool {
        let damageOffset = offset
        let remaining = endOffset - damageOffset
        let reachableSequences = UInt64(remaining / (LogFormat.recordHeaderBytes + 1))
        var position = damageOffset + 1
        while position + LogFormat.recordHeaderBytes <= endOffset {
            let headerBytes = try bytes(at: position, count: LogFormat.recordHeaderBytes)
            let header = headerBytes.withUnsafeBytes { LogFormat.parseRecordHeader($0) }
            let recordBytes = LogFormat.recordHeaderBytes + header.length
            if header.length >= 1, header.length <= limits.recordBytesLimit, position + recordBytes <= endOffset,
                header.sequence >= expectedSequence, header.sequence - expectedSequence <= reachableSequences
            {
                let record = try bytes(at: position, count: recordBytes)
                if record.withUnsafeBytes({ LogFormat.checksumMatches($0, header) }) { return true }
            }
            position += 1
        }
        return false
    }

    /// `count` bytes at `position` (which the caller checked lie before `endOffset`), from the window when it
    /// holds them, else from a refilled window, else (larger than the window) read on their own.
    private mutating func bytes(at position: Int, count: Int) throws(DurabilityError) -> ArraySlice<UInt8> {
        if position >= windowStart, position + count <= windowStart + window.count {
            return window[(position - windowStart)..<(position - windowStart + count)]
        }
        if count > limits.readBufferBytes {
            let bytes = try disk.read(count, at: position, from: file, path)
            guard bytes.count == count else { throw truncatedUnderneath(position) }
            return bytes[...]
        }
        window = try disk.read(min(limits.readBufferBytes, endOffset - position), at: position, from: file, path)
        windowStart = position
        guard window.count >= count else { throw truncatedUnderneath(position) }
        return window[0..<count]
    }

    /// The file got shorter than it was a moment ago: something else writes to this node's log.
    private func truncatedUnderneath(_ position: Int) -> DurabilityError {
        .corruptLog(path: path, offset: position, damage: .truncated(needed: endOffset, available: position))
    }
}
