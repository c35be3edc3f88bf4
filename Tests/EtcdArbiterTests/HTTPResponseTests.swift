import Testing

@testable import EtcdArbiter

/// The HTTP response parser, fed every split of its input as a socket may deliver it.
@Suite("HTTP response parsing")
struct HTTPResponseTests {
    /// Parses `text` as it arrives in two reads split at every byte: never complete early, always the same answer.
    func parsedAtEverySplit(_ text: String, isClosedAfter: Bool = false) throws -> HTTPResponse? {
        let bytes = Array(text.utf8)
        for split in 0..<bytes.count {
            #expect(try HTTPResponse.parse(Array(bytes[..<split]), isAtEndOfStream: false) == nil, "complete at \(split)")
        }
        return try HTTPResponse.parse(bytes, isAtEndOfStream: isClosedAfter)
    }

    @Test("a body with Content-Length is complete exactly when its last byte arrives")
    func contentLength() throws {
        let response = try parsedAtEverySplit("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello")
        #expect(response == HTTPResponse(status: 200, body: Array("hello".utf8)))
    }

    @Test("a chunked body is joined, and complete only at its zero-size chunk")
    func chunked() throws {
        let response = try parsedAtEverySplit(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\na;ext=1\r\n0123456789\r\n0\r\n\r\n")
        #expect(response == HTTPResponse(status: 200, body: Array("abc0123456789".utf8)))
    }

    @Test("without length or chunks, the body runs to the end of the stream")
    func untilClose() throws {
        let response = try parsedAtEverySplit("HTTP/1.1 503 Service Unavailable\r\n\r\nno leader", isClosedAfter: true)
        #expect(response == HTTPResponse(status: 503, body: Array("no leader".utf8)))
    }

    @Test("nonsense, a short body and a bad chunk are defects, not answers")
    func defects() {
        #expect(throws: HTTPResponse.Defect.self) {
            try HTTPResponse.parse(Array("SSH-2.0-OpenSSH\r\n\r\n".utf8), isAtEndOfStream: false)
        }
        #expect(throws: HTTPResponse.Defect.self) {
            try HTTPResponse.parse(Array("HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nshort".utf8), isAtEndOfStream: true)
        }
        #expect(throws: HTTPResponse.Defect.self) {
            try HTTPResponse.parse(
                Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n".utf8), isAtEndOfStream: false)
        }
        #expect(throws: HTTPResponse.Defect.self) {
            try HTTPResponse.parse(
                Array("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY".utf8), isAtEndOfStream: false)
        }
        #expect(throws: HTTPResponse.Defect.self) {
            try HTTPResponse.parse([UInt8](repeating: 65, count: HTTPResponse.headerBytesLimit + 1), isAtEndOfStream: false)
        }
    }
}
