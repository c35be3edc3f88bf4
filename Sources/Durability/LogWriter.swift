import Glibc
import Posix
import Replication

/// Appends records to the durable log in three steps the runtime paces: `append` (memory), `write` (the kernel),
/// `sync` (the disk).
///
/// **Group commit.** The runtime appends a batch, writes it, and calls `sync` once for the whole batch; the fsync
/// policy decides when `sync` runs (`always`: after every batch, before the batch's replies or acks go out;
/// `everysec`: once a second; `no`: never, the kernel flushes when it likes). `syncedThrough` is the last sequence
/// a crash cannot take away.
///
/// **Segments.** Records go to `segment-<first sequence>.log`, rolled before a segment would pass
/// `segmentBytesLimit`. Rolling syncs the old segment before the new one exists, so when any byte of a segment
/// survives a crash, every segment before it is whole: only the last segment's tail can ever be torn, which is
/// what lets `LogRecovery` tell a torn tail from corruption. The directory is synced by the next `sync` after a
/// segment is created (or by the next roll, whichever comes first) and at once after segments are removed.
///
/// **Failures.** A failed `write` keeps every byte the kernel did not take and resumes exactly there next time,
/// so a disk that fills up and frees again loses nothing and duplicates nothing. A failed sync breaks the writer
/// (`writerBroken`): after a failed fsync Linux may have dropped the dirty pages and would report the next fsync
/// clean, so only reopening is honest: `LogRecovery.scan(discardingAfter: syncedThrough)`, a new writer, and the
/// entries after `syncedThrough` appended again.
///
/// Not thread-safe: one helper thread owns it. Plain blocking calls; no event loop.
public final class LogWriter {
    /// The directory of segments.
    public let directory: DataDirectory
    private let limits: DurabilityLimits
    private var disk: Disk { directory.disk }

    /// First sequences of the segments on disk, oldest first (the last one is `current`'s).
    private var segments: [UInt64]
    private var current: OpenSegment?
    /// Records appended and not yet handed to the kernel, and where in them a new segment must begin.
    private var pending: [UInt8] = []
    private var pendingWrittenBytes = 0
    private var pendingRolls: [(offset: Int, firstSequence: UInt64)] = []
    /// The size the segment being filled will have once `pending` is written, to decide rolls at `append`.
    private var projectedSegmentBytes: Int
    private var isDirectorySyncDue = false
    private var failure: DurabilityError?

    /// The sequence the next `append` must carry; nil while the log is empty and any sequence may start it.
    public private(set) var nextSequence: UInt64?
    /// The epoch of the last appended record.
    public private(set) var lastEpoch: UInt64?
    /// The last sequence appended (in memory or beyond).
    public private(set) var appendedThrough: UInt64?
    /// The last sequence handed to the kernel: survives the process dying, not the machine.
    public private(set) var writtenThrough: UInt64?
    /// The last sequence synced to the disk: survives a power cut.
    public private(set) var syncedThrough: UInt64?

    /// Bytes appended and not yet written.
    public var pendingByteCount: Int { pending.count - pendingWrittenBytes }

    /// A segment open for appending.
    private struct OpenSegment {
        var file: FileDescriptor
        var path: String
        var byteCount: Int
    }

    /// A writer continuing the log `summary` describes (from `LogRecovery.scan`, which repaired its tail).
    ///
    /// With an empty log, the first `append` chooses the first sequence (the one after the snapshot it follows).
    public init(
        _ directory: DataDirectory, continuing summary: LogSummary, limits: DurabilityLimits = DurabilityLimits()
    ) throws(DurabilityError) {
        self.directory = directory
        self.limits = limits
        segments = summary.segments.map(\.firstSequence)
        projectedSegmentBytes = 0
        if let last = summary.segments.last {
            let file = try directory.disk.open(last.path, flags: O_WRONLY)
            // What the scan read may sit in the page cache only (the last process died before its sync): sync it
            // now, so `syncedThrough` below is true.
            do {
                try directory.disk.synchronizeData(file, last.path)
                try directory.disk.synchronizeDirectory(directory.logPath)
            } catch {
                directory.disk.closeQuietly(file)
                throw error
            }
            current = OpenSegment(file: file, path: last.path, byteCount: last.byteCount)
            projectedSegmentBytes = last.byteCount
            nextSequence = summary.lastSequence.map { $0 + 1 } ?? last.firstSequence
        }
        lastEpoch = summary.lastEpoch
        appendedThrough = summary.lastSequence
        writtenThrough = summary.lastSequence
        syncedThrough = summary.lastSequence
    }

    deinit {
        if let current { disk.closeQuietly(current.file) }
    }

    /// Adds a record of `entry` at `sequence` in `epoch` to the pending buffer: `false` (and nothing added) when
    /// the buffer has no room for it, so the caller writes first.
    ///
    /// `sequence` must be `nextSequence` and `epoch` at least `lastEpoch`: the runtime numbers entries, so
    /// anything else is its bug. An entry larger than `recordBytesLimit` is a typed error.
    public func append(_ entry: LogEntry, epoch: UInt64, sequence: UInt64) throws(DurabilityError) -> Bool {
        if let failure { throw .writerBroken(path: directory.logPath, cause: failure) }
        precondition(nextSequence == nil || sequence == nextSequence, "log append out of sequence")
        precondition(lastEpoch == nil || epoch >= lastEpoch!, "log append from an older epoch")
        let entryBytes = entry.encodedByteCount
        guard entryBytes <= limits.recordBytesLimit else {
            throw .entryTooLarge(path: directory.logPath, byteCount: entryBytes, limit: limits.recordBytesLimit)
        }
        let recordBytes = LogFormat.recordHeaderBytes + entryBytes
        guard pendingByteCount == 0 || pendingByteCount + recordBytes <= limits.pendingBytesLimit else { return false }
        if pendingWrittenBytes == pending.count {
            // Storage grown for a record over the batch bound is let go rather than kept for the log's life.
            if pending.capacity > limits.pendingBytesLimit {
                pending = []
            } else {
                pending.removeAll(keepingCapacity: true)
            }
            pendingWrittenBytes = 0
        }
        let segmentHasRecords = projectedSegmentBytes > LogFormat.segmentHeaderBytes
        if current == nil && pendingRolls.isEmpty
            || segmentHasRecords && projectedSegmentBytes + recordBytes > limits.segmentBytesLimit
        {
            pendingRolls.append((pending.count, sequence))
            projectedSegmentBytes = LogFormat.segmentHeaderBytes
        }
        LogFormat.appendRecord(entry, epoch: epoch, sequence: sequence, to: &pending)
        projectedSegmentBytes += recordBytes
        nextSequence = sequence + 1
        lastEpoch = epoch
        appendedThrough = sequence
        return true
    }

    /// Hands every pending byte to the kernel, rolling segments where `append` decided. On error, what was not
    /// written stays pending and the next call resumes at that byte.
    public func write() throws(DurabilityError) {
        if let failure { throw .writerBroken(path: directory.logPath, cause: failure) }
        while pendingWrittenBytes < pending.count {
            if let roll = pendingRolls.first, roll.offset == pendingWrittenBytes {
                try startSegment(firstSequence: roll.firstSequence)
                pendingRolls.removeFirst()
                continue
            }
            let end = pendingRolls.first?.offset ?? pending.count
            let segment = current!
            try pending.withUnsafeBytes { raw in
                Result { () throws(DurabilityError) in
                    try disk.write(
                        UnsafeRawBufferPointer(rebasing: raw[pendingWrittenBytes..<end]), at: segment.byteCount,
                        to: segment.file, segment.path
                    ) { count in
                        pendingWrittenBytes += count
                        current!.byteCount += count
                    }
                }
            }.get()
        }
        writtenThrough = appendedThrough
    }

    /// Makes everything written durable: the current segment's data, and the directory if a segment was created
    /// since the last sync. A failure breaks the writer (see the type's doc).
    public func sync() throws(DurabilityError) {
        if let failure { throw .writerBroken(path: directory.logPath, cause: failure) }
        let through = writtenThrough
        do {
            if let current { try disk.synchronizeData(current.file, current.path) }
            if isDirectorySyncDue {
                try disk.synchronizeDirectory(directory.logPath)
                isDirectorySyncDue = false
            }
        } catch {
            failure = error
            throw error
        }
        syncedThrough = through
    }

    /// Removes every segment whose records all lie at or before `sequence` (covered by a completed snapshot),
    /// never the segment being written, and syncs the directory: how many were removed.
    @discardableResult
    public func truncate(through sequence: UInt64) throws(DurabilityError) -> Int {
        if let failure { throw .writerBroken(path: directory.logPath, cause: failure) }
        var removed = 0
        // A segment's records end where the next segment begins.
        while segments.count >= 2, segments[1] <= sequence + 1 {
            try disk.removeFile(segmentPath(segments[0]))
            segments.removeFirst()
            removed += 1
        }
        if removed > 0 { try disk.synchronizeDirectory(directory.logPath) }
        return removed
    }

    /// A writer over an empty log in `directory`, every segment there removed first (the directory synced): how a
    /// broken writer's log starts again once a snapshot holds everything it held.
    public static func startingOver(
        in directory: DataDirectory, limits: DurabilityLimits = DurabilityLimits()
    ) throws(DurabilityError) -> LogWriter {
        let disk = directory.disk
        for name in try disk.names(inDirectory: directory.logPath) where LogFormat.firstSequence(ofSegmentNamed: name) != nil {
            try disk.removeFile(directory.logPath + "/" + name)
        }
        try disk.synchronizeDirectory(directory.logPath)
        return try LogWriter(directory, continuing: LogSummary(), limits: limits)
    }

    /// Removes the whole log, so the next `append` starts a new one at any sequence: for a node that installs a
    /// checkpoint from the primary, whose old entries no longer lead to its state.
    public func removeAll() throws(DurabilityError) {
        if let failure { throw .writerBroken(path: directory.logPath, cause: failure) }
        if let current { disk.closeQuietly(current.file) }  // its records are being deleted
        current = nil
        for first in segments { try disk.removeFile(segmentPath(first)) }
        try disk.synchronizeDirectory(directory.logPath)
        segments = []
        pending.removeAll(keepingCapacity: true)
        pendingWrittenBytes = 0
        pendingRolls = []
        projectedSegmentBytes = 0
        isDirectorySyncDue = false
        nextSequence = nil
        lastEpoch = nil
        appendedThrough = nil
        writtenThrough = nil
        syncedThrough = nil
    }

    /// Syncs and closes the current segment (so nothing of it can be lost once its successor exists), then
    /// creates the next one with its header. Safe to call again after a failure: the creation starts over.
    private func startSegment(firstSequence: UInt64) throws(DurabilityError) {
        if let current {
            do {
                try disk.synchronizeData(current.file, current.path)
                // Its name too: a later segment's name must never survive a crash that this one's does not.
                if isDirectorySyncDue { try disk.synchronizeDirectory(directory.logPath) }
            } catch {
                failure = error
                throw error
            }
            isDirectorySyncDue = false
            disk.closeQuietly(current.file)  // synced just now
            self.current = nil
        }
        let path = segmentPath(firstSequence)
        let file = try disk.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try disk.write(LogFormat.segmentHeader(firstSequence: firstSequence), at: 0, to: file, path)
        } catch {
            disk.closeQuietly(file)  // the next attempt truncates and rewrites it
            throw error
        }
        current = OpenSegment(file: file, path: path, byteCount: LogFormat.segmentHeaderBytes)
        if segments.last != firstSequence { segments.append(firstSequence) }
        isDirectorySyncDue = true
    }

    private func segmentPath(_ firstSequence: UInt64) -> String {
        directory.logPath + "/" + LogFormat.segmentName(firstSequence: firstSequence)
    }
}
