import LockstepClient

/// A reply as redis-cli prints it: quoted and numbered for a terminal, raw for a pipe, so scripts written against
/// redis-cli's output read `lockstep client`'s the same way.
enum ReplyText {
    /// `reply` as lines, without the final line break.
    static func format(_ reply: RESPReply, isTerminal: Bool) -> String {
        isTerminal ? terminal(reply, indent: 0) : raw(reply)
    }

    private static func terminal(_ reply: RESPReply, indent: Int) -> String {
        switch reply {
        case .simpleString(let text): return text
        case .error(let text): return "(error) \(text)"
        case .integer(let value): return "(integer) \(value)"
        case .bulkString(nil), .array(nil): return "(nil)"
        case .bulkString(let bytes?): return quoted(bytes)
        case .array(let elements?):
            guard !elements.isEmpty else { return "(empty array)" }
            let width = String(elements.count).count
            return elements.enumerated().map { index, element in
                let number = String(index + 1)
                let label = String(repeating: " ", count: width - number.count) + number + ") "
                let padding = index == 0 ? "" : String(repeating: " ", count: indent)
                return padding + label + terminal(element, indent: indent + label.count)
            }.joined(separator: "\n")
        }
    }

    private static func raw(_ reply: RESPReply) -> String {
        switch reply {
        case .simpleString(let text), .error(let text): text
        case .integer(let value): String(value)
        case .bulkString(nil), .array(nil): ""
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        case .array(let elements?): elements.map(raw).joined(separator: "\n")
        }
    }

    /// A bulk string in double quotes, with redis-cli's escapes for quotes, backslashes and unprintable bytes.
    static func quoted(_ bytes: [UInt8]) -> String {
        var text = "\""
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "\""): text += "\\\""
            case UInt8(ascii: "\\"): text += "\\\\"
            case UInt8(ascii: "\n"): text += "\\n"
            case UInt8(ascii: "\r"): text += "\\r"
            case UInt8(ascii: "\t"): text += "\\t"
            case 0x20..<0x7F: text.append(Character(Unicode.Scalar(byte)))
            default:
                let hex = String(byte, radix: 16)
                text += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return text + "\""
    }
}
