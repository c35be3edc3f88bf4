#if arch(x86_64)
import CShim
#endif

/// CRC-32C (Castagnoli): the checksum that closes every frame on the logging channel.
///
/// Castagnoli rather than the zlib polynomial because it detects more error patterns at frame sizes, and because
/// hardware computes it. Both nodes checksum every frame, so on x86-64 with SSE4.2 the CPU's `crc32` instruction does
/// it, 8 bytes per instruction, several times cheaper than tables (measured in Benchmarks/README.md). Elsewhere the
/// software path runs: slice-by-8, eight table lookups per 8 input bytes. Reflected polynomial 0x82F63B78, initial
/// value and final XOR 0xFFFFFFFF; the standard check value is `checksum("123456789") == 0xE3069283`.
public enum CRC32C {
    /// The reflected Castagnoli polynomial.
    public static let polynomial: UInt32 = 0x82F6_3B78

    /// Which implementation `checksum` uses.
    enum Implementation: Sendable {
        case instructions, tables
    }

    /// The CPU's CRC-32C instructions where it has them, the tables otherwise; decided once per process.
    static let implementation: Implementation = {
        #if arch(x86_64)
        if cshim_cpu_has_crc32c() != 0 { return .instructions }
        #endif
        return .tables
    }()

    /// The CRC of `bytes`, or of `previous`'s input followed by `bytes` when continuing a checksum.
    ///
    /// Continuing lets a caller checksum a frame in pieces (header, then body) without copying it together.
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        checksum(bytes, continuing: previous, using: implementation)
    }

    /// The CRC of `bytes` computed by `implementation` (tests compare the two); `.instructions` needs a CPU that
    /// has them.
    static func checksum(
        _ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0, using implementation: Implementation
    ) -> UInt32 {
        switch implementation {
        case .instructions:
            #if arch(x86_64)
            var crc = ~previous
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                crc = cshim_crc32c_u64(crc, bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                offset &+= 8
            }
            while offset < count {
                crc = cshim_crc32c_u8(crc, bytes[offset])
                offset &+= 1
            }
            return ~crc
            #else
            preconditionFailure("no CRC-32C instructions on this architecture")
            #endif
        case .tables:
            return tablesChecksum(bytes, continuing: previous)
        }
    }

    private static func tablesChecksum(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32) -> UInt32 {
        tables.withUnsafeBufferPointer { table in
            var crc = ~previous
            var offset = 0
            let count = bytes.count
            while count - offset >= 8 {
                let word = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                let low = UInt32(truncatingIfNeeded: word) ^ crc
                let high = UInt32(truncatingIfNeeded: word >> 32)
                crc = table[7 &* 256 &+ Int(low & 0xFF)]
                    ^ table[6 &* 256 &+ Int((low >> 8) & 0xFF)]
                    ^ table[5 &* 256 &+ Int((low >> 16) & 0xFF)]
                    ^ table[4 &* 256 &+ Int(low >> 24)]
                    ^ table[3 &* 256 &+ Int(high & 0xFF)]
                    ^ table[2 &* 256 &+ Int((high >> 8) & 0xFF)]
                    ^ table[1 &* 256 &+ Int((high >> 16) & 0xFF)]
                    ^ table[Int(high >> 24)]
                offset &+= 8
            }
            while offset < count {
                crc = table[Int((crc ^ UInt32(bytes[offset])) & 0xFF)] ^ (crc >> 8)
                offset &+= 1
            }
            return ~crc
        }
    }

    /// The CRC of `bytes`, or of `previous`'s input followed by `bytes`.
    public static func checksum(_ bytes: [UInt8], continuing previous: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0, continuing: previous) }
    }

    /// Eight 256-entry tables, flattened: `tables[k * 256 + b]` is the CRC of byte `b` followed by `k` zero bytes.
    ///
    /// Table 0 is the classic bytewise table; table `k` advances table `k - 1` by one more zero byte, which is
    /// what lets slice-by-8 fold eight input bytes per step. A global `let` is built once, lazily and
    /// thread-safely, on first use (8 KiB).
    static let tables: [UInt32] = {
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 {
                crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1
            }
            tables[byte] = crc
        }
        for slice in 1..<8 {
            for byte in 0..<256 {
                let previous = tables[(slice - 1) * 256 + byte]
                tables[slice * 256 + byte] = (previous >> 8) ^ tables[Int(previous & 0xFF)]
            }
        }
        return tables
    }()
}
