import Glibc
import LogChannel
import Posix
import Replication

/// Writes one snapshot file chunk by chunk, and puts it in place atomically.
///
/// The bytes go to `snapshot-<epoch>-<sequence>.snap.tmp`; `finish` writes the header and the CRC, syncs the
/// file, renames it into place, syncs the directory, and only then removes older snapshots. A crash at any point
/// leaves the previous complete snapshot in place; the `.tmp` is removed when the directory is next opened. So
/// the log may be truncated behind a snapshot only after `finish` returns.
///
/// Chunks may come from a `StateSnapshot` on a helper thread (`write(_:epoch:sequence:in:)` does the loop) or be
/// fed one at a time between other work; each `write` costs time in proportion to its chunk.
public final class SnapshotWriter {
    /// Where the file goes once complete.
    public let destination: SnapshotFile
    private let directory: DataDirectory
    private let temporaryPath: String
    private var file: FileDescriptor?
    /// Whether `finish` renamed the file into place; until then the temporary file is this writer's to remove.
    private var isPlaced = false
    private var bodyByteCount = 0
    private var checksum: UInt32 = 0

    /// Creates the temporary file for the state after entry `sequence`, taken in `epoch`.
    public init(epoch: UInt64, sequence: UInt64, in directory: DataDirectory) throws(DurabilityError) {
        self.directory = directory
        let path = directory.snapshotsPath + "/" + SnapshotFormat.fileName(epoch: epoch, sequence: sequence)
        destination = SnapshotFile(path: path, epoch: epoch, sequence: sequence)
        temporaryPath = path + DataDirectory.temporarySuffix
        file = try directory.disk.open(temporaryPath, flags: O_WRONLY | O_CREAT | O_TRUNC)
    }

    deinit {
        abandon()
    }

    /// Appends the next chunk of the state's encoding.
    public func write(_ chunk: [UInt8]) throws(DurabilityError) {
        guard let file else { preconditionFailure("snapshot written after finish or abandon") }
        try directory.disk.write(chunk, at: SnapshotFormat.headerBytes + bodyByteCount, to: file, temporaryPath)
        checksum = CRC32C.checksum(chunk, continuing: checksum)
        bodyByteCount += chunk.count
    }

    /// Completes the file and puts it in place (see the type's doc), then removes older snapshots: the file.
    @discardableResult
    public func finish() throws(DurabilityError) -> SnapshotFile {
        guard let file, !isPlaced else { preconditionFailure("snapshot finished twice or after abandon") }
        let disk = directory.disk
        let header = SnapshotFormat.header(
            epoch: destination.epoch, sequence: destination.sequence, bodyByteCount: bodyByteCount)
        var trailer: [UInt8] = []
        trailer.appendLittleEndian(CRC32C.checksum(header, continuing: checksum))
        try disk.write(header, at: 0, to: file, temporaryPath)
        try disk.write(trailer, at: SnapshotFormat.headerBytes + bodyByteCount, to: file, temporaryPath)
        try disk.synchronize(file, temporaryPath)
        disk.closeQuietly(file)  // synced just now
        self.file = nil
        try disk.rename(temporaryPath, to: destination.path)
        isPlaced = true
        try disk.synchronizeDirectory(directory.snapshotsPath)
        var removedAny = false
        for older in try SnapshotFile.all(in: directory) where older.path != destination.path {
            guard (older.sequence, older.epoch) < (destination.sequence, destination.epoch) else { continue }
            try disk.removeFile(older.path)
            removedAny = true
        }
        if removedAny { try disk.synchronizeDirectory(directory.snapshotsPath) }
        return destination
    }

    /// Gives up on this snapshot: closes and removes the temporary file. The previous snapshot stays current.
    public func abandon() {
        if let file { directory.disk.closeQuietly(file) }  // the file is being thrown away
        file = nil
        if !isPlaced {
            isPlaced = true  // nothing left to remove on a second call
            try? directory.disk.removeFile(temporaryPath)  // a leftover is removed at the next open anyway
        }
    }

    /// Writes all of `snapshot`, chunk by chunk (`snapshotChunkBytes` each), as the state after `sequence` in
    /// `epoch`, and puts it in place: the file. On error the temporary file is removed and the previous snapshot
    /// stays current.
    @discardableResult
    public static func write<Snapshot: StateSnapshot>(
        _ snapshot: inout Snapshot, epoch: UInt64, sequence: UInt64, in directory: DataDirectory,
        limits: DurabilityLimits = DurabilityLimits()
    ) throws(DurabilityError) -> SnapshotFile {
        let writer = try SnapshotWriter(epoch: epoch, sequence: sequence, in: directory)
        do {
            while !snapshot.isFinished { try writer.write(snapshot.nextChunk(byteLimit: limits.snapshotChunkBytes)) }
            return try writer.finish()
        } catch {
            writer.abandon()
            throw error
        }
    }
}
