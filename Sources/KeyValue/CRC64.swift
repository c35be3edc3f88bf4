/// Redis's CRC-64 (Jones polynomial, reflected, zero initial value, no final XOR; `src/crc64.c`), which seals a DUMP
/// payload.
///
/// A payload travels between Redis and Lockstep in both directions, so the checksum must be Redis's bit for bit: its
/// check value, the CRC of `123456789`, is `0xe9c6d914c4b8d9ca`. The table is computed once, at first use.
enum CRC64 {
    /// The Jones polynomial `0xad93d23594c935a9`, bit-reversed for the reflected (least significant bit first) form.
    private static let reflectedPolynomial: UInt64 = 0x95ac_9329_ac4b_c9b5

    /// The CRC of every byte value, for one table lookup per byte.
    private static let table: [UInt64] = (0..<256).map { byte in
        var crc = UInt64(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ reflectedPolynomial : crc >> 1 }
        return crc
    }

    /// The checksum of `bytes`, continuing from `crc` (0 to start).
    static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes, continuing crc: UInt64 = 0) -> UInt64 {
        var crc = crc
        for byte in bytes { crc = table[Int((crc ^ UInt64(byte)) & 0xff)] ^ (crc >> 8) }
        return crc
    }
}
