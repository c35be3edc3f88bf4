import Glibc
import LogChannel
import Posix
import Replication

/// A complete snapshot file in the data directory: the state after entry `sequence`, taken in `epoch`.
public struct SnapshotFile: Equatable, Sendable {
    /// The file.
    public var path: String
    /// The epoch in which the state was taken.
    public var epoch: UInt64
    /// The last entry the state includes; the log continues at `sequence + 1`.
    public var sequence: UInt64

    /// The newest complete snapshot in `directory` (highest sequence, then epoch), nil when there is none.
    ///
    /// Goes by names only; `restore` checks the contents. `.tmp` files are never candidates.
    public static func latest(in directory: DataDirectory) throws(DurabilityError) -> SnapshotFile? {
        try all(in: directory).last
    }

    /// Removes every snapshot in `directory`, durably: for a node whose state a checkpoint replaces (an older
    /// snapshot must never be read as the base of the new log).
    public static func removeAll(in directory: DataDirectory) throws(DurabilityError) {
        let found = try all(in: directory)
        for snapshot in found { try directory.disk.removeFile(snapshot.path) }
        if !found.isEmpty { try directory.disk.synchronizeDirectory(directory.snapshotsPath) }
    }

    /// Every complete snapshot in `directory`, oldest first.
    static func all(in directory: DataDirectory) throws(DurabilityError) -> [SnapshotFile] {
        var found: [SnapshotFile] = []
        for name in try directory.disk.names(inDirectory: directory.snapshotsPath) {
            guard let (epoch, sequence) = SnapshotFormat.parse(fileName: name) else { continue }
            found.append(SnapshotFile(path: directory.snapshotsPath + "/" + name, epoch: epoch, sequence: sequence))
        }
        return found.sorted { ($0.sequence, $0.epoch) < ($1.sequence, $1.epoch) }
    }

    /// Streams the file into `restorer` in chunks of at most `snapshotChunkBytes` and returns the machine it
    /// builds; the CRC is checked before `finish`, so a damaged file never becomes a machine.
    ///
    /// Memory is one chunk (and whatever the restorer keeps). A file whose header, size or CRC is wrong throws
    /// `corruptSnapshot`; a restorer that rejects bytes whose CRC holds throws it with `restoreRejected`.
    public func restore<Restorer: SnapshotRestorer>(
        into restorer: Restorer, in directory: DataDirectory, limits: DurabilityLimits = DurabilityLimits()
    ) throws(DurabilityError) -> Restorer.Machine {
        var restorer = restorer
        let disk = directory.disk
        let file = try disk.open(path, flags: O_RDONLY)
        defer { disk.closeQuietly(file) }
        let fileBytes = try disk.byteCount(file, path)
        let header = try disk.read(SnapshotFormat.headerBytes, at: 0, from: file, path)
        let bodyBytes = try checkedBodyByteCount(header: header, fileBytes: fileBytes)
        var checksum: UInt32 = 0
        var offset = SnapshotFormat.headerBytes
        var rejection: SnapshotError?
        while offset < SnapshotFormat.headerBytes + bodyBytes {
            let count = min(limits.snapshotChunkBytes, SnapshotFormat.headerBytes + bodyBytes - offset)
            let chunk = try disk.read(count, at: offset, from: file, path)
            guard chunk.count == count else {
                throw .corruptSnapshot(path: path, damage: .truncated(needed: offset + count, available: offset))
            }
            checksum = CRC32C.checksum(chunk, continuing: checksum)
            // After a rejection, read on for the CRC: damage is the likelier cause and the better report.
            if rejection == nil {
                do { try restorer.consume(chunk) } catch { rejection = error }
            }
            offset += count
        }
        checksum = CRC32C.checksum(header, continuing: checksum)
        let trailer = try disk.read(SnapshotFormat.trailerBytes, at: offset, from: file, path)
        guard trailer.count == SnapshotFormat.trailerBytes, trailer.littleEndian(UInt32.self, at: 0) == checksum else {
            throw .corruptSnapshot(path: path, damage: .checksumMismatch)
        }
        if let rejection { throw .corruptSnapshot(path: path, damage: .restoreRejected(rejection)) }
        do {
            return try restorer.finish()
        } catch {
            throw .corruptSnapshot(path: path, damage: .restoreRejected(error))
        }
    }

    /// The body's size from a header that matches this file's name and size.
    private func checkedBodyByteCount(header: [UInt8], fileBytes: Int) throws(DurabilityError) -> Int {
        guard header.count == SnapshotFormat.headerBytes else {
            throw .corruptSnapshot(
                path: path, damage: .truncated(needed: SnapshotFormat.headerBytes, available: header.count))
        }
        guard Array(header[0..<4]) == SnapshotFormat.magic else { throw .corruptSnapshot(path: path, damage: .badMagic) }
        let version = header.littleEndian(UInt32.self, at: 4)
        guard version == SnapshotFormat.version else {
            throw .corruptSnapshot(path: path, damage: .unsupportedVersion(version))
        }
        guard header.littleEndian(UInt64.self, at: 8) == epoch, header.littleEndian(UInt64.self, at: 16) == sequence
        else { throw .corruptSnapshot(path: path, damage: .nameMismatch) }
        let declared = header.littleEndian(UInt64.self, at: 24)
        let actual = fileBytes - SnapshotFormat.headerBytes - SnapshotFormat.trailerBytes
        guard declared <= UInt64(Int.max), Int(declared) == actual else {
            throw .corruptSnapshot(
                path: path, damage: .byteCountMismatch(declared: Int(clamping: declared), actual: max(0, actual)))
        }
        return actual
    }
}
