import Glibc
import LogChannel
import Posix

/// A fact about this node's past that recovery after a double failure needs, kept in a small file of its own.
public enum DurableMarker: Equatable, Sendable {
    /// This node owned `epoch` as primary; `persistedBeforeReleasing` says whether it made every entry durable
    /// before releasing its reply while solo (only then may it recover from its own disk alone).
    case ownedEpoch(epoch: UInt64, persistedBeforeReleasing: Bool)
    /// This node was the protecting backup in `epoch` from entry `fromSequence` on: it holds every entry whose
    /// reply the primary released without an ack before that point.
    case protecting(epoch: UInt64, fromSequence: UInt64)

    /// Which marker, one file each.
    public enum Kind: UInt8, Sendable, CaseIterable {
        /// `ownedEpoch`, in `markers/owned-epoch`.
        case ownedEpoch = 1
        /// `protecting`, in `markers/protecting`.
        case protecting = 2

        var fileName: String {
            switch self {
            case .ownedEpoch: "owned-epoch"
            case .protecting: "protecting"
            }
        }
    }

    /// This marker's kind.
    public var kind: Kind {
        switch self {
        case .ownedEpoch: .ownedEpoch
        case .protecting: .protecting
        }
    }
}

/// Reads and atomically replaces this node's markers in `DIR/markers`.
///
/// Each marker is one 29-byte file, replaced whole (temporary file, fsync, rename, directory fsync), so a crash
/// leaves the old marker or the new one, never a mix. Layout, little-endian:
/// `magic "LKMK" (4) · format version (4) · kind (1) · epoch (8) · value (8) · CRC32C of the 25 bytes before (4)`,
/// where the value is 0 or 1 (`persistedBeforeReleasing`) or the sequence (`protecting`).
public struct DurableMarkers: Sendable {
    private let directory: DataDirectory
    static let magic: [UInt8] = Array("LKMK".utf8)
    static let version: UInt32 = 1
    static let fileBytes = 29

    /// The markers of `directory`.
    public init(_ directory: DataDirectory) { self.directory = directory }

    /// Replaces the marker of `marker`'s kind with `marker`, durably.
    public func write(_ marker: DurableMarker) throws(DurabilityError) {
        try directory.disk.replaceAtomically(
            path(marker.kind), with: Self.encode(marker), inDirectory: directory.markersPath)
    }

    /// The marker of `kind`, nil when none was written (or it was removed).
    public func read(_ kind: DurableMarker.Kind) throws(DurabilityError) -> DurableMarker? {
        let path = path(kind)
        let file: FileDescriptor
        do {
            file = try directory.disk.open(path, flags: O_RDONLY)
        } catch .ioFailed(_, _, ENOENT) {
            return nil
        }
        defer { directory.disk.closeQuietly(file) }
        let bytes = try directory.disk.read(Self.fileBytes + 1, at: 0, from: file, path)
        switch Self.decode(bytes, kind: kind) {
        case .success(let marker): return marker
        case .failure(let damage): throw .corruptMarker(path: path, damage: damage)
        }
    }

    /// Removes the marker of `kind`, durably; removing a missing one is no error.
    public func remove(_ kind: DurableMarker.Kind) throws(DurabilityError) {
        try directory.disk.removeFile(path(kind))
        try directory.disk.synchronizeDirectory(directory.markersPath)
    }

    private func path(_ kind: DurableMarker.Kind) -> String { directory.markersPath + "/" + kind.fileName }

    static func encode(_ marker: DurableMarker) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(version)
        bytes.append(marker.kind.rawValue)
        switch marker {
        case .ownedEpoch(let epoch, let persisted):
            bytes.appendLittleEndian(epoch)
            bytes.appendLittleEndian(UInt64(persisted ? 1 : 0))
        case .protecting(let epoch, let sequence):
            bytes.appendLittleEndian(epoch)
            bytes.appendLittleEndian(sequence)
        }
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes
    }

    static func decode(_ bytes: [UInt8], kind: DurableMarker.Kind) -> Result<DurableMarker, DurabilityError.Damage> {
        guard bytes.count == fileBytes else {
            return .failure(
                bytes.count < fileBytes
                    ? .truncated(needed: fileBytes, available: bytes.count)
                    : .byteCountMismatch(declared: fileBytes, actual: bytes.count))
        }
        guard Array(bytes[0..<4]) == magic else { return .failure(.badMagic) }
        guard bytes.littleEndian(UInt32.self, at: 25) == CRC32C.checksum(Array(bytes[0..<25])) else {
            return .failure(.checksumMismatch)
        }
        let version = bytes.littleEndian(UInt32.self, at: 4)
        guard version == Self.version else { return .failure(.unsupportedVersion(version)) }
        guard bytes[8] == kind.rawValue else { return .failure(.unknownKind(bytes[8])) }
        let epoch = bytes.littleEndian(UInt64.self, at: 9), value = bytes.littleEndian(UInt64.self, at: 17)
        switch kind {
        case .ownedEpoch:
            guard value <= 1 else { return .failure(.unknownKind(bytes[8])) }
            return .success(.ownedEpoch(epoch: epoch, persistedBeforeReleasing: value == 1))
        case .protecting:
            return .success(.protecting(epoch: epoch, fromSequence: value))
        }
    }
}
