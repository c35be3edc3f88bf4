@testable import Runtime
import Testing

/// The metrics port's HTTP rules, without sockets: what a request head parses to, where it is refused, and which
/// answer each request gets.
@Suite struct MetricsRequestTests {
    static let limit = RuntimeConfiguration.metricsRequestHeadBytesLimit
    static let scrape = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9100\r\nAccept: text/plain\r\n\r\n"

    static func parse(_ text: String, limit: Int = limit) throws(MetricsRequestError) -> MetricsRequest? {
        try MetricsRequest.parse(Array(text.utf8), headBytesLimit: limit)
    }

    static func failure(_ text: String, limit: Int = limit) -> MetricsRequestError? {
        do {
            _ = try parse(text, limit: limit)
            return nil
        } catch {
            return error
        }
    }

    /// The status code of a response: the second word of its first line.
    static func statusCode(_ response: MetricsResponse) -> Int? {
        let line = String(decoding: response.bytes.prefix { $0 != 13 }, as: UTF8.self)
        return line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
    }

    static func headers(_ response: MetricsResponse) -> [String] {
        let text = String(decoding: response.bytes, as: UTF8.self)
        let head = text.firstRange(of: "\r\n\r\n").map { text[..<$0.lowerBound] } ?? text[...]
        return head.split(separator: "\r\n").dropFirst().map(String.init)
    }

    static func answer(_ text: String, password: String? = nil) -> MetricsResponse {
        let parsed: Result<MetricsRequest, MetricsRequestError>
        do {
            guard let request = try parse(text) else { preconditionFailure("an incomplete request in a test") }
            parsed = .success(request)
        } catch {
            parsed = .failure(error)
        }
        return MetricsResponse.answer(parsed, password: password.flatMap { MetricsPassword(Array($0.utf8)) }) {
            "lockstep_epoch 1\n"
        }
    }

    @Test("a scrape's head parses to its method and path, arriving whole or a byte at a time")
    func scrapeParses() throws {
        let expected = MetricsRequest(method: "GET", path: "/metrics", authorization: nil)
        #expect(try Self.parse(Self.scrape) == expected)
        let bytes = Array(Self.scrape.utf8)
        for end in 0..<bytes.count {
            #expect(try MetricsRequest.parse(Array(bytes[..<end]), headBytesLimit: Self.limit) == nil, "at \(end)")
        }
        // Bare line feeds, as RFC 9112 lets a recipient accept, and a query Prometheus may add.
        #expect(try Self.parse("GET /metrics?module=x HTTP/1.0\nHost: h\n\n") == expected)
        #expect(try Self.parse("GET /metrics HTTP/1.1\r\nAuthorization:  Bearer s3cret \r\n\r\n")?.authorization
            == "Bearer s3cret")
    }

    @Test("a head beyond the limit is refused whether or not it has ended, and one at the limit is not")
    func headLimit() throws {
        let filler = "X-Filler: " + String(repeating: "a", count: 200) + "\r\n"
        var endless = "GET /metrics HTTP/1.1\r\n"
        while endless.utf8.count <= 1_000 { endless += filler }
        #expect(Self.failure(endless, limit: 1_000) == .headTooLarge(limit: 1_000))
        #expect(Self.failure(endless + "\r\n", limit: 1_000) == .headTooLarge(limit: 1_000))
        let exact = "GET /metrics HTTP/1.1\r\n\r\n"
        #expect(try Self.parse(exact, limit: exact.utf8.count) != nil)
        #expect(Self.failure(exact, limit: exact.utf8.count - 1) == .headTooLarge(limit: exact.utf8.count - 1))
    }

    @Test("requests with a body, another HTTP version or a broken head get their own typed error")
    func refusals() {
        #expect(Self.failure("GET /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello") == .bodyNotAccepted)
        #expect(Self.failure("POST /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n") == .bodyNotAccepted)
        #expect((try? Self.parse("GET /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n")) != nil)
        #expect(Self.failure("GET /metrics HTTP/2.0\r\n\r\n") == .versionNotSupported("HTTP/2.0"))
        let malformed = [
            "\u{16}\u{03}\u{01}\u{02}\u{00}\r\n\r\n",  // a TLS hello's first bytes
            "GET /metrics\r\n\r\n",
            "GET  /metrics HTTP/1.1\r\n\r\n",
            "GET metrics HTTP/1.1\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHost a\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nHo st: a\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n",
            "GET /metrics SMTP\r\n\r\n",
        ]
        for text in malformed {
            guard case .malformed = Self.failure(text) else {
                Issue.record("not refused as malformed: \(text.debugDescription) (\(String(describing: Self.failure(text))))")
                continue
            }
        }
    }

    @Test("each request gets its status: 200 for GET /metrics, 404, 405, 400, 413, 431, 505")
    func statuses() {
        let ok = Self.answer(Self.scrape)
        #expect(Self.statusCode(ok) == 200)
        #expect(ok.refusal == nil)
        #expect(Self.headers(ok).contains("Content-Type: text/plain; version=0.0.4; charset=utf-8"))
        #expect(Self.headers(ok).contains("Content-Length: 17"))
        #expect(String(decoding: ok.bytes, as: UTF8.self).hasSuffix("\r\n\r\nlockstep_epoch 1\n"))
        let head = Self.answer("HEAD /metrics HTTP/1.1\r\n\r\n")
        #expect(Self.statusCode(head) == 200)
        #expect(String(decoding: head.bytes, as: UTF8.self).hasSuffix("Content-Length: 17\r\nConnection: close\r\n\r\n"))
        #expect(Self.statusCode(Self.answer("GET / HTTP/1.1\r\n\r\n")) == 404)
        #expect(Self.statusCode(Self.answer("GET /metricsx HTTP/1.1\r\n\r\n")) == 404)
        let post = Self.answer("DELETE /metrics HTTP/1.1\r\n\r\n")
        #expect(Self.statusCode(post) == 405)
        #expect(Self.headers(post).contains("Allow: GET, HEAD"))
        #expect(Self.statusCode(Self.answer("GET /metrics HTTP/1.1\r\nBad\r\n\r\n")) == 400)
        #expect(Self.statusCode(Self.answer("GET /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\n")) == 413)
        #expect(Self.statusCode(Self.answer("GET /metrics HTTP/3\r\n\r\n")) == 505)
        #expect(Self.statusCode(MetricsResponse.refusal(.headTooLarge(limit: 8))) == 431)
        #expect(Self.statusCode(MetricsResponse.refusal(.tooManyConnections(limit: 1))) == 503)
        for response in [ok, post] { #expect(Self.headers(response).contains("Connection: close")) }
    }

    @Test("with a password: 401 with both challenges unless Bearer or Basic (any user) carries it")
    func authentication() {
        let password = "pa:ss word"
        let unauthorized = [
            Self.scrape,
            "GET /metrics HTTP/1.1\r\nAuthorization: Bearer pa:ss\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Bearer pa:ss wordX\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(Self.base64("prom:wrong"))\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(Self.base64(password))\r\n\r\n",  // user "pa", so "ss word"
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic !!!!\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Digest \(password)\r\n\r\n",
            // Credentials come first: without them not even a wrong path or method is told apart.
            "GET /nothing HTTP/1.1\r\n\r\n",
            "PUT /metrics HTTP/1.1\r\n\r\n",
        ]
        for request in unauthorized {
            let response = Self.answer(request, password: password)
            #expect(Self.statusCode(response) == 401, "\(request.debugDescription)")
            #expect(response.refusal == .unauthorized)
            #expect(Self.headers(response).contains("WWW-Authenticate: Basic realm=\"lockstep\", charset=\"UTF-8\""))
            #expect(Self.headers(response).contains("WWW-Authenticate: Bearer realm=\"lockstep\""))
        }
        let authorized = [
            "GET /metrics HTTP/1.1\r\nAuthorization: Bearer \(password)\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nauthorization: bearer \(password)\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(Self.base64("prometheus:" + password))\r\n\r\n",
            "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(Self.base64(":" + password))\r\n\r\n",
        ]
        for request in authorized {
            #expect(Self.statusCode(Self.answer(request, password: password)) == 200, "\(request.debugDescription)")
        }
        #expect(Self.statusCode(Self.answer("GET /x HTTP/1.1\r\nAuthorization: Bearer \(password)\r\n\r\n",
                                            password: password)) == 404)
    }

    @Test("base64 decodes RFC 4648's vectors and refuses what is not canonical padded base64")
    func base64() {
        let vectors = ["": "", "Zg==": "f", "Zm8=": "fo", "Zm9v": "foo", "Zm9vYg==": "foob", "Zm9vYmE=": "fooba",
                       "Zm9vYmFy": "foobar", "Pz8/Pw==": "????", "+/+/": "\u{fb}\u{ff}\u{bf}"]
        for (encoded, decoded) in vectors {
            let expected = encoded == "+/+/" ? [0xFB, 0xFF, 0xBF] : Array(decoded.utf8)
            #expect(Base64.decode(Array(encoded.utf8)) == expected, "\(encoded)")
        }
        for invalid in ["Zg", "Zg=", "Z===", "Zm9v\nYg==", "Zg==Zg==", "Zm=v", "Zm9*"] {
            #expect(Base64.decode(Array(invalid.utf8)) == nil, "\(invalid.debugDescription)")
        }
    }

    /// Standard padded base64, written out here so the decoder is checked against an independent encoder.
    static func base64(_ text: String) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        let bytes = Array(text.utf8)
        var encoded = ""
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let group = bytes[start..<min(start + 3, bytes.count)]
            var value = 0
            for (offset, byte) in group.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for index in 0..<4 {
                encoded.append(index <= group.count ? alphabet[(value >> (18 - 6 * index)) & 63] : "=")
            }
        }
        return encoded
    }
}
