import Testing
@testable import KeyValue

@Suite("RESP request parser")
struct RESPParserTests {
    /// Feeds `chunks` one by one, draining after each, and returns every request or the first error.
    static func parse(_ chunks: [[UInt8]], limits: RESPParser.Limits = .init()) -> Result<[[[UInt8]]], RESPError> {
        var parser = RESPParser(limits: limits)
        var requests: [[[UInt8]]] = []
        do {
            for chunk in chunks {
                parser.append(contentsOf: chunk)
                while let request = try parser.next() { requests.append(request) }
            }
        } catch {
            return .failure(error)
        }
        return .success(requests)
    }

    static func requests(_ stream: String) -> [[[UInt8]]]? {
        try? parse([bytes(stream)]).get()
    }

    static func error(_ stream: String, limits: RESPParser.Limits = .init()) -> RESPError? {
        if case .failure(let error) = parse([bytes(stream)], limits: limits) { return error }
        return nil
    }

    /// A pipeline mixing every kind of request: multi-bulk with binary data (CR LF inside a bulk), empty
    /// arguments, skipped empty requests, inline with quotes, and a blank inline line.
    static let pipeline: [UInt8] =
        bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\na\r\nb\r\n")
        + bytes("*0\r\n*-1\r\n")
        + bytes("PING\r\n\r\n")
        + bytes("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n")
        + bytes("set \"sp ace\" 'it\\'s'\n")
        + [UInt8(ascii: "*"), UInt8(ascii: "1"), 13, 10, UInt8(ascii: "$"), UInt8(ascii: "2"), 13, 10, 0, 255, 13, 10]
        + bytes("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")

    static let pipelineRequests: [[[UInt8]]] = [
        [bytes("SET"), bytes("k"), bytes("a\r\nb")],
        [bytes("PING")],
        [bytes("ECHO"), []],
        [bytes("set"), bytes("sp ace"), bytes("it's")],
        [[0, 255]],
        [bytes("GET"), bytes("k")],
    ]

    @Test("a multi-bulk request becomes its argument list")
    func multiBulk() {
        #expect(Self.requests("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n") == [[bytes("GET"), bytes("key")]])
    }

    @Test("pipelined requests come out one by one, in order, for every two-way split of the stream")
    func everySplit() throws {
        for split in 0...Self.pipeline.count {
            let chunks = [Array(Self.pipeline[..<split]), Array(Self.pipeline[split...])]
            #expect(try Self.parse(chunks).get() == Self.pipelineRequests, "split at \(split)")
        }
    }

    @Test("byte-by-byte and seeded random chunkings give the same requests")
    func randomChunkings() throws {
        #expect(try Self.parse(Self.pipeline.map { [$0] }).get() == Self.pipelineRequests)
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < Self.pipeline.count {
                let length = Int(generator.next() % 9)
                let end = min(Self.pipeline.count, index + length)
                chunks.append(Array(Self.pipeline[index..<end]))
                index = end
            }
            #expect(try Self.parse(chunks).get() == Self.pipelineRequests)
        }
    }

    @Test("requests of 1 to 12 arguments parse the same whole, byte by byte and pipelined")
    func argumentCounts() throws {
        // Whole requests of a few arguments take a one-pass path; longer ones, and any request split across reads,
        // take the incremental one. Both must give the same arguments.
        for count in 1...12 {
            let arguments = (0..<count).map { index in [UInt8](repeating: UInt8(ascii: "a") + UInt8(index), count: index) }
            var request = bytes("*\(count)\r\n")
            for argument in arguments { request += bytes("$\(argument.count)\r\n") + argument + [13, 10] }
            #expect(try Self.parse([request]).get() == [arguments], "\(count) arguments, whole")
            #expect(try Self.parse(request.map { [$0] }).get() == [arguments], "\(count) arguments, byte by byte")
            #expect(try Self.parse([request + request]).get() == [arguments, arguments], "\(count) arguments, twice")
        }
    }

    @Test("an incomplete request yields nothing until its last byte arrives")
    func incomplete() throws {
        var parser = RESPParser()
        parser.append(contentsOf: bytes("*2\r\n$3\r\nGET\r\n$3\r\nke"))
        #expect(try parser.next() == nil)
        parser.append(contentsOf: bytes("y\r"))
        #expect(try parser.next() == nil)
        parser.append(contentsOf: bytes("\n"))
        #expect(try parser.next() == [bytes("GET"), bytes("key")])
        #expect(try parser.next() == nil)
    }

    @Test("inline requests split on whitespace and understand Redis's quoting")
    func inline() {
        #expect(Self.requests("SET  k\tv \r\n") == [[bytes("SET"), bytes("k"), bytes("v")]])
        #expect(Self.requests("SET k v\n") == [[bytes("SET"), bytes("k"), bytes("v")]])
        #expect(
            Self.requests("ECHO \"a b\\n\\x41\\\"\" 'c\\'d' \"\"\r\n")
                == [[bytes("ECHO"), bytes("a b\nA\""), bytes("c'd"), []]])
    }

    @Test("an unquoted inline line splits, where it lies, into the words the quoting splitter finds")
    func unquotedInlineAsQuotingSplitter() throws {
        // Every whitespace byte Redis's splitter knows: a vertical tab or form feed separates words only before one.
        let alphabet: [UInt8] = [UInt8(ascii: "a"), UInt8(ascii: "b"), 32, 9, 11, 12, 13]
        var generator = SplitMix64(seed: 7)
        for _ in 0..<2_000 {
            let line = (0..<Int(generator.next() % 12)).map { _ in alphabet[Int(generator.next() % 7)] }
            let words = try #require(line.withUnsafeBufferPointer { RESPParser.splitInline($0, 0..<line.count) })
            let arguments = try line.withUnsafeBufferPointer { bytes throws(RESPError) in
                try RESPParser.inlineArguments(bytes, 0..<line.count, argumentsLimit: 100)
            }
            #expect(Array(arguments) == words, "line \(line)")
        }
    }

    @Test("a request is encoded into the last spare buffer when it has room, and a copy of that buffer is untouched")
    func spareBuffers() throws {
        var parser = RESPParser()
        parser.append(contentsOf: Array(Array(repeating: bytes("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n"), count: 3).joined()))
        var unique = [UInt8](repeating: 7, count: 64)
        let uniqueStorage = unique.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) }
        let shared = [UInt8](repeating: 9, count: 64)
        let heldElsewhere = shared  // as a log entry holds a write's command
        var spareBuffers = [[0, 0], shared, unique]
        unique = []
        let first = try #require(try parser.nextArguments(spareBuffers: &spareBuffers))
        #expect(Array(first) == [bytes("GET"), bytes("key")])
        #expect(first.encoding.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } == uniqueStorage)
        let second = try #require(try parser.nextArguments(spareBuffers: &spareBuffers))
        #expect(Array(second) == [bytes("GET"), bytes("key")])
        #expect(heldElsewhere == [UInt8](repeating: 9, count: 64))
        // The last spare is too short for the next request: it stays, and the request gets an array of its own.
        let third = try #require(try parser.nextArguments(spareBuffers: &spareBuffers))
        #expect(Array(third) == [bytes("GET"), bytes("key")])
        #expect(spareBuffers == [[0, 0]])
    }

    @Test("an inline request with unbalanced quotes is a protocol error")
    func unbalancedQuotes() {
        #expect(Self.error("ECHO \"abc\r\n") == .unbalancedQuotes)
        #expect(Self.error("ECHO 'abc\r\n") == .unbalancedQuotes)
        #expect(Self.error("ECHO \"abc\"def\r\n") == .unbalancedQuotes)
    }

    @Test("empty requests are skipped: *0, *-1 and blank inline lines")
    func emptyRequests() {
        #expect(Self.requests("*0\r\n*-1\r\n\r\n\n   \r\nPING\r\n") == [[bytes("PING")]])
    }

    @Test("a multibulk length that is not an integer is a protocol error")
    func badMultibulkLength() {
        #expect(Self.error("*x\r\n") == .invalidMultibulkLength)
        #expect(Self.error("*1x\r\n") == .invalidMultibulkLength)
        #expect(Self.error("*\r\n") == .invalidMultibulkLength)
        #expect(Self.error("*99999999999\r\n") == .invalidMultibulkLength)
    }

    @Test("a negative, signed, zero-padded or non-numeric bulk length is a protocol error")
    func badBulkLength() {
        for header in ["$-1", "$-5", "$+5", "$05", "$abc", "$", "$1.5"] {
            #expect(Self.error("*1\r\n\(header)\r\n") == .invalidBulkLength, "\(header)")
        }
    }

    @Test("a 1 GiB bulk length is rejected from its header alone, before any data arrives")
    func gigabyteBulkRejected() {
        var parser = RESPParser()
        parser.append(contentsOf: bytes("*1\r\n$1073741824\r\n"))
        #expect(throws: RESPError.bulkTooLarge(declared: 1 << 30, limit: 512 << 20)) { try parser.next() }
        #expect(parser.bufferedByteCount == 0)
        #expect(parser.retainedByteCount == 0)
    }

    @Test("a bulk over a configured limit is rejected while one at the limit is accepted")
    func configuredBulkLimit() throws {
        let limits = RESPParser.Limits(bulkBytesLimit: 4, requestBytesLimit: 8)
        #expect(try Self.parse([bytes("*1\r\n$4\r\nabcd\r\n")], limits: limits).get() == [[bytes("abcd")]])
        #expect(Self.error("*1\r\n$5\r\n", limits: limits) == .bulkTooLarge(declared: 5, limit: 4))
    }

    @Test("arguments adding up past the request limit are a protocol error")
    func requestLimit() {
        let limits = RESPParser.Limits(bulkBytesLimit: 4, requestBytesLimit: 8)
        #expect(Self.error("*3\r\n$4\r\nabcd\r\n$4\r\nabcd\r\n$1\r\n", limits: limits) == .requestTooLarge(limit: 8))
    }

    @Test("more arguments than the limit are a protocol error, multi-bulk or inline")
    func tooManyArguments() {
        let limits = RESPParser.Limits(argumentsLimit: 3)
        #expect(Self.error("*4\r\n", limits: limits) == .tooManyArguments(declared: 4, limit: 3))
        #expect(Self.error("a b c d\r\n", limits: limits) == .tooManyArguments(declared: 4, limit: 3))
        #expect((try? Self.parse([bytes("*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n")], limits: limits).get()) != nil)
    }

    @Test("garbage where a bulk or a CRLF belongs is a protocol error")
    func garbage() {
        #expect(Self.error("*1\r\nfoo\r\n") == .expectedBulkMarker(got: UInt8(ascii: "f")))
        #expect(Self.error("*1\r\n$3\r\nfooXY") == .expectedCRLF)
        #expect(Self.error("*1\rX") == .expectedCRLF)
        #expect(Self.error("*1\r\n$3\rfoo") == .expectedCRLF)
    }

    @Test("a line over the inline limit is rejected whether or not its terminator has arrived")
    func longLines() {
        let limits = RESPParser.Limits(inlineBytesLimit: 16)
        let long = String(repeating: "a", count: 17)
        #expect(Self.error(long, limits: limits) == .inlineRequestTooLong)
        #expect(Self.error(long + "\r\n", limits: limits) == .inlineRequestTooLong)
        #expect(Self.error("*" + String(repeating: "1", count: 16), limits: limits) == .multibulkCountTooLong)
        #expect(Self.error("*1\r\n$" + String(repeating: "1", count: 16), limits: limits) == .bulkCountTooLong)
        #expect(Self.requests(String(repeating: "a", count: 15) + "\r\n") != nil)
    }

    @Test("after a protocol error the parser stays poisoned and ignores further bytes")
    func poisoned() {
        var parser = RESPParser()
        parser.append(contentsOf: bytes("*1\r\n$-3\r\n"))
        #expect(throws: RESPError.invalidBulkLength) { try parser.next() }
        #expect(parser.isPoisoned)
        parser.append(contentsOf: bytes("PING\r\n"))
        #expect(parser.bufferedByteCount == 0)
        #expect(throws: RESPError.invalidBulkLength) { try parser.next() }
    }

    @Test("protocol errors read as Redis words them")
    func descriptions() {
        #expect(text(RESPError.invalidBulkLength.reply) == "-ERR Protocol error: invalid bulk length\r\n")
        #expect(RESPError.invalidMultibulkLength.description == "Protocol error: invalid multibulk length")
        #expect(RESPError.expectedBulkMarker(got: 0x66).description == "Protocol error: expected '$', got 'f'")
        #expect(RESPError.unbalancedQuotes.description == "Protocol error: unbalanced quotes in request")
        #expect(RESPError.inlineRequestTooLong.description == "Protocol error: too big inline request")
    }

    @Test("consumed bytes are compacted away, so a long pipeline does not grow the buffer")
    func compaction() throws {
        var parser = RESPParser()
        let request = bytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        var parsed = 0
        for round in 0..<2_000 {
            // Every append ends mid-request, so the buffer never empties outright.
            let chunk = Array((request + request + request)[(round == 0 ? 0 : 5)...]) + request[..<5]
            parser.append(contentsOf: chunk)
            while try parser.next() != nil { parsed += 1 }
            #expect(parser.retainedByteCount < 4096 + 3 * request.count)
        }
        #expect(parsed == 6_000)
    }

    @Test("whole requests read one at a time leave at most a few kilobytes of consumed bytes behind")
    func wholeRequestsCompacted() throws {
        var parser = RESPParser()
        let request = bytes("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")
        for _ in 0..<2_000 {
            parser.append(contentsOf: request)
            #expect(try parser.next() == [bytes("SET"), bytes("key"), bytes("value")])
            #expect(parser.retainedByteCount < 4096 + request.count)
        }
    }

    @Test("arguments waiting in the buffer for the rest of their request survive compaction")
    func argumentsSurviveCompaction() throws {
        let sent = (0..<500).map { [bytes("SET"), bytes("key\($0)"), bytes(String(repeating: "v", count: $0 % 40))] }
        var stream: [UInt8] = []
        for request in sent {
            stream += bytes("*\(request.count)\r\n")
            for argument in request { stream += bytes("$\(argument.count)\r\n") + argument + bytes("\r\n") }
        }
        // Seven-byte reads end inside headers, inside arguments and between them, past many compactions.
        let chunks = stride(from: 0, to: stream.count, by: 7).map { Array(stream[$0..<min($0 + 7, stream.count)]) }
        #expect(try Self.parse(chunks).get() == sent)
    }
}
