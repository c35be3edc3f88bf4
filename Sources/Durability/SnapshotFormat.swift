import LogChannel

/// The byte layout of snapshot files. All integers little-endian.
///
/// `snapshot-<epoch, 20 digits>-<sequence, 20 digits>.snap`: the state after entry `sequence`, taken in `epoch`.
/// Header (32 bytes): `magic "LKSN" (4) · format version (4) · epoch (8) · sequence (8) · body byte count (8)`,
/// then the body (the `StateSnapshot`'s chunks back to back), then `CRC32C (4)` of the body followed by the header.
/// The header is written last (its byte count is known only at the end), so the CRC takes it after the body.
enum SnapshotFormat {
    static let magic: [UInt8] = Array("LKSN".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 32
    static let trailerBytes = 4
    static let prefix = "snapshot-", suffix = ".snap"

    static func fileName(epoch: UInt64, sequence: UInt64) -> String {
        prefix + FileNumber.padded(epoch) + "-" + FileNumber.padded(sequence) + suffix
    }

    /// The epoch and sequence a name declares, or nil for names that are not complete snapshots.
    static func parse(fileName name: String) -> (epoch: UInt64, sequence: UInt64)? {
        guard name.hasPrefix(prefix), name.hasSuffix(suffix) else { return nil }
        let numbers = name.dropFirst(prefix.count).dropLast(suffix.count).split(separator: "-")
        guard numbers.count == 2, let epoch = FileNumber.parse(numbers[0]), let sequence = FileNumber.parse(numbers[1])
        else { return nil }
        return (epoch, sequence)
    }

    static func header(epoch: UInt64, sequence: UInt64, bodyByteCount: Int) -> [UInt8] {
        var bytes = magic
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(epoch)
        bytes.appendLittleEndian(sequence)
        bytes.appendLittleEndian(UInt64(bodyByteCount))
        return bytes
    }
}
