/// A client request that breaks the RESP2 protocol; the connection that sent it is closed.
///
/// Once the framing is broken there is no telling where the next request starts, so, like Redis, we answer
/// with the error and close. The description is Redis's own wording, which is what clients and people
/// recognise; `reply` is the error as it goes on the wire.
public enum RESPError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `*` followed by something that is not an integer that fits in 32 bits.
    case invalidMultibulkLength
    /// `*` with more arguments than `Limits.argumentsLimit`.
    case tooManyArguments(declared: Int, limit: Int)
    /// `$` followed by something that is not a non-negative integer.
    case invalidBulkLength
    /// `$` announcing more bytes than `Limits.bulkBytesLimit`; rejected from the header, before any allocation.
    case bulkTooLarge(declared: Int64, limit: Int)
    /// Inside a multi-bulk request, an argument that does not start with `$`.
    case expectedBulkMarker(got: UInt8)
    /// A `*` header line longer than `Limits.inlineBytesLimit`.
    case multibulkCountTooLong
    /// A `$` header line longer than `Limits.inlineBytesLimit`.
    case bulkCountTooLong
    /// An inline request line longer than `Limits.inlineBytesLimit`.
    case inlineRequestTooLong
    /// An inline request with a quote that is never closed, or closed and followed by a non-space.
    case unbalancedQuotes
    /// A header's CR not followed by LF, or bulk data not followed by CR LF.
    case expectedCRLF
    /// One request whose arguments add up to more than `Limits.requestBytesLimit`.
    case requestTooLarge(limit: Int)

    /// Redis's wording for the error, without the `ERR` code.
    public var description: String {
        switch self {
        case .invalidMultibulkLength: "Protocol error: invalid multibulk length"
        case .tooManyArguments(let declared, let limit):
            "Protocol error: invalid multibulk length (\(declared) arguments, at most \(limit))"
        case .invalidBulkLength: "Protocol error: invalid bulk length"
        case .bulkTooLarge(let declared, let limit):
            "Protocol error: invalid bulk length (\(declared) bytes, at most \(limit))"
        case .expectedBulkMarker(let byte): "Protocol error: expected '$', got '\(Self.printable(byte))'"
        case .multibulkCountTooLong: "Protocol error: too big mbulk count string"
        case .bulkCountTooLong: "Protocol error: too big bulk count string"
        case .inlineRequestTooLong: "Protocol error: too big inline request"
        case .unbalancedQuotes: "Protocol error: unbalanced quotes in request"
        case .expectedCRLF: "Protocol error: expected CRLF"
        case .requestTooLarge(let limit): "Protocol error: request larger than \(limit) bytes"
        }
    }

    /// The error reply sent before closing the connection, e.g. `-ERR Protocol error: invalid bulk length`.
    public var reply: [UInt8] { RESPWriter.error("ERR " + description) }

    private static func printable(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }
}
