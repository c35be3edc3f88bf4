/// An HTTP/1.1 response read from a connection, parsed as far as the arbiter needs: status and body.
///
/// Parsing is incremental (`parse` says `nil` until the bytes so far hold a whole response) and strict where
/// strictness costs nothing: a status line that is not `HTTP/1.x NNN`, a malformed chunk or a body that ends
/// early is a defect, never a guess. Bodies come with `Content-Length`, chunked (etcd's gateway chunks any body
/// larger than Go's write buffer), or until the server closes, which `Connection: close` allows.
struct HTTPResponse: Equatable {
    /// Bytes of status line and headers accepted; etcd's are a few hundred, so more is not etcd.
    static let headerBytesLimit = 16 << 10

    /// Why bytes from an endpoint are not a usable HTTP response.
    struct Defect: Error, Equatable {
        var reason: String
    }

    /// The status code, e.g. 200.
    var status: Int
    /// The body, de-chunked.
    var body: [UInt8]

    /// The response in `bytes`, or `nil` if more must be read; `isAtEndOfStream` says no more will come.
    static func parse(_ bytes: [UInt8], isAtEndOfStream: Bool) throws(Defect) -> HTTPResponse? {
        guard let headerEnd = find([13, 10, 13, 10], in: bytes, from: 0) else {
            if bytes.count > headerBytesLimit { throw Defect(reason: "no end of headers in \(headerBytesLimit) bytes") }
            if isAtEndOfStream { throw Defect(reason: "connection closed after \(bytes.count) bytes, inside the headers") }
            return nil
        }
        guard headerEnd <= headerBytesLimit else { throw Defect(reason: "headers longer than \(headerBytesLimit) bytes") }
        let lines = bytes[..<headerEnd].split(separator: 10, omittingEmptySubsequences: false).map {
            String(decoding: $0.last == 13 ? $0.dropLast() : $0, as: UTF8.self)
        }
        let status = try statusCode(lines[0])
        var contentLength: Int?
        var isChunked = false
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { throw Defect(reason: "header line without a colon") }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingSpaces()
            if name == "content-length" {
                guard let length = Int(value), length >= 0 else { throw Defect(reason: "bad Content-Length \(value)") }
                contentLength = length
            } else if name == "transfer-encoding" {
                isChunked = value.lowercased().hasSuffix("chunked")
            }
        }
        let bodyStart = headerEnd + 4
        if isChunked {
            return try dechunked(bytes, from: bodyStart, isAtEndOfStream: isAtEndOfStream).map {
                HTTPResponse(status: status, body: $0)
            }
        }
        if let contentLength {
            if bytes.count - bodyStart >= contentLength {
                return HTTPResponse(status: status, body: Array(bytes[bodyStart..<(bodyStart + contentLength)]))
            }
            if isAtEndOfStream {
                throw Defect(reason: "body ended after \(bytes.count - bodyStart) of \(contentLength) bytes")
            }
            return nil
        }
        // Neither length nor chunks: the body runs until the server closes.
        return isAtEndOfStream ? HTTPResponse(status: status, body: Array(bytes[bodyStart...])) : nil
    }

    /// `HTTP/1.1 200 OK` → 200.
    private static func statusCode(_ line: String) throws(Defect) -> Int {
        let parts = line.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0] == "HTTP/1.1" || parts[0] == "HTTP/1.0", parts[1].count == 3,
            let code = Int(parts[1]), code >= 100
        else { throw Defect(reason: "not an HTTP status line: \"\(line.prefix(80))\"") }
        return code
    }

    /// The body of a chunked response starting at `start`, or `nil` if its last chunk has not arrived.
    private static func dechunked(_ bytes: [UInt8], from start: Int, isAtEndOfStream: Bool) throws(Defect) -> [UInt8]? {
        var body: [UInt8] = []
        var position = start
        while true {
            guard let lineEnd = find([13, 10], in: bytes, from: position) else { break }
            let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
            let hex = sizeText.prefix { $0 != ";" }.trimmingSpaces()
            guard !hex.isEmpty, hex.count <= 8, let size = Int(hex, radix: 16) else {
                throw Defect(reason: "bad chunk size \"\(sizeText.prefix(20))\"")
            }
            if size == 0 {
                // The last chunk; trailer lines (ignored) run to an empty line, which ends the response.
                var trailerStart = lineEnd + 2
                while let trailerEnd = find([13, 10], in: bytes, from: trailerStart) {
                    if trailerEnd == trailerStart { return body }
                    trailerStart = trailerEnd + 2
                }
                break
            }
            let dataStart = lineEnd + 2
            guard bytes.count >= dataStart + size + 2 else { break }
            guard bytes[dataStart + size] == 13, bytes[dataStart + size + 1] == 10 else {
                throw Defect(reason: "chunk of \(size) bytes not followed by CRLF")
            }
            body += bytes[dataStart..<(dataStart + size)]
            position = dataStart + size + 2
        }
        if isAtEndOfStream { throw Defect(reason: "connection closed inside a chunked body") }
        return nil
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count, start <= bytes.count - needle.count else { return nil }
        for index in start...(bytes.count - needle.count) where bytes[index] == needle[0] {
            if bytes[index..<(index + needle.count)].elementsEqual(needle) { return index }
        }
        return nil
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace).
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
