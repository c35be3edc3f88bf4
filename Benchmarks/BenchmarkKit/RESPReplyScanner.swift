/// Finds where each RESP2 reply ends in a byte stream, without building values: the load generator's parser.
///
/// A closed-loop generator only needs to know that a reply is complete, whether it is an error, and (for `WAIT`)
/// its integer. Scanning bytes in place costs nanoseconds where building Strings costs about a microsecond
/// (IO-FINDINGS), which would make the generator, not the server, the bottleneck.
public enum RESPReplyScanner {
    /// One complete reply at the start of the scanned bytes.
    public struct Reply: Equatable, Sendable {
        /// Bytes the reply takes, CRLFs included.
        public var length: Int
        /// A `-ERR ...` reply (nested errors inside an array do not count).
        public var isError: Bool
        /// The value of an integer reply (`:3`), nil for every other kind.
        public var integer: Int64?

        public init(length: Int, isError: Bool, integer: Int64?) {
            self.length = length
            self.isError = isError
            self.integer = integer
        }
    }

    public enum Scan: Equatable, Sendable {
        case complete(Reply)
        /// More bytes are needed; nothing is consumed.
        case incomplete
        /// Not RESP2: the connection cannot be trusted any more.
        case malformed
    }

    /// Arrays nested deeper than this are treated as malformed: replies to SET, GET and WAIT are flat, and the
    /// bound keeps a hostile or broken server from recursing the generator's stack.
    static let nestingLimit = 8
    /// Bulk strings larger than this are treated as malformed; the benchmark's values are 32 bytes.
    static let bulkLengthLimit = 512 << 20

    /// Scans the reply that starts at `start` in `bytes`.
    public static func scan(_ bytes: UnsafeRawBufferPointer, from start: Int = 0) -> Scan {
        switch scanValue(bytes, at: start, depth: 0) {
        case .success(let (end, isError, integer)):
            return .complete(Reply(length: end - start, isError: isError, integer: integer))
        case .failure(let failure):
            return failure == .incomplete ? .incomplete : .malformed
        }
    }

    /// Scans a reply held in an array; for tests and cold paths.
    public static func scan(_ bytes: [UInt8]) -> Scan {
        bytes.withUnsafeBytes { scan($0, from: 0) }
    }

    private enum Failure: Error { case incomplete, malformed }

    private static func scanValue(
        _ bytes: UnsafeRawBufferPointer, at start: Int, depth: Int
    ) -> Result<(end: Int, isError: Bool, integer: Int64?), Failure> {
        guard start < bytes.count else { return .failure(.incomplete) }
        // No CRLF yet: incomplete. The caller bounds its buffer, so a server that never ends a line is cut off there.
        guard let lineEnd = findCRLF(bytes, from: start + 1) else { return .failure(.incomplete) }
        let after = lineEnd + 2
        switch bytes[start] {
        case UInt8(ascii: "+"):
            return .success((after, false, nil))
        case UInt8(ascii: "-"):
            return .success((after, true, nil))
        case UInt8(ascii: ":"):
            guard let value = parseInteger(bytes, from: start + 1, to: lineEnd) else { return .failure(.malformed) }
            return .success((after, false, value))
        case UInt8(ascii: "$"):
            guard let length = parseInteger(bytes, from: start + 1, to: lineEnd), length >= -1,
                length <= bulkLengthLimit
            else { return .failure(.malformed) }
            if length == -1 { return .success((after, false, nil)) }
            let end = after + Int(length) + 2
            guard end <= bytes.count else { return .failure(.incomplete) }
            guard bytes[end - 2] == 13, bytes[end - 1] == 10 else { return .failure(.malformed) }
            return .success((end, false, nil))
        case UInt8(ascii: "*"):
            guard depth < nestingLimit, let count = parseInteger(bytes, from: start + 1, to: lineEnd), count >= -1
            else { return .failure(.malformed) }
            var position = after
            if count > 0 {
                for _ in 0..<count {
                    switch scanValue(bytes, at: position, depth: depth + 1) {
                    case .success(let element): position = element.end
                    case .failure(let failure): return .failure(failure)
                    }
                }
            }
            return .success((position, false, nil))
        default:
            return .failure(.malformed)
        }
    }

    /// Index of the `\r` of the first CRLF at or after `start`.
    @inline(__always)
    private static func findCRLF(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13, bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    /// A signed decimal in `bytes[start..<end]`; nil if empty, not decimal, or out of range.
    ///
    /// Up to 19 digits: a session id (`SESSION OPEN`) is any integer up to 2^63-1.
    private static func parseInteger(_ bytes: UnsafeRawBufferPointer, from start: Int, to end: Int) -> Int64? {
        var index = start
        var isNegative = false
        if index < end, bytes[index] == UInt8(ascii: "-") {
            isNegative = true
            index += 1
        }
        guard index < end, end - index <= 19 else { return nil }
        var value: Int64 = 0
        while index < end {
            let digit = bytes[index] &- UInt8(ascii: "0")
            guard digit <= 9 else { return nil }
            let (shifted, isShiftOverflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, isSumOverflow) = shifted.addingReportingOverflow(Int64(digit))
            guard !isShiftOverflow && !isSumOverflow else { return nil }
            value = sum
            index += 1
        }
        return isNegative ? -value : value
    }
}
