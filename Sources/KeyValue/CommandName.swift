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
        for index in 0..<count {
            let byte = bytes[index]
            let lower = UInt64(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
            if index < 8 { low |= lower << UInt64(8 * index) } else { high |= lower << UInt64(8 * (index - 8)) }
        }
    }

    /// A well-mixed number for a table of `1 << bits` slots (Fibonacci hashing): cheap, and the same in every
    /// process, unlike the seeded `Hasher` (which is not needed against a fixed set of names).
    func slot(bits: Int) -> Int {
        let mixed = (low ^ (high &* 31) ^ UInt64(count)) &* 0x9E37_79B9_7F4A_7C15
        return Int(truncatingIfNeeded: mixed >> UInt64(64 - bits))
    }
}
