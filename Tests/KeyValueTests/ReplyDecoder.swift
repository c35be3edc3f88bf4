/// A decoded RESP2 reply, for tests that look inside nested replies (Sentinel's instance maps, Pub/Sub pushes).
indirect enum DecodedReply: Equatable, CustomStringConvertible {
    case simple(String), error(String), integer(Int64), bulk(String?), array([DecodedReply]?)

    /// Every reply in `bytes`, in order; nil if the bytes are not whole RESP2 replies.
    static func all(_ bytes: [UInt8]) -> [DecodedReply]? {
        var cursor = 0
        var replies: [DecodedReply] = []
        while cursor < bytes.count {
            guard let reply = next(bytes, &cursor) else { return nil }
            replies.append(reply)
        }
        return replies
    }

    /// The one reply `bytes` hold; nil if they hold anything else.
    static func one(_ bytes: [UInt8]) -> DecodedReply? {
        guard let replies = all(bytes), replies.count == 1 else { return nil }
        return replies[0]
    }

    private static func next(_ bytes: [UInt8], _ cursor: inout Int) -> DecodedReply? {
        guard cursor < bytes.count, let lineEnd = bytes[cursor...].firstIndex(of: 13), lineEnd + 1 < bytes.count
        else { return nil }
        let kind = bytes[cursor]
        let line = String(decoding: bytes[(cursor + 1)..<lineEnd], as: UTF8.self)
        cursor = lineEnd + 2
        switch kind {
        case UInt8(ascii: "+"): return .simple(line)
        case UInt8(ascii: "-"): return .error(line)
        case UInt8(ascii: ":"): return Int64(line).map(DecodedReply.integer)
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { return nil }
            if length < 0 { return .bulk(nil) }
            guard cursor + length + 2 <= bytes.count else { return nil }
            let value = String(decoding: bytes[cursor..<(cursor + length)], as: UTF8.self)
            cursor += length + 2
            return .bulk(value)
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { return nil }
            if count < 0 { return .array(nil) }
            var elements: [DecodedReply] = []
            for _ in 0..<count {
                guard let element = next(bytes, &cursor) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default: return nil
        }
    }

    /// The elements of an array reply; empty for anything else.
    var elements: [DecodedReply] {
        if case .array(let elements?) = self { return elements }
        return []
    }

    /// A flat array of bulk names and values (a Sentinel instance), as ordered pairs.
    var fields: [(name: String, value: String)] {
        let texts = elements.map { element -> String in
            if case .bulk(let text?) = element { return text }
            return "<\(element)>"
        }
        return stride(from: 0, to: texts.count - 1, by: 2).map { (texts[$0], texts[$0 + 1]) }
    }

    /// One field of a Sentinel instance; nil when absent.
    subscript(field name: String) -> String? {
        fields.first { $0.name == name }?.value
    }

    var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let text): text.map { "\"\($0)\"" } ?? "(nil)"
        case .array(let elements?): "[\(elements.map(\.description).joined(separator: ", "))]"
        case .array(nil): "(nil array)"
        }
    }
}
