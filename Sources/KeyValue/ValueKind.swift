/// What a key holds: Redis's value types.
///
/// A command meant for one kind answers WRONGTYPE on a key of another, as in Redis; the snapshot writes the kind's
/// raw value, so the numbers are part of its format.
enum ValueKind: UInt8, Sendable, CaseIterable {
    case string = 0, hash = 1, set = 2, list = 3, sortedSet = 4

    /// TYPE's name for a key of this kind, which SCAN's TYPE option also compares against.
    var typeName: String {
        switch self {
        case .string: "string"
        case .hash: "hash"
        case .set: "set"
        case .list: "list"
        case .sortedSet: "zset"
        }
    }

    /// TYPE's answer for a key of this kind.
    var typeReply: [UInt8] { Self.typeReplies[Int(rawValue)] }

    /// Written once: TYPE is a read on the hot path. Indexed by raw value, which `allCases` follows.
    private static let typeReplies = allCases.map { RESPWriter.simpleString($0.typeName) }
}
