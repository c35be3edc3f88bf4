/// A command name folded to lower case and packed into two words: the key of a `CommandTable`.
///
/// Every request looks its name up, twice on the primary (route, then apply). Packing the name spares
/// lowercasing it into a new array, and makes comparing two names three word comparisons.
struct CommandName: Comparable, Sendable {
    private var low: UInt64 = 0
    private var high: UInt64 = 0
    /// Tells `"get"` from `"get\0"`, which pack alike.
    private var count: Int

    /// No command name is longer; a longer name is no command, and is not read.
    static let bytesLimit = 16

    /// The name `bytes` spell in any letter case; nil when longer than `bytesLimit`.
    init?<Bytes: Collection<UInt8>>(_ bytes: Bytes) {
        count = bytes.count
        guard count <= Self.bytesLimit else { return nil }
        var shift: UInt64 = 0
        for byte in bytes {
            let lower = UInt64(byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte)
            if shift < 64 { low |= lower << shift } else { high |= lower << (shift - 64) }
            shift += 8
        }
    }

    static func < (left: CommandName, right: CommandName) -> Bool {
        (left.count, left.low, left.high) < (right.count, right.low, right.high)
    }
}
