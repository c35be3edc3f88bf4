/// One HTTP/1.x request head on the metrics port, parsed from the bytes a connection has sent so far.
///
/// The port answers one request per connection, and only `GET /metrics` (and `HEAD`), so the parser keeps what
/// that needs: the method, the path, and the `Authorization` header. It is strict where leniency could make two
/// readers disagree about where a request ends (a body, a folded header line, a space before a colon) and refuses
/// those with a typed error; it accepts a bare LF for CRLF, as RFC 9112 lets a recipient do.
struct MetricsRequest: Equatable, Sendable {
    /// The request method as sent, e.g. `GET`.
    var method: String
    /// The request target's path, without its query (Prometheus may add `?` parameters from its scrape config).
    var path: String
    /// The `Authorization` header's value, if sent.
    var authorization: String?

    /// Header lines accepted in one head; with `requestHeadBytesLimit`, bounds the parse's work.
    static let headerLinesLimit = 100

    /// The request in `bytes` if its head is complete, nil if more bytes may complete it.
    ///
    /// Throws once it is certain the request cannot be served: malformed, a head beyond `headBytesLimit` (whether
    /// complete or not), a body announced, or an HTTP version other than 1.0 and 1.1.
    static func parse(_ bytes: [UInt8], headBytesLimit: Int) throws(MetricsRequestError) -> MetricsRequest? {
        guard let headEnd = endOfHead(in: bytes) else {
            if bytes.count > headBytesLimit { throw .headTooLarge(limit: headBytesLimit) }
            return nil
        }
        guard headEnd <= headBytesLimit else { throw .headTooLarge(limit: headBytesLimit) }
        var lines = splitLines(bytes[..<headEnd])
        guard !lines.isEmpty else { throw .malformed("an empty request") }
        var request = try requestLine(lines.removeFirst())
        guard lines.count <= headerLinesLimit else { throw .malformed("more than \(headerLinesLimit) header lines") }
        for line in lines {
            let (name, value) = try header(line)
            switch name {
            case "authorization":
                guard request.authorization == nil else { throw .malformed("two Authorization headers") }
                request.authorization = value
            case "content-length":
                guard let length = Int(value), length >= 0 else { throw .malformed("a Content-Length that is no number") }
                if length > 0 { throw .bodyNotAccepted }
            case "transfer-encoding":
                throw .bodyNotAccepted
            default:
                continue
            }
        }
        return request
    }

    /// The index just past the blank line ending the head, if it has arrived.
    private static func endOfHead(in bytes: [UInt8]) -> Int? {
        var index = 0
        while index < bytes.count {
            if bytes[index] == newline {
                // "\n\n" or "\n\r\n" ends the head.
                if index + 1 < bytes.count, bytes[index + 1] == newline { return index + 2 }
                if index + 2 < bytes.count, bytes[index + 1] == carriageReturn, bytes[index + 2] == newline {
                    return index + 3
                }
            }
            index += 1
        }
        return nil
    }

    /// The head's lines, without their CRLF or LF; the final blank line is left out.
    private static func splitLines(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var start = head.startIndex
        for index in head.indices where head[index] == newline {
            var line = head[start..<index]
            if line.last == carriageReturn { line = line.dropLast() }
            lines.append(line)
            start = index + 1
        }
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    /// `METHOD SP target SP HTTP/1.x`.
    private static func requestLine(_ line: ArraySlice<UInt8>) throws(MetricsRequestError) -> MetricsRequest {
        let parts = line.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, parts[0].allSatisfy(isTokenCharacter) else {
            throw .malformed("the request line is not METHOD TARGET VERSION")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            guard version.hasPrefix("HTTP/"), version.count <= 16 else {
                throw .malformed("the request line ends in no HTTP version")
            }
            throw .versionNotSupported(version)
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/"), target.allSatisfy({ $0 > space && $0 < 0x7F }) else {
            throw .malformed("the request target is not an absolute path")
        }
        let path = target.prefix { $0 != UInt8(ascii: "?") }
        return MetricsRequest(
            method: String(decoding: parts[0], as: UTF8.self), path: String(decoding: path, as: UTF8.self),
            authorization: nil)
    }

    /// `name: value`, the name lowercased and the value without surrounding blanks.
    private static func header(_ line: ArraySlice<UInt8>) throws(MetricsRequestError) -> (String, String) {
        guard let first = line.first, first != space, first != tab else {
            throw .malformed("a folded or blank header line")
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .malformed("a header line without a colon") }
        let name = line[..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenCharacter) else { throw .malformed("a header name that is no token") }
        var value = line[(colon + 1)...]
        while let byte = value.first, byte == space || byte == tab { value = value.dropFirst() }
        while let byte = value.last, byte == space || byte == tab { value = value.dropLast() }
        guard value.allSatisfy({ $0 == tab || ($0 >= space && $0 != 0x7F) }) else {
            throw .malformed("a header value with control characters")
        }
        return (String(decoding: name, as: UTF8.self).lowercased(), String(decoding: value, as: UTF8.self))
    }

    /// RFC 9110's `tchar`: what a method or a header name may be made of.
    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }

    private static var newline: UInt8 { UInt8(ascii: "\n") }
    private static var carriageReturn: UInt8 { UInt8(ascii: "\r") }
    private static var space: UInt8 { UInt8(ascii: " ") }
    private static var tab: UInt8 { UInt8(ascii: "\t") }
}

/// Why a metrics request cannot be served; each maps to one HTTP status (`MetricsRefusal`).
enum MetricsRequestError: Error, Equatable, Sendable {
    /// Not an HTTP/1.x request head: answered 400.
    case malformed(String)
    /// The head is longer than `RuntimeConfiguration.metricsRequestHeadBytesLimit`: answered 431.
    case headTooLarge(limit: Int)
    /// The request announces a body; metrics requests have none: answered 413.
    case bodyNotAccepted
    /// An HTTP version other than 1.0 and 1.1: answered 505.
    case versionNotSupported(String)
}
