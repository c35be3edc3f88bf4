/// A 64-bit hash of a key's bytes that is the same in every process, which picks the key's shard.
///
/// Swift's `Hasher` is seeded per process, so it cannot place keys: the primary and the backup must put every key
/// in the same shard, and a restored backup must find each key where the primary's snapshot put it. This is a
/// multiply-xor over 8-byte words (little-endian, the tail zero-padded, the length mixed in first) finalised by
/// SplitMix64's mixer, so every bit of the result depends on every input bit. It is fixed, not keyed: keys chosen
/// to collide can crowd one shard, which makes that shard large (its dictionary stays fast; its splits stop
/// helping) but changes no answer.
enum ShardHash {
    private static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    /// The hash of `bytes`.
    @inline(__always)
    static func of(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        bytes.withUnsafeBytes { of($0) }
    }

    /// The hash of the bytes `buffer` points at.
    static func of(_ buffer: UnsafeRawBufferPointer) -> UInt64 {
        let count = buffer.count
        var hash = UInt64(truncatingIfNeeded: count) &* multiplier
        var offset = 0
        while offset + 8 <= count {
            let word = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 29
            offset += 8
        }
        if offset < count {
            var word: UInt64 = 0
            var shift: UInt64 = 0
            while offset < count {
                word |= UInt64(buffer[offset]) << shift
                shift += 8
                offset += 1
            }
            hash = (hash ^ word) &* multiplier
            hash ^= hash >> 29
        }
        return SplitMix64.mix(hash)
    }
}
