@testable import LockstepClient
import Testing

@Suite("RESP2 reply decoder")
struct RESPReplyDecoderTests {
    /// One reply of every kind, nested arrays and empty and null values included, with its encoding.
    static let samples: [(bytes: String, reply: RESPReply)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
         .error("WRONGTYPE Operation against a key holding the wrong kind of value")),
        (":0\r\n", .integer(0)),
        (":-9223372036854775807\r\n", .integer(-9_223_372_036_854_775_807)),
        ("$5\r\nhello\r\n", .bulkString(Array("hello".utf8))),
        ("$0\r\n\r\n", .bulkString([])),
        ("$4\r\na\r\nb\r\n", .bulkString(Array("a\r\nb".utf8))),
        ("$-1\r\n", .bulkString(nil)),
        ("*-1\r\n", .array(nil)),
        ("*0\r\n", .array([])),
        ("*3\r\n$6\r\nmaster\r\n:12\r\n*1\r\n*3\r\n$9\r\n127.0.0.1\r\n$4\r\n7001\r\n$2\r\n12\r\n",
         .array([.bulkString(Array("master".utf8)), .integer(12), .array([.array([
             .bulkString(Array("127.0.0.1".utf8)), .bulkString(Array("7001".utf8)), .bulkString(Array("12".utf8)),
         ])])])),
        ("*2\r\n*0\r\n$-1\r\n", .array([.array([]), .bulkString(nil)])),
    ]
    static let stream: [UInt8] = Array(samples.map(\.bytes).joined().utf8)
    static let replies: [RESPReply] = samples.map(\.reply)

    static func decode(_ chunks: [[UInt8]], limit: Int = 1 << 20) -> (replies: [RESPReply], error: RESPDecodingError?) {
        var decoder = RESPReplyDecoder(replyBytesLimit: limit)
        var replies: [RESPReply] = []
        do {
            for chunk in chunks {
                decoder.append(chunk)
                while let reply = try decoder.next() { replies.append(reply) }
            }
        } catch {
            return (replies, error)
        }
        return (replies, nil)
    }

    @Test("every kind of reply decodes from one read")
    func wholeStream() {
        let decoded = Self.decode([Self.stream])
        #expect(decoded.error == nil)
        #expect(decoded.replies == Self.replies)
    }

    @Test("the stream decodes the same when split in two at every byte boundary")
    func everySplitPoint() {
        for cut in 0...Self.stream.count {
            let decoded = Self.decode([Array(Self.stream[..<cut]), Array(Self.stream[cut...])])
            #expect(decoded.error == nil, "cut at \(cut)")
            #expect(decoded.replies == Self.replies, "cut at \(cut)")
        }
    }

    @Test("fed one byte at a time, each reply appears exactly when its last byte arrives")
    func oneByteAtATime() throws {
        var ends: [Int] = []
        var end = 0
        for sample in Self.samples {
            end += sample.bytes.utf8.count
            ends.append(end)
        }
        var decoder = RESPReplyDecoder(replyBytesLimit: 1 << 20)
        var decoded: [RESPReply] = []
        for (index, byte) in Self.stream.enumerated() {
            decoder.append([byte])
            if let reply = try decoder.next() {
                #expect(ends.contains(index + 1), "a reply completed at byte \(index + 1), not at a reply's end")
                decoded.append(reply)
            }
        }
        #expect(decoded == Self.replies)
        #expect(decoder.bufferedBytes == 0)
    }

    @Test("random splits of a long stream decode to exactly the replies sent", arguments: [1 as UInt64, 2, 3])
    func randomSplits(seed: UInt64) {
        var generator = SeededGenerator(seed: seed)
        let repeated = (0..<200).flatMap { _ in Self.stream }
        var chunks: [[UInt8]] = []
        var offset = 0
        while offset < repeated.count {
            let size = min(Int.random(in: 1...300, using: &generator), repeated.count - offset)
            chunks.append(Array(repeated[offset..<offset + size]))
            offset += size
        }
        let decoded = Self.decode(chunks)
        #expect(decoded.error == nil, "seed \(seed)")
        #expect(decoded.replies == (0..<200).flatMap { _ in Self.replies }, "seed \(seed)")
    }

    @Test("any single corrupted byte is either a typed error or decodes to other replies, never a crash")
    func corruptEachByte() {
        var typedErrors = 0
        for index in Self.stream.indices {
            var corrupted = Self.stream
            corrupted[index] ^= 0x5A
            let decoded = Self.decode([corrupted])
            if decoded.error != nil { typedErrors += 1 }
            #expect(decoded.error != nil || decoded.replies != Self.replies, "byte \(index) corrupted went unnoticed")
        }
        #expect(typedErrors > Self.stream.count / 2)
    }

    @Test("bytes that are not RESP get the error that names the problem")
    func typedErrors() {
        #expect(Self.decode([Array("!oops\r\n".utf8)]).error == .invalidTypeByte(UInt8(ascii: "!")))
        #expect(Self.decode([Array(":12a\r\n".utf8)]).error == .invalidNumber("12a"))
        #expect(Self.decode([Array(":+5\r\n".utf8)]).error == .invalidNumber("+5"))
        #expect(Self.decode([Array(":99999999999999999999\r\n".utf8)]).error == .invalidNumber("99999999999999999999"))
        #expect(Self.decode([Array("$-2\r\n".utf8)]).error == .invalidNumber("-2"))
        #expect(Self.decode([Array("$3\r\nabcXY".utf8)]).error == .missingCRLF)
    }

    @Test("a reply over the byte limit is refused from its header, before its bytes arrive")
    func replyLimit() {
        #expect(Self.decode([Array("$1000\r\n".utf8)], limit: 100).error == .replyTooLarge(limit: 100))
        #expect(Self.decode([Array("*1000\r\n".utf8)], limit: 100).error == .replyTooLarge(limit: 100))
        let bulks = "*3\r\n" + String(repeating: "$30\r\n" + String(repeating: "x", count: 30) + "\r\n", count: 3)
        #expect(Self.decode([Array(bulks.utf8)], limit: 100).error == .replyTooLarge(limit: 100))
        #expect(Self.decode([Array(bulks.utf8)], limit: 200).replies.count == 1)
    }

    @Test("arrays nested past the limit and lines without an end are refused")
    func nestingAndLineLimits() {
        let deep = String(repeating: "*1\r\n", count: RESPReplyDecoder.nestingLimit + 1) + ":1\r\n"
        #expect(Self.decode([Array(deep.utf8)]).error == .nestingTooDeep(limit: RESPReplyDecoder.nestingLimit))
        let allowed = String(repeating: "*1\r\n", count: RESPReplyDecoder.nestingLimit) + ":1\r\n"
        #expect(Self.decode([Array(allowed.utf8)]).error == nil)
        let endless = [UInt8(ascii: "+")] + [UInt8](repeating: UInt8(ascii: "a"), count: RESPReplyDecoder.lineBytesLimit + 8)
        #expect(Self.decode([endless]).error == .lineTooLong(limit: RESPReplyDecoder.lineBytesLimit))
    }
}

/// SplitMix64, for reproducible random splits.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
