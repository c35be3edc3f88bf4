/// Why bytes from a node are not RESP2 replies.
///
/// The client drops the connection and carries on as after any other dropped connection (a resend in the session
/// is safe); nothing a node sends can crash the client or make it grow without bound.
public enum RESPDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A reply began with a byte that is none of `+ - : $ *`.
    case invalidTypeByte(UInt8)
    /// An integer reply, or a bulk or array length, that is not a decimal number in range.
    case invalidNumber(String)
    /// A line ran past `limit` bytes without its CRLF.
    case lineTooLong(limit: Int)
    /// A bulk string's bytes were not followed by CRLF.
    case missingCRLF
    /// Arrays nested deeper than `limit`.
    case nestingTooDeep(limit: Int)
    /// One reply larger than `limit` bytes (`LockstepClientConfiguration.replyBytesLimit`).
    case replyTooLarge(limit: Int)

    /// One sentence: what was wrong with the bytes.
    public var description: String {
        switch self {
        case .invalidTypeByte(let byte): "a reply began with byte \(byte), which is no RESP2 type"
        case .invalidNumber(let text): "\"\(text)\" is not a valid RESP2 integer or length"
        case .lineTooLong(let limit): "a reply line ran past \(limit) bytes without its CRLF"
        case .missingCRLF: "a bulk string was not followed by CRLF"
        case .nestingTooDeep(let limit): "a reply nested arrays deeper than \(limit)"
        case .replyTooLarge(let limit): "a reply was larger than \(limit) bytes"
        }
    }
}
