/// A command name folded to lower case and packed into two words: the key of a `CommandTable`.
///
/// Every request looks its name up, twice on the primary (route, then apply). Packing the name spares
/// lowercasing it into a new array, and makes comparing two names three word comparisons.
struct CommandName: Hashable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0
    /// Tells `"get"` from `"get\0"`, which pack alike.
    private var count: Int

    /// No command name is longer; a longer name is no command, and is not read.
    static let bytesLimit = 16

    /// The name `bytes` spell in any letter case; nil when longer than `bytesLimit`.
    init?<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        guard bytes.count <= Self.bytesLimit else { return nil }
        // Requests come as array slices: reading them through a pointer halves the cost of the generic loop.
        self = bytes.withContiguousStorageIfAvailable(Self.init(packing:))
            ?? Array(bytes).withUnsafeBufferPointer(Self.init(packing:))
    }

    private init(packing bytes: UnsafeBufferPointer<UInt8>) {
        count = bytes.count
        // A shift per byte: for names this short it costs less than a call to copy them into the words. Byte `i`
        // lands where a little-endian copy would put it, though the order matters not, as long as every name is
        // packed the same way.
        var words: (low: UInt64, high: UInt64) = (0, 0)
        for index in 0..<min(count, 8) { words.low |= UInt64(bytes[index]) &<< UInt64(8 &* index) }
        for index in min(count, 8)..<count { words.high |= UInt64(bytes[index]) &<< UInt64(8 &* (index &- 8)) }
        low = words.low
        high = words.high
        // Lower-cased eight bytes at a time (SWAR) rather than byte by byte: the bytes A-Z gain 0x20.
        low = Self.lowercased(low)
        high = Self.lowercased(high)
    }

    /// Each byte of `word` lower-cased when it is an ASCII capital. Bytes of 0x80 and above are left alone: their
    /// high bit is masked off for the range test and the result is used only where the byte was below 0x80.
    private static func lowercased(_ word: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let ascii = word & (0x7F * ones)
        // The high bit of each byte ends up set exactly when that byte is in "A"..."Z" (and below 0x80).
        let atLeastA = ascii &+ (0x80 - 0x41) * ones
        let aboveZ = ascii &+ (0x80 - 0x5B) * ones
        let isCapital = atLeastA & ~aboveZ & ~word & (0x80 * ones)
        return word | (isCapital >> 2)
    }

    /// A well-mixed number for a table of `1 << bits` slots (Fibonacci hashing): cheap, and the same in every
    /// process, unlike the seeded `Hasher` (which is not needed against a fixed set of names).
    @inline(__always)
    func slot(bits: Int) -> Int {
        let mixed = (low ^ (high &* 31) ^ UInt64(truncatingIfNeeded: count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed &>> UInt64(64 &- bits))
    }
}
