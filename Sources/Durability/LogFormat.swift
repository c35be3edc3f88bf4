import LogChannel
import Replication

/// The byte layout of log segments. All integers little-endian.
///
/// **Segment** `segment-<first sequence, 20 digits>.log`: a 20-byte header, then records back to back.
/// Header: `magic "LKLG" (4) · format version (4) · first sequence (8) · CRC32C of the 16 bytes before (4)`.
///
/// **Record**: `length (4) · CRC32C (4) · epoch (8) · sequence (8) · entry (length bytes)`, where the entry is
/// `LogEntry.encode(into:)`'s encoding and the CRC covers the length, epoch, sequence and entry (every byte but its
/// own), so a damaged length is caught as surely as a damaged entry. A length of zero is never written (the
/// shortest entry has 3 bytes), so a zero-filled tail is always recognised as damage.
enum LogFormat {
    static let segmentMagic: [UInt8] = Array("LKLG".utf8)
    static let version: UInt32 = 1
    static let segmentHeaderBytes = 20
    static let recordHeaderBytes = 24
    static let segmentPrefix = "segment-", segmentSuffix = ".log"

    static func segmentName(firstSequence: UInt64) -> String {
        segmentPrefix + FileNumber.padded(firstSequence) + segmentSuffix
    }

    /// The first sequence a segment's name declares, or nil for names that are not segments.
    static func firstSequence(ofSegmentNamed name: String) -> UInt64? {
        guard name.hasPrefix(segmentPrefix), name.hasSuffix(segmentSuffix) else { return nil }
        return FileNumber.parse(name.dropFirst(segmentPrefix.count).dropLast(segmentSuffix.count))
    }

    static func segmentHeader(firstSequence: UInt64) -> [UInt8] {
        var bytes = segmentMagic
        bytes.appendLittleEndian(version)
        bytes.appendLittleEndian(firstSequence)
        bytes.appendLittleEndian(CRC32C.checksum(bytes))
        return bytes
    }

    /// The first sequence a header declares, or what is wrong with it.
    static func parseSegmentHeader(_ bytes: [UInt8]) -> Result<UInt64, DurabilityError.Damage> {
        guard bytes.count >= segmentHeaderBytes else {
            return .failure(.truncated(needed: segmentHeaderBytes, available: bytes.count))
        }
        guard Array(bytes[0..<4]) == segmentMagic else { return .failure(.badMagic) }
        guard bytes.littleEndian(UInt32.self, at: 16) == CRC32C.checksum(Array(bytes[0..<16])) else {
            return .failure(.checksumMismatch)
        }
        let version = bytes.littleEndian(UInt32.self, at: 4)
        guard version == Self.version else { return .failure(.unsupportedVersion(version)) }
        return .success(bytes.littleEndian(UInt64.self, at: 8))
    }

    /// Appends one record to `bytes`.
    static func appendRecord(_ entry: LogEntry, epoch: UInt64, sequence: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        bytes.appendLittleEndian(UInt32(0))  // length and CRC, filled in below
        bytes.appendLittleEndian(UInt32(0))
        bytes.appendLittleEndian(epoch)
        bytes.appendLittleEndian(sequence)
        entry.encode(into: &bytes)
        let length = UInt32(bytes.count - start - recordHeaderBytes)
        bytes.storeLittleEndian(length, at: start)
        let checksum = bytes.withUnsafeBytes { raw in
            let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[start..<start + 4]))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[(start + 8)...]), continuing: lengthCRC)
        }
        bytes.storeLittleEndian(checksum, at: start + 4)
    }

    /// A record header's fields, before the entry is checked.
    struct RecordHeader {
        var length: Int
        var checksum: UInt32
        var epoch: UInt64
        var sequence: UInt64
    }

    static func parseRecordHeader(_ bytes: UnsafeRawBufferPointer) -> RecordHeader {
        precondition(bytes.count >= recordHeaderBytes, "a record header needs 24 bytes")
        return RecordHeader(
            length: Int(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))),
            checksum: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt32.self)),
            epoch: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)),
            sequence: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
    }

    /// Whether `record` (header and entry, exactly) carries a matching CRC.
    static func checksumMatches(_ record: UnsafeRawBufferPointer, _ header: RecordHeader) -> Bool {
        let lengthCRC = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[0..<4]))
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: record[8...]), continuing: lengthCRC) == header.checksum
    }
}

extension Array where Element == UInt8 {
    mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        for index in 0..<(T.bitWidth / 8) { append(UInt8(truncatingIfNeeded: value >> (8 * index))) }
    }

    mutating func storeLittleEndian<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        for index in 0..<(T.bitWidth / 8) { self[offset + index] = UInt8(truncatingIfNeeded: value >> (8 * index)) }
    }

    func littleEndian<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<(T.bitWidth / 8) { value |= T(self[offset + index]) << (8 * index) }
        return value
    }
}
