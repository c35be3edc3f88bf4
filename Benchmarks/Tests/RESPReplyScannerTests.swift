import Testing

@testable import BenchmarkKit

private func scan(_ text: String) -> RESPReplyScanner.Scan { RESPReplyScanner.scan(Array(text.utf8)) }

@Suite("RESP reply scanning")
struct RESPReplyScannerTests {
    @Test("simple, error, integer, bulk, null and array replies are measured whole")
    func completeReplies() {
        #expect(scan("+OK\r\n") == .complete(.init(length: 5, isError: false, integer: nil)))
        #expect(scan("-ERR wrong\r\n") == .complete(.init(length: 12, isError: true, integer: nil)))
        #expect(scan(":1\r\n") == .complete(.init(length: 4, isError: false, integer: 1)))
        #expect(scan(":-12\r\n") == .complete(.init(length: 6, isError: false, integer: -12)))
        #expect(
            scan(":9223372036854775807\r\n") == .complete(.init(length: 22, isError: false, integer: Int64.max)))
        #expect(scan(":9223372036854775808\r\n") == .malformed)
        #expect(scan("$3\r\nabc\r\n") == .complete(.init(length: 9, isError: false, integer: nil)))
        #expect(scan("$-1\r\n") == .complete(.init(length: 5, isError: false, integer: nil)))
        #expect(scan("$0\r\n\r\n") == .complete(.init(length: 6, isError: false, integer: nil)))
        #expect(scan("*2\r\n$1\r\na\r\n:5\r\n") == .complete(.init(length: 15, isError: false, integer: nil)))
        #expect(scan("*-1\r\n") == .complete(.init(length: 5, isError: false, integer: nil)))
    }

    @Test("only the first reply is measured when several are buffered")
    func firstOfSeveral() {
        #expect(scan("+OK\r\n:0\r\n") == .complete(.init(length: 5, isError: false, integer: nil)))
    }

    @Test("every strict prefix of a reply is incomplete")
    func everyPrefixIsIncomplete() {
        for reply in ["+OK\r\n", "-ERR x\r\n", ":42\r\n", "$5\r\nhello\r\n", "*2\r\n$1\r\na\r\n*1\r\n:1\r\n"] {
            let bytes = Array(reply.utf8)
            for length in 0..<bytes.count {
                #expect(RESPReplyScanner.scan(Array(bytes.prefix(length))) == .incomplete, "\(reply) cut at \(length)")
            }
        }
    }

    @Test("bytes that are not RESP2 are malformed")
    func malformed() {
        #expect(scan("HTTP/1.1 200 OK\r\n") == .malformed)
        #expect(scan(":12a\r\n") == .malformed)
        #expect(scan("$3\r\nabcd\r\n") == .malformed)
        #expect(scan("$-2\r\n") == .malformed)
        #expect(scan(String(repeating: "*1\r\n", count: 20) + ":1\r\n") == .malformed)
    }

    @Test("the scan can start in the middle of a buffer")
    func scanFromOffset() {
        let bytes = Array("+OK\r\n:7\r\n".utf8)
        let result = bytes.withUnsafeBytes { RESPReplyScanner.scan($0, from: 5) }
        #expect(result == .complete(.init(length: 4, isError: false, integer: 7)))
    }
}
