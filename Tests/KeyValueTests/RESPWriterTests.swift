import Testing
@testable import KeyValue

@Suite("RESP reply encoding")
struct RESPWriterTests {
    @Test("each reply kind encodes as Redis sends it")
    func kinds() {
        #expect(text(RESPWriter.simpleString("OK")) == "+OK\r\n")
        #expect(text(RESPWriter.error("ERR syntax error")) == "-ERR syntax error\r\n")
        #expect(text(RESPWriter.integer(0)) == ":0\r\n")
        #expect(text(RESPWriter.integer(-42)) == ":-42\r\n")
        #expect(text(RESPWriter.integer(Int64.min)) == ":-9223372036854775808\r\n")
        #expect(text(RESPWriter.integer(Int64.max)) == ":9223372036854775807\r\n")
        #expect(text(RESPWriter.bulk("hello")) == "$5\r\nhello\r\n")
        #expect(text(RESPWriter.bulk([])) == "$0\r\n\r\n")
        #expect(text(RESPWriter.nullBulk) == "$-1\r\n")
        #expect(text(RESPWriter.nullArray) == "*-1\r\n")
        #expect(text(RESPWriter.array([])) == "*0\r\n")
    }

    @Test("arrays nest, and an element can be any reply")
    func nestedArrays() {
        let reply = RESPWriter.array([
            RESPWriter.bulk("master"), RESPWriter.integer(3),
            RESPWriter.array([RESPWriter.array([RESPWriter.bulk("h"), RESPWriter.nullBulk])]),
        ])
        #expect(text(reply) == "*3\r\n$6\r\nmaster\r\n:3\r\n*1\r\n*2\r\n$1\r\nh\r\n$-1\r\n")
    }

    @Test("a bulk string is binary safe and a line reply cannot break the stream")
    func binaryAndLines() {
        #expect(RESPWriter.bulk([13, 10, 0]) == bytes("$3\r\n") + [13, 10, 0] + bytes("\r\n"))
        #expect(text(RESPWriter.error("ERR a\r\nb")) == "-ERR a  b\r\n")
        #expect(text(RESPWriter.simpleString("x\ny")) == "+x y\r\n")
    }

    @Test("a stored value's bulk reply, written in one pass, is the writer's, at every length boundary")
    func valueBulk() {
        // Lengths where the decimal length gains a digit, and around where the reply stops being written on the stack.
        for length in [0, 1, 9, 10, 99, 100, 999, 1000, ByteArray.stackWrittenLimit - 7, ByteArray.stackWrittenLimit - 6,
            ByteArray.stackWrittenLimit, 10_000]
        {
            let stored = [UInt8](repeating: 0xAB, count: 3) + (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let value = stored.dropFirst(3)  // a slice not at the start of its array, as a shard's value is
            var writer = RESPWriter()
            writer.appendBulk(value)
            #expect(RESPWriter.bulk(value) == writer.bytes, "length \(length)")
            #expect(RESPWriter.bulk(value).starts(with: bytes("$\(length)\r\n")), "length \(length)")
        }
    }

    @Test("the writer appends replies one after another, as a pipeline answers")
    func appending() {
        var writer = RESPWriter()
        writer.appendArrayHeader(count: 2)
        writer.appendBulk("a")
        writer.appendNullBulk()
        writer.appendInteger(7)
        #expect(text(writer.bytes) == "*2\r\n$1\r\na\r\n$-1\r\n:7\r\n")
    }
}
