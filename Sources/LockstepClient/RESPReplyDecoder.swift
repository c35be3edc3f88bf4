/// Turns the bytes a node sends into `RESPReply` values, however the stream is split.
///
/// Incremental: a partial reply keeps its progress (open arrays, a bulk string's declared length, how far the
/// current line was scanned), so every byte is examined a bounded number of times, whatever the chunking. Bounded:
/// one reply may take at most `replyBytesLimit` bytes, a line `lineBytesLimit`, and arrays nest `nestingLimit` deep.
struct RESPReplyDecoder {
    /// Longest status, error or header line; Redis's own lines are far shorter, so more is not Redis.
    static let lineBytesLimit = 64 << 10
    /// Deepest nesting of arrays accepted; Redis's deepest replies (ROLE, SENTINEL MASTERS) nest three.
    static let nestingLimit = 32
    /// Consumed bytes kept before the buffer is compacted.
    static let compactionBytesThreshold = 64 << 10

    /// Largest single reply, in bytes.
    let replyBytesLimit: Int

    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Where the search for the current line's CRLF resumes.
    private var scanIndex = 0
    /// Arrays begun and not yet complete, outermost first.
    private var openArrays: [(remaining: Int, elements: [RESPReply])] = []
    /// A bulk string whose header was read: its length, awaiting its bytes.
    private var pendingBulkLength: Int?
    /// Bytes the reply being decoded has taken so far.
    private var replyBytes = 0

    /// A decoder that refuses any reply over `replyBytesLimit` bytes.
    init(replyBytesLimit: Int) {
        self.replyBytesLimit = replyBytesLimit
    }

    /// Adds bytes read from the connection.
    mutating func append(_ bytes: some Collection<UInt8>) {
        if readIndex >= Self.compactionBytesThreshold, readIndex * 2 >= buffer.count {
            buffer.removeFirst(readIndex)
            scanIndex -= readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// Bytes appended and not yet consumed by a complete or partial reply.
    var bufferedBytes: Int { buffer.count - readIndex }

    /// The next complete reply, or nil until more bytes arrive. After a throw the stream is unusable: drop the
    /// connection and start a new decoder.
    mutating func next() throws(RESPDecodingError) -> RESPReply? {
        while true {
            guard var value = try nextElement() else { return nil }
            while true {
                guard var innermost = openArrays.popLast() else {
                    replyBytes = 0
                    return value
                }
                innermost.elements.append(value)
                innermost.remaining -= 1
                guard innermost.remaining == 0 else {
                    openArrays.append(innermost)
                    break
                }
                value = .array(innermost.elements)
            }
        }
    }

    /// The next leaf value or empty array; opens arrays as it meets their headers. Nil when more bytes are needed.
    private mutating func nextElement() throws(RESPDecodingError) -> RESPReply? {
        while true {
            if let length = pendingBulkLength {
                guard buffer.count - readIndex >= length + 2 else { return nil }
                guard buffer[readIndex + length] == 13, buffer[readIndex + length + 1] == 10 else {
                    throw .missingCRLF
                }
                let bytes = Array(buffer[readIndex..<readIndex + length])
                consume(length + 2)
                pendingBulkLength = nil
                return .bulkString(bytes)
            }
            guard let lineEnd = try findLineEnd() else { return nil }
            let kind = buffer[readIndex]
            let line = buffer[(readIndex + 1)..<lineEnd]
            let lineBytes = lineEnd + 2 - readIndex
            switch kind {
            case UInt8(ascii: "+"):
                consume(lineBytes)
                return .simpleString(String(decoding: line, as: UTF8.self))
            case UInt8(ascii: "-"):
                consume(lineBytes)
                return .error(String(decoding: line, as: UTF8.self))
            case UInt8(ascii: ":"):
                let value = try Self.integer(line)
                consume(lineBytes)
                return .integer(value)
            case UInt8(ascii: "$"):
                let length = try Self.integer(line)
                guard length >= -1 else { throw .invalidNumber(String(decoding: line, as: UTF8.self)) }
                consume(lineBytes)
                if length == -1 { return .bulkString(nil) }
                guard length <= replyBytesLimit - replyBytes - 2 else { throw .replyTooLarge(limit: replyBytesLimit) }
                pendingBulkLength = Int(length)
            case UInt8(ascii: "*"):
                let count = try Self.integer(line)
                guard count >= -1 else { throw .invalidNumber(String(decoding: line, as: UTF8.self)) }
                consume(lineBytes)
                if count == -1 { return .array(nil) }
                if count == 0 { return .array([]) }
                // Every element takes at least three bytes, so a count beyond what the limit could hold is refused
                // now rather than after its bytes arrive.
                guard count <= (replyBytesLimit - replyBytes) / 3 else { throw .replyTooLarge(limit: replyBytesLimit) }
                guard openArrays.count < Self.nestingLimit else { throw .nestingTooDeep(limit: Self.nestingLimit) }
                openArrays.append((Int(count), []))
            default:
                throw .invalidTypeByte(kind)
            }
        }
    }

    /// The index of the CR ending the line at `readIndex`, or nil (remembering how far it looked) if none yet.
    private mutating func findLineEnd() throws(RESPDecodingError) -> Int? {
        var index = max(scanIndex, readIndex + 1)
        while index + 1 < buffer.count {
            if buffer[index] == 13, buffer[index + 1] == 10 { return index }
            index += 1
        }
        scanIndex = index
        if buffer.count - readIndex > Self.lineBytesLimit + 3 { throw .lineTooLong(limit: Self.lineBytesLimit) }
        return nil
    }

    private mutating func consume(_ count: Int) {
        readIndex += count
        scanIndex = readIndex
        replyBytes += count
    }

    /// A decimal integer with an optional minus sign, nothing else (no `+`, no spaces), within Int64.
    private static func integer(_ digits: ArraySlice<UInt8>) throws(RESPDecodingError) -> Int64 {
        var rest = digits[...]
        let isNegative = rest.first == UInt8(ascii: "-")
        if isNegative { rest = rest.dropFirst() }
        guard !rest.isEmpty, rest.count <= 19 else { throw .invalidNumber(String(decoding: digits, as: UTF8.self)) }
        var value: Int64 = 0
        for byte in rest {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .invalidNumber(String(decoding: digits, as: UTF8.self))
            }
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (added, overflow2) = shifted.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .invalidNumber(String(decoding: digits, as: UTF8.self)) }
            value = added
        }
        return isNegative ? -value : value
    }
}
