/// Redis 7.0's DUMP payload (`createDumpPayload` and `verifyDumpPayload`, `src/cluster.c`): one value in RDB encoding,
/// then the RDB version (2 bytes, little-endian) and a `CRC64` of everything before the checksum (8 bytes,
/// little-endian).
///
/// Lockstep writes the plain RDB types, which every Redis since 2.6 loads: a string (integer-encoded when Redis would
/// encode it so, which makes a small string's payload Redis's own bytes), a list of strings (type 1), a set (2), a
/// hash (4) and a sorted set with binary scores (5). It reads those, the old sorted set with text scores (3), the
/// compact encodings Redis 7.0 writes for small values and the ziplists of the Redis versions before it (`DumpReader`).
/// Modules and streams are refused, as values the store cannot hold; so is the zipmap (9), the small hash of Redis
/// before 2.6, which Redis 7.0 still reads but no supported Redis writes.
///
/// Every length and offset in a payload is a stranger's: each is checked against the bytes left before anything is
/// read or reserved, so a payload claiming 2^60 members fails at its end rather than allocating. A decompressed string
/// is bounded by `KeyValueStore.valueBytesLimit`, and so is the sum of all of them. No empty collection and no member
/// twice: the store keeps neither (Redis refuses both as corrupt, given `sanitize-dump-payload`).
enum DumpPayload {
    /// The RDB version Redis 7.0 writes, and the highest it reads.
    static let rdbVersion: UInt16 = 10

    /// A restored value.
    enum Value {
        case string([UInt8])
        /// Never empty.
        case collection(CollectionValue)
    }

    /// RDB object types (`src/rdb.h`).
    enum ObjectType: UInt8 {
        case string = 0, list = 1, set = 2, sortedSetTextScores = 3, hash = 4, sortedSet = 5
        case module = 6, moduleAnnotated = 7
        case hashZipmap = 9, listZiplist = 10, setIntegers = 11, sortedSetZiplist = 12, hashZiplist = 13
        case listQuicklist = 14, stream = 15, hashListpack = 16, sortedSetListpack = 17, listQuicklistListpacks = 18
        case streamVersion2 = 19
    }

    // MARK: Writing

    /// The payload of a string value.
    static func encode(string: ArraySlice<UInt8>) -> [UInt8] {
        var payload = [ObjectType.string.rawValue]
        appendString(string, to: &payload)
        return sealed(payload)
    }

    /// The payload of a collection.
    static func encode(_ collection: CollectionValue) -> [UInt8] {
        var payload: [UInt8] = []
        switch collection.kind {
        case .list:
            payload.append(ObjectType.list.rawValue)
            appendLength(collection.count, to: &payload)
            for position in 0..<collection.count { appendString(collection.elements[position][...], to: &payload) }
        case .set, .hash:
            payload.append(collection.kind == .set ? ObjectType.set.rawValue : ObjectType.hash.rawValue)
            appendLength(collection.count, to: &payload)
            for member in collection.members {
                appendString(member.field, to: &payload)
                if collection.kind == .hash { appendString(member.value, to: &payload) }
            }
        case .sortedSet:
            payload.append(ObjectType.sortedSet.rawValue)
            appendLength(collection.count, to: &payload)
            for member in collection.members {
                appendString(member.field, to: &payload)
                let bits = Score.value(member.value).bitPattern.littleEndian
                withUnsafeBytes(of: bits) { payload.append(contentsOf: $0) }
            }
        case .string: preconditionFailure("a string is no collection")
        }
        return sealed(payload)
    }

    /// `body` followed by the RDB version and the checksum of both.
    private static func sealed(_ body: [UInt8]) -> [UInt8] {
        var payload = body
        withUnsafeBytes(of: rdbVersion.littleEndian) { payload.append(contentsOf: $0) }
        let crc = CRC64.checksum(payload)
        withUnsafeBytes(of: crc.littleEndian) { payload.append(contentsOf: $0) }
        return payload
    }

    /// Appends an RDB length (`rdbSaveLen`): 6 bits in one byte, 14 bits in two, then 32 or 64 bits big-endian.
    static func appendLength(_ length: Int, to payload: inout [UInt8]) {
        if length < 1 << 6 {
            payload.append(UInt8(length))
        } else if length < 1 << 14 {
            payload.append(0x40 | UInt8(length >> 8))
            payload.append(UInt8(length & 0xff))
        } else if length <= Int(UInt32.max) {
            payload.append(0x80)
            withUnsafeBytes(of: UInt32(length).bigEndian) { payload.append(contentsOf: $0) }
        } else {
            payload.append(0x81)
            withUnsafeBytes(of: UInt64(length).bigEndian) { payload.append(contentsOf: $0) }
        }
    }

    /// Appends an RDB string: integer-encoded when it is the canonical text of a 32-bit integer, as Redis's
    /// `rdbTryIntegerEncoding` does (it tries at most 11 bytes); otherwise length-prefixed raw bytes, uncompressed.
    static func appendString(_ string: ArraySlice<UInt8>, to payload: inout [UInt8]) {
        if string.count <= 11, let integer = DecimalInteger.parse(string), DecimalInteger.text(integer)[...] == string {
            if let small = Int8(exactly: integer) {
                payload.append(contentsOf: [0xc0, UInt8(bitPattern: small)])
                return
            }
            if let medium = Int16(exactly: integer) {
                payload.append(0xc1)
                withUnsafeBytes(of: medium.littleEndian) { payload.append(contentsOf: $0) }
                return
            }
            if let large = Int32(exactly: integer) {
                payload.append(0xc2)
                withUnsafeBytes(of: large.littleEndian) { payload.append(contentsOf: $0) }
                return
            }
        }
        appendLength(string.count, to: &payload)
        payload.append(contentsOf: string)
    }

    // MARK: Reading

    /// The value `payload` holds, after its version and checksum are checked.
    static func decode(_ payload: ArraySlice<UInt8>) throws(DumpPayloadError) -> Value {
        guard payload.count >= 10 else { throw .versionOrChecksum }
        let footer = payload.index(payload.endIndex, offsetBy: -10)
        let version = UInt16(payload[footer]) | UInt16(payload[footer + 1]) << 8
        guard version <= rdbVersion else { throw .versionOrChecksum }
        var stored: UInt64 = 0
        for offset in (0..<8).reversed() { stored = stored << 8 | UInt64(payload[footer + 2 + offset]) }
        guard CRC64.checksum(payload[..<(footer + 2)]) == stored else { throw .versionOrChecksum }
        var reader = DumpReader(payload[..<footer])
        let value = try reader.object()
        // Redis ignores bytes between the value and the footer; none of its payloads has any, so any is corruption.
        guard reader.isAtEnd else { throw .malformed(offset: reader.offset) }
        return value
    }
}

/// Why a RESTORE payload was refused; each case has Redis's reply.
enum DumpPayloadError: Error, Equatable {
    /// Shorter than its footer, a newer RDB version, or a checksum that does not match.
    case versionOrChecksum
    /// Bytes that are not a value in RDB encoding, first noticed at `offset` from the payload's start.
    case malformed(offset: Int)
    /// A value of an RDB type the store cannot hold (a module, a stream) or does not read (a zipmap of Redis 2.4).
    case unsupportedType(UInt8)

    /// The error reply RESTORE gives.
    var reply: [UInt8] {
        switch self {
        case .versionOrChecksum: RESPWriter.error("ERR DUMP payload version or checksum are wrong")
        case .malformed: RESPWriter.error("ERR Bad data format")
        case .unsupportedType(let type):
            RESPWriter.error("ERR Bad data format: RDB type \(type) (a stream, a module or a zipmap) is not supported")
        }
    }
}
