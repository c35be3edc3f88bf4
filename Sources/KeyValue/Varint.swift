/// LEB128 varints: 7 bits per byte, low bits first, high bit set on every byte but the last.
///
/// Used by the command encoding and the snapshot, where most numbers (lengths of keys and small values,
/// argument counts) fit in one byte.
enum Varint {
    static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    /// Writes `value` at `offset` in `bytes`, which has room for `byteCount(value)` more; the offset after it.
    static func write(_ value: UInt64, into bytes: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        var rest = value
        var offset = offset
        while rest >= 0x80 {
            bytes[offset] = UInt8(truncatingIfNeeded: rest) | 0x80
            rest >>= 7
            offset += 1
        }
        bytes[offset] = UInt8(rest)
        return offset + 1
    }

    /// How many bytes `append` and `write` write for `value`.
    static func byteCount(_ value: UInt64) -> Int {
        max(1, (64 - value.leadingZeroBitCount + 6) / 7)
    }

    /// Reads one varint at `offset` and moves past it; nil when `bytes` end first or it overflows 64 bits.
    static func read(_ bytes: [UInt8], at offset: inout Int) -> UInt64? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = offset
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            // The tenth byte may only carry bit 63.
            guard shift < 63 || (shift == 63 && byte <= 1) else { return nil }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                offset = index
                return value
            }
            shift += 7
        }
        return nil
    }
}
