/// An incremental parser of RESP2 client requests: multi-bulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and inline
/// (`GET k\r\n`, what `telnet` and `redis-cli` in a pipe send).
///
/// The event loop appends whatever `read()` returned, then calls `next()` until it returns nil; requests come
/// out one at a time, in order, however the bytes were split across reads. The first protocol error poisons
/// the parser: every later `next()` throws it again, because nothing after broken framing can be trusted
/// and the connection is closed (as Redis does).
///
/// Requests come out in `KeyValueCommand`'s encoding, so the frontend logs a data command as parsed. A multi-bulk
/// request's arguments stay in the buffer until the request is complete, and are then copied once, into that
/// encoding, rather than into an array each.
///
/// Memory is bounded: the parser holds the unread part of what it was given plus at most one incomplete
/// request, whose size `Limits` caps; a bulk length over the limit is rejected from its header alone, so
/// `$1073741824` never allocates anything. Consumed bytes are dropped by advancing `readIndex` and
/// compacting the buffer once the consumed prefix is at least half of it (amortised O(1) per byte).
public struct RESPParser: Sendable {
    /// The bounds on one request; a request over any of them is a protocol error.
    public struct Limits: Sendable, Equatable {
        /// Arguments in one request; Redis allows 1024 * 1024 before authentication.
        public var argumentsLimit: Int
        /// Bytes in one argument; Redis's `proto-max-bulk-len` default is 512 MiB.
        public var bulkBytesLimit: Int
        /// Bytes in one inline request line or one `*`/`$` header line; Redis's `PROTO_INLINE_MAX_SIZE`.
        public var inlineBytesLimit: Int
        /// Bytes of arguments in one request; Redis's `client-query-buffer-limit` default is 1 GiB.
        public var requestBytesLimit: Int

        /// Limits with Redis's defaults, unless given; the node uses `KeyValueClientProtocol.defaultParserLimits`.
        public init(
            argumentsLimit: Int = 1024 * 1024, bulkBytesLimit: Int = 512 << 20, inlineBytesLimit: Int = 64 << 10,
            requestBytesLimit: Int = 1 << 30
        ) {
            self.argumentsLimit = argumentsLimit
            self.bulkBytesLimit = bulkBytesLimit
            self.inlineBytesLimit = inlineBytesLimit
            self.requestBytesLimit = requestBytesLimit
        }
    }

    /// The bounds every request is held to.
    public let limits: Limits

    private var buffer: [UInt8] = []
    /// Where the unparsed bytes start; everything before it has been consumed.
    private var readIndex = 0
    /// Where the search for the current line's terminator resumes, so a line arriving byte by byte is
    /// scanned once, not once per byte; 0 means "from `readIndex`".
    private var scanIndex = 0
    /// The first protocol error; once set, the parser only rethrows it.
    private var failure: RESPError?

    // The multi-bulk request in progress, kept across calls so a long request is parsed once.
    /// Arguments still to come in the current multi-bulk request; 0 between requests.
    private var remainingArguments = 0
    /// Where the current request's arguments read so far sit in `buffer`.
    private var argumentRanges: [Range<Int>] = []
    /// Where the current request's first argument starts in `buffer`; compaction keeps everything from here.
    private var requestStart = 0
    /// The length announced by the current `$` header, or -1 while that header has not been read.
    private var pendingBulkLength = -1
    private var requestBytes = 0

    /// Where `parseWholeRequest` keeps the arguments it found: on the stack, so it allocates nothing but the request.
    private typealias WholeRequestRanges = InlineArray<8, Range<Int>>
    /// The most arguments `parseWholeRequest` reads; longer requests take the incremental path.
    private static var wholeRequestArgumentsLimit: Int { WholeRequestRanges.count }
    /// The most digits it reads in one header: more than any length the limits allow.
    private static let wholeRequestDigitsLimit = 10
    /// Consumed bytes are dropped only beyond this many, so small pipelines do not move memory every call.
    private static let compactionThresholdBytes = 4096
    /// An emptied buffer keeps its capacity up to this size; a larger one (after a big bulk) is released.
    private static let retainedCapacityBytesLimit = 1 << 20
    /// Argument places reserved up front for a multi-bulk request, so the header alone never decides an
    /// allocation; also the most kept between requests, so one huge request does not pin its memory.
    private static let reservedArgumentsLimit = 1024

    /// An empty parser holding requests to `limits`; a request must be allowed one argument, and one argument must
    /// fit a request.
    public init(limits: Limits = Limits()) {
        precondition(limits.argumentsLimit > 0, "a request must be allowed at least one argument")
        precondition(limits.bulkBytesLimit >= 0 && limits.inlineBytesLimit > 0, "limits cannot be negative")
        precondition(limits.bulkBytesLimit <= limits.requestBytesLimit, "an argument could never fit a request")
        self.limits = limits
    }

    /// Bytes appended and not yet consumed; the runtime may stop reading a connection while this is large.
    public var bufferedByteCount: Int { buffer.count - readIndex }

    /// Bytes held for requests not yet returned: the unparsed bytes and the incomplete request's arguments parsed so
    /// far, which stay in the buffer until the request is whole. Redis's query buffer.
    public var queryBufferByteCount: Int { buffer.count - (remainingArguments > 0 ? requestStart : readIndex) }

    /// Bytes held, consumed or not: what compaction keeps bounded (for tests).
    var retainedByteCount: Int { buffer.count }

    /// Whether a protocol error has been seen; the connection should be closed.
    public var isPoisoned: Bool { failure != nil }

    /// Adds bytes read from the connection. Ignored once poisoned.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the connection. Ignored once poisoned.
    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete request as its arguments (the command name first), or nil until more bytes arrive.
    ///
    /// Empty requests (a blank inline line, `*0`, `*-1`) are skipped, as Redis does, so a returned request
    /// always has at least one argument.
    public mutating func next() throws(RESPError) -> [[UInt8]]? {
        try nextArguments().map(Array.init)
    }

    /// The next complete request, as `next()` but in its `KeyValueCommand` encoding, which may take a spare buffer
    /// (`CommandArguments.init(encoding:of:at:spareBuffers:)`).
    mutating func nextArguments() throws(RESPError) -> CommandArguments? {
        var spareBuffers: [[UInt8]] = []
        return try nextArguments(spareBuffers: &spareBuffers)
    }

    mutating func nextArguments(spareBuffers: inout [[UInt8]]) throws(RESPError) -> CommandArguments? {
        if let failure { throw failure }
        do {
            return try parseNext(spareBuffers: &spareBuffers)
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            remainingArguments = 0
            argumentRanges = []
            throw error
        }
    }

    private mutating func parseNext(spareBuffers: inout [[UInt8]]) throws(RESPError) -> CommandArguments? {
        while true {
            if remainingArguments == 0 {
                guard readIndex < buffer.count else { return nil }
                if buffer[readIndex] != UInt8(ascii: "*") {
                    guard let arguments = try parseInline() else { return nil }
                    if arguments.isEmpty { continue }
                    return arguments
                }
                if let request = parseWholeRequest(spareBuffers: &spareBuffers) { return request }
                guard let count = try parseHeader(tooLong: .multibulkCountTooLong) else { return nil }
                guard let count, count <= Int64(Int32.max) else { throw .invalidMultibulkLength }
                if count <= 0 { continue }
                guard count <= Int64(limits.argumentsLimit) else {
                    throw .tooManyArguments(declared: Int(count), limit: limits.argumentsLimit)
                }
                remainingArguments = Int(count)
                requestBytes = 0
                requestStart = readIndex
                argumentRanges.reserveCapacity(min(remainingArguments, Self.reservedArgumentsLimit))
            }
            while remainingArguments > 0 {
                if pendingBulkLength < 0 {
                    guard readIndex < buffer.count else { return nil }
                    let marker = buffer[readIndex]
                    guard marker == UInt8(ascii: "$") else { throw .expectedBulkMarker(got: marker) }
                    guard let length = try parseHeader(tooLong: .bulkCountTooLong) else { return nil }
                    guard let length, length >= 0 else { throw .invalidBulkLength }
                    guard length <= Int64(limits.bulkBytesLimit) else {
                        throw .bulkTooLarge(declared: length, limit: limits.bulkBytesLimit)
                    }
                    requestBytes += Int(length)
                    guard requestBytes <= limits.requestBytesLimit else {
                        throw .requestTooLarge(limit: limits.requestBytesLimit)
                    }
                    pendingBulkLength = Int(length)
                }
                let end = readIndex + pendingBulkLength
                guard buffer.count - end >= 2 else { return nil }
                guard buffer[end] == 13, buffer[end + 1] == 10 else { throw .expectedCRLF }
                argumentRanges.append(readIndex..<end)
                readIndex = end + 2
                pendingBulkLength = -1
                remainingArguments -= 1
            }
            let request = CommandArguments(encodingRanges: argumentRanges, of: buffer)
            argumentRanges.removeAll(keepingCapacity: argumentRanges.capacity <= Self.reservedArgumentsLimit)
            return request
        }
    }

    /// Most requests arrive whole: a few arguments, the entire request already in the buffer. This reads one in a
    /// single pass over the bytes, without the state the incremental path keeps between reads, whose cost would
    /// otherwise be paid on every SET (measured in Benchmarks/README.md). Anything else (an incomplete request, more
    /// than `wholeRequestArgumentsLimit` arguments, a number written unusually, a limit reached) returns nil having
    /// changed nothing, and the incremental path reads the request and reports any error.
    ///
    /// Bounded: it looks at `wholeRequestArgumentsLimit` headers of at most `wholeRequestDigitsLimit` digits each,
    /// never at the arguments' bytes, so trying it again after every read of a request split across reads is cheap.
    private mutating func parseWholeRequest(spareBuffers: inout [[UInt8]]) -> CommandArguments? {
        let limits = limits
        let start = readIndex
        let parsed: (end: Int, request: CommandArguments)? = buffer.withUnsafeBufferPointer { bytes in
            var index = start
            /// `marker`, a number (no sign, no leading zero) and CRLF at `index`, which moves past them.
            func header(_ marker: UInt8) -> Int? {
                guard index < bytes.count, bytes[index] == marker else { return nil }
                let first = index + 1
                let digitsEnd = min(bytes.count, first + Self.wholeRequestDigitsLimit)
                var end = first
                var value = 0
                while end < digitsEnd, bytes[end] >= UInt8(ascii: "0"), bytes[end] <= UInt8(ascii: "9") {
                    value = value * 10 + Int(bytes[end] - UInt8(ascii: "0"))
                    end += 1
                }
                guard end > first, end - first == 1 || bytes[first] != UInt8(ascii: "0") else { return nil }
                guard end + 1 < bytes.count, bytes[end] == 13, bytes[end + 1] == 10 else { return nil }
                index = end + 2
                return value
            }
            guard let count = header(UInt8(ascii: "*")), count > 0, count <= Self.wholeRequestArgumentsLimit,
                count <= limits.argumentsLimit
            else { return nil }
            var ranges = WholeRequestRanges(repeating: 0..<0)
            var requestBytes = 0
            for position in 0..<count {
                guard let length = header(UInt8(ascii: "$")), length <= limits.bulkBytesLimit else { return nil }
                requestBytes += length
                guard requestBytes <= limits.requestBytesLimit, bytes.count - index >= length + 2,
                    bytes[index + length] == 13, bytes[index + length + 1] == 10
                else { return nil }
                ranges[position] = index..<(index + length)
                index += length + 2
            }
            return (
                index,
                CommandArguments(encoding: count, of: bytes, at: { ranges[$0] }, spareBuffers: &spareBuffers)
            )
        }
        guard let parsed else { return nil }
        readIndex = parsed.end
        scanIndex = 0
        return parsed.request
    }

    /// Reads a `*count` or `$length` line at `readIndex`.
    ///
    /// Returns nil while the line is incomplete, `.some(nil)` for a line whose number is not an integer,
    /// and the number otherwise, with `readIndex` moved past the line.
    private mutating func parseHeader(tooLong: RESPError) throws(RESPError) -> Int64?? {
        guard let carriageReturn = try findTerminator(13, tooLong: tooLong) else { return nil }
        guard carriageReturn + 1 < buffer.count else {
            scanIndex = carriageReturn
            return nil
        }
        guard buffer[carriageReturn + 1] == 10 else { throw .expectedCRLF }
        let number = DecimalInteger.parse(buffer[(readIndex + 1)..<carriageReturn])
        readIndex = carriageReturn + 2
        scanIndex = 0
        return .some(number)
    }

    /// Reads one inline request line; nil while incomplete, no arguments for a blank line.
    private mutating func parseInline() throws(RESPError) -> CommandArguments? {
        guard let newline = try findTerminator(10, tooLong: .inlineRequestTooLong) else { return nil }
        var end = newline
        if end > readIndex && buffer[end - 1] == 13 { end -= 1 }
        let line = readIndex..<end
        let limit = limits.argumentsLimit
        let arguments = try buffer.withUnsafeBufferPointer { bytes throws(RESPError) in
            try Self.inlineArguments(bytes, line, argumentsLimit: limit)
        }
        readIndex = newline + 1
        scanIndex = 0
        return arguments
    }

    /// The index of the first `terminator` in the current line, or nil while it has not arrived.
    ///
    /// A line is too long when its terminator is more than `inlineBytesLimit` bytes after `readIndex`; this is
    /// decided the same way whether the line came in one read or many.
    private mutating func findTerminator(_ terminator: UInt8, tooLong: RESPError) throws(RESPError) -> Int? {
        let searchEnd = min(buffer.count, readIndex + limits.inlineBytesLimit + 1)
        let searchStart = max(readIndex, scanIndex)
        let found: Int? = buffer.withUnsafeBufferPointer { bytes in
            var index = searchStart
            while index < searchEnd {
                if bytes[index] == terminator { return index }
                index += 1
            }
            return nil
        }
        if let found { return found }
        if buffer.count - readIndex > limits.inlineBytesLimit { throw tooLong }
        scanIndex = searchEnd
        return nil
    }

    /// Drops consumed bytes, when that is cheap relative to what remains.
    private mutating func compact() {
        // The arguments of an incomplete request are still to be copied out, so only what precedes it is consumed.
        let consumed = remainingArguments > 0 ? requestStart : readIndex
        if consumed == buffer.count {
            // Consumed requests stay until they add up to the threshold: emptying the array costs about as much as
            // parsing a short request, and the next bytes go after them either way.
            guard consumed >= Self.compactionThresholdBytes || buffer.capacity > Self.retainedCapacityBytesLimit
            else { return }
            buffer.removeAll(keepingCapacity: buffer.capacity <= Self.retainedCapacityBytesLimit)
        } else if consumed >= Self.compactionThresholdBytes && consumed * 2 >= buffer.count {
            buffer.removeSubrange(0..<consumed)
        } else {
            return
        }
        scanIndex = max(0, scanIndex - consumed)
        readIndex -= consumed
        requestStart = max(0, requestStart - consumed)
        for index in argumentRanges.indices {
            let range = argumentRanges[index]
            argumentRanges[index] = (range.lowerBound - consumed)..<(range.upperBound - consumed)
        }
    }
}

extension RESPParser {
    /// The words of the inline request at `line`, as `splitInline` splits them. A line without quotes (what tools
    /// send) is split where it lies, its words copied once, into the encoding.
    static func inlineArguments(
        _ bytes: UnsafeBufferPointer<UInt8>, _ line: Range<Int>, argumentsLimit: Int
    ) throws(RESPError) -> CommandArguments {
        let isQuoted = bytes[line].contains { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "'") }
        if isQuoted {
            guard let split = splitInline(bytes, line) else { throw .unbalancedQuotes }
            guard split.count <= argumentsLimit else {
                throw .tooManyArguments(declared: split.count, limit: argumentsLimit)
            }
            return CommandArguments(encoding: split)
        }
        var words: [Range<Int>] = []
        var index = line.lowerBound
        while true {
            while index < line.upperBound && isInlineSpace(bytes[index]) { index += 1 }
            if index == line.upperBound { break }
            let start = index
            // As in `splitInline`, a word ends at a space, tab, CR or LF only: a vertical tab or form feed inside it
            // is part of it.
            while index < line.upperBound, !isWordEnd(bytes[index]) { index += 1 }
            words.append(start..<index)
        }
        guard words.count <= argumentsLimit else {
            throw .tooManyArguments(declared: words.count, limit: argumentsLimit)
        }
        return CommandArguments(encoding: words.count, of: bytes, at: { words[$0] })
    }

    private static func isInlineSpace(_ byte: UInt8) -> Bool { byte == 32 || (byte >= 9 && byte <= 13) }
    private static func isWordEnd(_ byte: UInt8) -> Bool { byte == 32 || byte == 10 || byte == 13 || byte == 9 }

    /// Splits an inline request into words like Redis's `sdssplitargs`.
    ///
    /// Words are separated by whitespace; `"..."` understands `\n \r \t \b \a \\ \"` and `\xHH`, `'...'`
    /// understands `\'`; a closing quote must be followed by whitespace or the end. Returns nil for
    /// unbalanced quotes.
    static func splitInline(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> [[UInt8]]? {
        var words: [[UInt8]] = []
        var index = range.lowerBound
        let end = range.upperBound
        func byte(at position: Int) -> UInt8? { position < end ? bytes[position] : nil }
        while true {
            while index < end && isInlineSpace(bytes[index]) { index += 1 }
            if index == end { return words }
            var word: [UInt8] = []
            var inDoubleQuotes = false, inSingleQuotes = false, done = false
            while !done {
                let current = byte(at: index)
                if inDoubleQuotes {
                    guard let current else { return nil }
                    if current == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "x"),
                        let high = byte(at: index + 2).flatMap(hexValue),
                        let low = byte(at: index + 3).flatMap(hexValue)
                    {
                        word.append(high << 4 | low)
                        index += 3
                    } else if current == UInt8(ascii: "\\"), let escaped = byte(at: index + 1) {
                        index += 1
                        switch escaped {
                        case UInt8(ascii: "n"): word.append(10)
                        case UInt8(ascii: "r"): word.append(13)
                        case UInt8(ascii: "t"): word.append(9)
                        case UInt8(ascii: "b"): word.append(8)
                        case UInt8(ascii: "a"): word.append(7)
                        default: word.append(escaped)
                        }
                    } else if current == UInt8(ascii: "\"") {
                        if let following = byte(at: index + 1), !isInlineSpace(following) { return nil }
                        done = true
                    } else {
                        word.append(current)
                    }
                } else if inSingleQuotes {
                    guard let current else { return nil }
                    if current == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "'") {
                        index += 1
                        word.append(UInt8(ascii: "'"))
                    } else if current == UInt8(ascii: "'") {
                        if let following = byte(at: index + 1), !isInlineSpace(following) { return nil }
                        done = true
                    } else {
                        word.append(current)
                    }
                } else if let current {
                    switch current {
                    case 32, 10, 13, 9: done = true
                    case UInt8(ascii: "\""): inDoubleQuotes = true
                    case UInt8(ascii: "'"): inSingleQuotes = true
                    default: word.append(current)
                    }
                } else {
                    done = true
                }
                if index < end { index += 1 }
            }
            words.append(word)
        }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
