/// The log's encoding of one client request: its argument list as compact bytes.
///
/// The primary ships this as the `StateMachine` command of a log entry and both nodes decode it in `apply`,
/// so it is the bytes every replica agrees on. Layout: `argument count · (length · bytes)*`, with counts and
/// lengths as LEB128 varints, so `SET key value` costs 4 bytes of framing instead of RESP's 25.
public enum KeyValueCommand {
    /// Bytes that are not an encoded argument list; `apply` answers them with an error, on both nodes alike.
    public enum DecodingError: Error, Equatable, Sendable, CustomStringConvertible {
        case truncated(offset: Int)
        case varintTooLong(offset: Int)
        case countTooLarge(declared: UInt64, available: Int)
        case trailingBytes(Int)

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
        var bytes: [UInt8] = []
        bytes.reserveCapacity(arguments.reduce(10) { $0 + $1.count + 5 })
        Varint.append(UInt64(arguments.count), to: &bytes)
        for argument in arguments {
            Varint.append(UInt64(argument.count), to: &bytes)
            bytes.append(contentsOf: argument)
        }
        return bytes
    }

    /// The argument list `bytes` encode; they must be exactly one encoding.
    public static func decode(_ bytes: [UInt8]) throws(DecodingError) -> [[UInt8]] {
        var offset = 0
        let count = try readVarint(bytes, &offset)
        // Every argument takes at least its one length byte, which bounds the allocation below.
        guard count <= UInt64(bytes.count - offset) else {
            throw .countTooLarge(declared: count, available: bytes.count - offset)
        }
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(Int(count))
        for _ in 0..<count {
            let length = try readVarint(bytes, &offset)
            guard length <= UInt64(bytes.count - offset) else {
                throw .countTooLarge(declared: length, available: bytes.count - offset)
            }
            let end = offset + Int(length)
            arguments.append(Array(bytes[offset..<end]))
            offset = end
        }
        guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
        return arguments
    }

    /// Reads one varint, telling a truncated encoding from an overlong number.
    private static func readVarint(_ bytes: [UInt8], _ offset: inout Int) throws(DecodingError) -> UInt64 {
        let start = offset
        guard let value = Varint.read(bytes, at: &offset) else {
            // Only a tenth byte can overflow 64 bits, so with fewer left the bytes simply ran out.
            if bytes.count - start < 10 { throw .truncated(offset: bytes.count) }
            throw .varintTooLong(offset: start)
        }
        return value
    }
}
