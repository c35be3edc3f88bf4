/// What a key holds: Redis's value types.
///
/// A command meant for one kind answers WRONGTYPE on a key of another, as in Redis; the snapshot writes the kind's
/// raw value, so the numbers are part of its format.
enum ValueKind: UInt8, Sendable, CaseIterable {
    case string = 0, hash = 1, set = 2, list = 3, sortedSet = 4

    /// TYPE's answer for a key of this kind.
    var typeReply: [UInt8] {
        switch self {
        case .string: Self.stringReply
        case .hash: Self.hashReply
        case .set: Self.setReply
        case .list: Self.listReply
        case .sortedSet: Self.sortedSetReply
        }
    }

    private static let stringReply = RESPWriter.simpleString("string")
    private static let hashReply = RESPWriter.simpleString("hash")
    private static let setReply = RESPWriter.simpleString("set")
    private static let listReply = RESPWriter.simpleString("list")
    private static let sortedSetReply = RESPWriter.simpleString("zset")
}
