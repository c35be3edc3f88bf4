/// RESP3 replies, made from the RESP2 replies the store and the frontend write: a pure function of the RESP2 bytes
/// and a `RESP3Shape` (which the command decides, `RESP3Shape.of`).
///
/// Every reply is first written in RESP2, the one form the store knows, and converted only for a connection that
/// said `HELLO 3`: RESP2 replies keep their exact path and cost. Nulls become `_` wherever they are; the shape says
/// which aggregate becomes a map, a set or a push, which strings are doubles or verbatim text, and which flat
/// member-score lists become pairs. Frames already in RESP3 (`_`, `%`, `~`, `>`, `,`, `=`, `#`, `(`, `!`) are copied
/// unchanged, so converting twice changes nothing: a saved reply (`SESSION EXEC`) or a transaction's node-local
/// reply converted before is safe to convert again.
enum RESP3 {
    /// Aggregates nested deeper than this are copied as they are: the store's deepest reply (a transaction of ZMPOPs)
    /// nests four levels.
    static let depthLimit = 32

    /// One parsed reply value; strings and RESP3 frames stay slices of the source.
    indirect enum Value: Equatable {
        /// A `+`, `-` or `:` line, or a whole RESP3 frame: copied as it is, CRLF included.
        case frame(ArraySlice<UInt8>)
        /// A bulk string's contents.
        case bulk(ArraySlice<UInt8>)
        /// `$-1` or `*-1`.
        case null
        case array([Value])
    }

    /// `reply` as `shape` says; `reply` unchanged when it does not parse (only a bug writes such a reply, and the
    /// client is better served by the bytes than by nothing).
    static func convert(_ reply: [UInt8], _ shape: RESP3Shape) -> [UInt8] {
        var index = reply.startIndex
        var output: [UInt8] = []
        output.reserveCapacity(reply.count + 8)
        while index < reply.endIndex {
            guard let value = parse(reply, at: &index, depth: 0) else { return reply }
            write(value, shape, into: &output)
        }
        return output
    }

    // MARK: Parsing

    /// The value at `index`, moving `index` past it; nil when the bytes are not one whole value.
    static func parse(_ bytes: [UInt8], at index: inout Int, depth: Int) -> Value? {
        guard index < bytes.count else { return nil }
        let start = index
        let type = bytes[index]
        guard let lineEnd = lineEnd(bytes, from: index + 1) else { return nil }
        let header = bytes[(index + 1)..<lineEnd]
        index = lineEnd + 2
        switch type {
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: ":"), UInt8(ascii: "_"), UInt8(ascii: ","),
            UInt8(ascii: "#"), UInt8(ascii: "("):
            return .frame(bytes[start..<index])
        case UInt8(ascii: "$"), UInt8(ascii: "="), UInt8(ascii: "!"):
            guard let length = DecimalInteger.parse(header) else { return nil }
            if length == -1, type == UInt8(ascii: "$") { return .null }
            guard length >= 0, index + Int(length) + 2 <= bytes.count else { return nil }
            let contents = bytes[index..<(index + Int(length))]
            index += Int(length) + 2
            return type == UInt8(ascii: "$") ? .bulk(contents) : .frame(bytes[start..<index])
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"), UInt8(ascii: ">"):
            guard let count = DecimalInteger.parse(header) else { return nil }
            if count == -1, type == UInt8(ascii: "*") { return .null }
            let elementCount = type == UInt8(ascii: "%") ? Int(count) * 2 : Int(count)
            guard count >= 0, elementCount <= bytes.count - index else { return nil }
            guard type == UInt8(ascii: "*"), depth < depthLimit else {
                for _ in 0..<elementCount { guard skip(bytes, at: &index) else { return nil } }
                return .frame(bytes[start..<index])
            }
            var elements: [Value] = []
            elements.reserveCapacity(elementCount)
            for _ in 0..<elementCount {
                guard let element = parse(bytes, at: &index, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            return nil
        }
    }

    /// Moves `index` past one value of any type without keeping it; false when the bytes are not one.
    private static func skip(_ bytes: [UInt8], at index: inout Int) -> Bool {
        // Parsed one level deep at most each time: `depthLimit` makes nested aggregates frames, not recursion.
        parse(bytes, at: &index, depth: depthLimit) != nil
    }

    private static func lineEnd(_ bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }

    // MARK: Writing

    /// Writes `value` as `shape` says; a value not of the shape's form (an error, a null) is written plainly.
    static func write(_ value: Value, _ shape: RESP3Shape, into output: inout [UInt8]) {
        switch (shape, value) {
        case (.plain, _): writePlain(value, into: &output)
        case (.map, .array(let elements)) where elements.count % 2 == 0:
            header(UInt8(ascii: "%"), elements.count / 2, into: &output)
            for element in elements { writePlain(element, into: &output) }
        case (.mapOf(let valueShape), .array(let elements)) where elements.count % 2 == 0:
            header(UInt8(ascii: "%"), elements.count / 2, into: &output)
            for pair in stride(from: 0, to: elements.count, by: 2) {
                writePlain(elements[pair], into: &output)
                write(elements[pair + 1], valueShape, into: &output)
            }
        case (.set, .array(let elements)):
            header(UInt8(ascii: "~"), elements.count, into: &output)
            for element in elements { writePlain(element, into: &output) }
        case (.push, .array(let elements)):
            header(UInt8(ascii: ">"), elements.count, into: &output)
            for element in elements { writePlain(element, into: &output) }
        case (.double, .bulk(let text)):
            output.append(UInt8(ascii: ","))
            output.append(contentsOf: text)
            output.append(contentsOf: [13, 10])
        case (.verbatim, .bulk(let text)):
            header(UInt8(ascii: "="), text.count + 4, into: &output)
            output.append(contentsOf: Array("txt:".utf8))
            output.append(contentsOf: text)
            output.append(contentsOf: [13, 10])
        case (.array(let elementShape), .array(let elements)):
            header(UInt8(ascii: "*"), elements.count, into: &output)
            for element in elements { write(element, elementShape, into: &output) }
        case (.elements(let shapes), .array(let elements)) where shapes.count == elements.count:
            header(UInt8(ascii: "*"), elements.count, into: &output)
            for (element, elementShape) in zip(elements, shapes) { write(element, elementShape, into: &output) }
        case (.pairs(let second), .array(let elements)) where elements.count % 2 == 0:
            header(UInt8(ascii: "*"), elements.count / 2, into: &output)
            for pair in stride(from: 0, to: elements.count, by: 2) {
                header(UInt8(ascii: "*"), 2, into: &output)
                writePlain(elements[pair], into: &output)
                write(elements[pair + 1], second, into: &output)
            }
        default: writePlain(value, into: &output)
        }
    }

    /// Nulls as `_`, everything else as it was.
    private static func writePlain(_ value: Value, into output: inout [UInt8]) {
        switch value {
        case .frame(let bytes): output.append(contentsOf: bytes)
        case .null: output.append(contentsOf: [UInt8(ascii: "_"), 13, 10])
        case .bulk(let text):
            header(UInt8(ascii: "$"), text.count, into: &output)
            output.append(contentsOf: text)
            output.append(contentsOf: [13, 10])
        case .array(let elements):
            header(UInt8(ascii: "*"), elements.count, into: &output)
            for element in elements { writePlain(element, into: &output) }
        }
    }

    private static func header(_ type: UInt8, _ count: Int, into output: inout [UInt8]) {
        output.append(type)
        output.append(contentsOf: Array(String(count).utf8))
        output.append(contentsOf: [13, 10])
    }
}
