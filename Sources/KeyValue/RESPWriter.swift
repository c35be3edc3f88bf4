/// Builds RESP2 replies: simple strings, errors, integers, bulk strings, nulls and (nested) arrays.
///
/// Replies are written as bytes straight into one `[UInt8]`, with no `String` formatting on the hot path
/// (IO-FINDINGS: byte work is far cheaper). An array is its header followed by its
/// elements, so nesting is writing an element that is itself an array header and its elements.
public struct RESPWriter: Sendable {
    /// The encoded replies so far.
    public private(set) var bytes: [UInt8]

    /// An empty writer whose buffer has room for `capacity` bytes before it grows.
    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// `+text`. A CR or LF inside `text` becomes a space, as in Redis, so the reply cannot break the stream.
    public mutating func appendSimpleString(_ text: String) {
        bytes.append(UInt8(ascii: "+"))
        appendLine(text)
    }

    /// `-message`, where `message` starts with the error code, e.g. `"ERR syntax error"`.
    public mutating func appendError(_ message: String) {
        bytes.append(UInt8(ascii: "-"))
        appendLine(message)
    }

    /// `-message` from raw bytes (it may quote a client's arguments); CR and LF become spaces.
    public mutating func appendError(_ message: [UInt8]) {
        bytes.append(UInt8(ascii: "-"))
        for byte in message { bytes.append(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte) }
        appendCRLF()
    }

    /// `:value`.
    public mutating func appendInteger(_ value: Int64) {
        bytes.append(UInt8(ascii: ":"))
        DecimalInteger.append(value, to: &bytes)
        appendCRLF()
    }

    /// `$length` and the bytes, binary safe.
    public mutating func appendBulk(_ value: [UInt8]) {
        appendBulk(value[...])
    }

    /// `$length` and the bytes of a slice (a stored key), binary safe.
    mutating func appendBulk(_ value: ArraySlice<UInt8>) {
        // A short value (an element of LRANGE, HGETALL, SMEMBERS...) in one append: appending its five parts checked
        // the array's uniqueness and room five times. A long one is copied in directly, not written aside first.
        if Self.bulkByteCount(value.count) <= ByteArray.stackWrittenLimit { return Self.appendBulk(value, to: &bytes) }
        bytes.append(UInt8(ascii: "$"))
        DecimalInteger.append(Int64(value.count), to: &bytes)
        appendCRLF()
        bytes.append(contentsOf: value)
        appendCRLF()
    }

    /// `$length` and the UTF-8 bytes of `text`.
    public mutating func appendBulk(_ text: String) {
        appendBulk(Array(text.utf8))
    }

    /// `$-1`: Redis's "no value" (a missing key, a SET NX that did nothing).
    public mutating func appendNullBulk() {
        bytes.append(contentsOf: RESPWriter.nullBulkBytes)
    }

    /// `*count`; the next `count` replies written are the array's elements.
    public mutating func appendArrayHeader(count: Int) {
        precondition(count >= 0, "an array cannot have a negative number of elements")
        bytes.append(UInt8(ascii: "*"))
        DecimalInteger.append(Int64(count), to: &bytes)
        appendCRLF()
    }

    /// `*-1`: the null array.
    public mutating func appendNullArray() {
        bytes.append(contentsOf: [UInt8(ascii: "*"), UInt8(ascii: "-"), UInt8(ascii: "1"), 13, 10])
    }

    /// Appends replies that are already encoded, e.g. the elements of an array.
    public mutating func appendEncoded(_ reply: [UInt8]) {
        bytes.append(contentsOf: reply)
    }

    private mutating func appendLine(_ text: String) {
        for byte in text.utf8 { bytes.append(byte == 13 || byte == 10 ? UInt8(ascii: " ") : byte) }
        appendCRLF()
    }

    private mutating func appendCRLF() {
        bytes.append(13)
        bytes.append(10)
    }

    private static let nullBulkBytes: [UInt8] = Array("$-1\r\n".utf8)
}

extension RESPWriter {
    /// `+OK`, the most common reply, encoded once.
    public static let ok: [UInt8] = Array("+OK\r\n".utf8)

    /// `+text` as a reply of its own; CR and LF become spaces.
    public static func simpleString(_ text: String) -> [UInt8] {
        var writer = RESPWriter()
        writer.appendSimpleString(text)
        return writer.bytes
    }

    /// `-message` as a reply of its own; `message` starts with the error code, e.g. `"ERR syntax error"`.
    public static func error(_ message: String) -> [UInt8] {
        var writer = RESPWriter()
        writer.appendError(message)
        return writer.bytes
    }

    /// `:value` as a reply of its own.
    public static func integer(_ value: Int64) -> [UInt8] {
        // Written on the stack from the right and copied into an array of its exact size: one allocation, where
        // reserving room and appending the marker, the digits and CRLF cost twice as much as the digits.
        DecimalInteger.withScratch { scratch in
            scratch[scratch.count - 2] = UInt8(ascii: "\r")
            scratch[scratch.count - 1] = UInt8(ascii: "\n")
            let start = DecimalInteger.write(value, endingAt: scratch.count - 2, in: scratch) - 1
            scratch[start] = UInt8(ascii: ":")
            return Array(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }

    /// `$length` and the bytes as a reply of its own, binary safe.
    public static func bulk(_ value: [UInt8]) -> [UInt8] {
        var writer = RESPWriter(reservingCapacity: value.count + 16)
        writer.appendBulk(value)
        return writer.bytes
    }

    /// `$length` and the bytes of a slice (a stored value) as a reply of its own, binary safe.
    ///
    /// Written in one pass (every GET answers with it): appending the parts one by one checks the array's uniqueness
    /// and capacity at each.
    static func bulk(_ value: ArraySlice<UInt8>) -> [UInt8] {
        value.withUnsafeBufferPointer { source in
            ByteArray.written(count: bulkByteCount(source.count)) { writeBulk(source, into: $0) }
        }
    }

    /// Appends `$length` and the bytes of a slice (a stored value) to `reply`, binary safe, in one pass, as `bulk`
    /// writes them: a GET's reply, where the primary gathers a run of read replies (`StateMachine.read`).
    static func appendBulk(_ value: ArraySlice<UInt8>, to reply: inout [UInt8]) {
        value.withUnsafeBufferPointer { source in
            ByteArray.append(count: bulkByteCount(source.count), to: &reply) { writeBulk(source, into: $0) }
        }
    }

    /// The bytes of a bulk reply carrying `count` bytes.
    private static func bulkByteCount(_ count: Int) -> Int { headerByteCount(count) + count + 2 }

    private static func decimalDigitCount(_ value: Int) -> Int {
        var digitCount = 1
        var rest = value
        while rest >= 10 {
            rest /= 10
            digitCount += 1
        }
        return digitCount
    }

    /// The bytes of a header: a marker, `count` in decimal, CRLF.
    private static func headerByteCount(_ count: Int) -> Int { 1 + decimalDigitCount(count) + 2 }

    /// Writes `marker`, `count` and CRLF at the start of `bytes`; returns how many bytes that took.
    private static func writeHeader(
        _ marker: UInt8, _ count: Int, into bytes: UnsafeMutableBufferPointer<UInt8>
    ) -> Int {
        let headerCount = headerByteCount(count)
        bytes[0] = marker
        var rest = count
        for position in stride(from: headerCount - 3, to: 0, by: -1) {
            bytes[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        }
        bytes[headerCount - 2] = 13
        bytes[headerCount - 1] = 10
        return headerCount
    }

    /// Writes the bulk reply carrying `source` into `bytes`, which is `bulkByteCount(source.count)` long.
    private static func writeBulk(_ source: UnsafeBufferPointer<UInt8>, into bytes: UnsafeMutableBufferPointer<UInt8>) {
        let headerCount = writeHeader(UInt8(ascii: "$"), source.count, into: bytes)
        if let to = bytes.baseAddress, let from = source.baseAddress, !source.isEmpty {
            (to + headerCount).initialize(from: from, count: source.count)
        }
        bytes[bytes.count - 2] = 13
        bytes[bytes.count - 1] = 10
    }

    /// An array of `count` bulk strings as a reply of its own, written in one pass into one array: appending them
    /// one by one checked the reply's room and uniqueness at each and grew it a dozen times over a long LRANGE.
    /// `forEach` hands the elements over in order, twice: once to size the reply, once to write it.
    static func bulkArray(count: Int, _ forEach: ((UnsafeBufferPointer<UInt8>) -> Void) -> Void) -> [UInt8] {
        var total = headerByteCount(count)
        forEach { total += bulkByteCount($0.count) }
        return ByteArray.written(count: total) { bytes in
            var offset = writeHeader(UInt8(ascii: "*"), count, into: bytes)
            forEach { element in
                let end = offset + bulkByteCount(element.count)
                precondition(end <= total, "an element changed between sizing and writing")
                writeBulk(element, into: UnsafeMutableBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
            precondition(offset == total, "an element changed between sizing and writing")
        }
    }

    /// `$length` and the UTF-8 bytes of `text` as a reply of its own.
    public static func bulk(_ text: String) -> [UInt8] {
        bulk(Array(text.utf8))
    }

    /// `$-1`, Redis's "no value", as a reply of its own.
    public static var nullBulk: [UInt8] { nullBulkBytes }

    /// `*-1`, the null array, as a reply of its own.
    public static var nullArray: [UInt8] {
        var writer = RESPWriter()
        writer.appendNullArray()
        return writer.bytes
    }

    /// An array of replies that are already encoded; an element may itself be an array, which nests.
    public static func array(_ elements: [[UInt8]]) -> [UInt8] {
        var writer = RESPWriter()
        writer.appendArrayHeader(count: elements.count)
        for element in elements { writer.appendEncoded(element) }
        return writer.bytes
    }
}
