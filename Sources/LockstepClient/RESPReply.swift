/// One RESP2 reply, as the server sent it.
///
/// A command's own error (`-WRONGTYPE ...`, `-ERR value is not an integer ...`) is a reply like any other: the
/// server applied the request, saved this reply in the session, and would return the same on a retry. Errors that
/// concern the session or the node (`-NOSESSION`, `-READONLY`, ...) never reach a caller as a reply; the client
/// handles them or turns them into a `LockstepClientError`.
public enum RESPReply: Sendable, Hashable, CustomStringConvertible {
    /// `+OK`: a status line.
    case simpleString(String)
    /// `-ERR ...`: the command's own error, code first (`WRONGTYPE Operation against a key ...`).
    case error(String)
    /// `:42`.
    case integer(Int64)
    /// `$3\r\nabc`; `nil` is the null bulk string (`$-1`), e.g. GET of a missing key.
    case bulkString([UInt8]?)
    /// `*2 ...`; `nil` is the null array (`*-1`).
    case array([RESPReply]?)

    /// The text of a simple string, a bulk string (as UTF-8, invalid bytes replaced) or an error; nil otherwise.
    public var text: String? {
        switch self {
        case .simpleString(let text), .error(let text): text
        case .bulkString(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The value of an integer reply; nil for every other kind.
    public var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// An error reply's code, its first word (`WRONGTYPE`, `ERR`), as Redis clients read it; nil for other kinds.
    public var errorCode: Substring? {
        guard case .error(let text) = self else { return nil }
        return text.prefix { $0 != " " }
    }

    /// The reply as redis-cli would show it on one line, e.g. `(integer) 3` or `"abc"`.
    public var description: String {
        switch self {
        case .simpleString(let text): text
        case .error(let text): "(error) \(text)"
        case .integer(let value): "(integer) \(value)"
        case .bulkString(nil), .array(nil): "(nil)"
        case .bulkString(let bytes?): "\"\(String(decoding: bytes, as: UTF8.self))\""
        case .array(let elements?): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        }
    }
}
