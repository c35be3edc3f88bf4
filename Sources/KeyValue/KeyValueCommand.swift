/// The log's encoding of one client request: its argument list as compact bytes.
///
/// The primary ships this as the `StateMachine` command of a log entry and both nodes decode it in `apply`,
/// so it is the bytes every replica agrees on. Layout: `argument count · (length · bytes)*`, with counts and
/// lengths as LEB128 varints, so `SET key value` costs 4 bytes of framing instead of RESP's 25.
public enum KeyValueCommand {
    /// Bytes that are not an encoded argument list; `apply` answers them with an error, on both nodes alike.
    public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        /// The bytes end at `offset`, in the middle of a count or a length.
        case truncated(offset: Int)
        /// The count or length at `offset` does not fit 64 bits.
        case varintTooLong(offset: Int)
        /// An argument count or length says `declared`, more than the `available` bytes left could hold.
        case countTooLarge(declared: UInt64, available: Int)
        /// This many bytes follow the last argument.
        case trailingBytes(Int)

        /// One sentence for the error reply: what is wrong with the encoding, and that the command is refused.
        public var description: String {
            switch self {
            case .truncated(let offset): "command encoding truncated at byte \(offset); the command is refused"
            case .varintTooLong(let offset): "command encoding has an overlong number at byte \(offset); refused"
            case .countTooLarge(let declared, let available):
                "command encoding declares \(declared) more than the \(available) bytes it has; refused"
            case .trailingBytes(let count): "command encoding has \(count) trailing bytes; the command is refused"
            }
        }
    }

    /// The encoding of `arguments`.
    public static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        CommandArguments(encoding: arguments).encoding
    }

    /// The argument list `bytes` encode; they must be exactly one encoding.
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [[UInt8]] {
        Array(try CommandArguments(decoding: bytes))
    }
}
