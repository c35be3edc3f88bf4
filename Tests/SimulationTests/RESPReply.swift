/// A RESP2 reply as the simulation's key-value clients read it: a parser of its own, so the checker does not judge
/// the store's replies with the store's code.
indirect enum RESPReply: Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    /// `$-1` or `*-1`.
    case null
    case array([RESPReply])

    /// Aggregates nested deeper than this do not parse: the simulation's deepest reply is a transaction's array of
    /// arrays.
    static let depthLimit = 4

    /// The reply `bytes` hold, exactly one; nil when they are anything else.
    init?(parsing bytes: [UInt8]) {
        var index = 0
        guard let reply = Self.parse(bytes, at: &index, depth: 0), index == bytes.count else { return nil }
        self = reply
    }

    private static func parse(_ bytes: [UInt8], at index: inout Int, depth: Int) -> RESPReply? {
        guard index < bytes.count, depth <= depthLimit else { return nil }
        let type = bytes[index]
        var end = index + 1
        while end + 1 < bytes.count, !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
        guard end + 1 < bytes.count else { return nil }
        let line = String(decoding: bytes[(index + 1)..<end], as: UTF8.self)
        index = end + 2
        switch type {
        case UInt8(ascii: "+"): return .status(line)
        case UInt8(ascii: "-"): return .error(line)
        case UInt8(ascii: ":"): return Int64(line).map { .integer($0) }
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { return nil }
            if length == -1 { return .null }
            guard length >= 0, index + length + 2 <= bytes.count else { return nil }
            defer { index += length + 2 }
            return .bulk(Array(bytes[index..<(index + length)]))
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { return nil }
            if count == -1 { return .null }
            guard count >= 0, count <= bytes.count - index else { return nil }
            var elements: [RESPReply] = []
            for _ in 0..<count {
                guard let element = parse(bytes, at: &index, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            return .array(elements)
        default:
            return nil
        }
    }

    /// A bulk string holding a token's decimal digits.
    var token: UInt64? {
        guard case .bulk(let bytes) = self else { return nil }
        return UInt64(String(decoding: bytes, as: UTF8.self))
    }

    /// An array of tokens (LRANGE, SMEMBERS); nil if any element is not one.
    var tokens: [UInt64]? {
        guard case .array(let elements) = self else { return nil }
        let tokens = elements.compactMap(\.token)
        return tokens.count == elements.count ? tokens : nil
    }

    /// HGETALL's flat field-value array, as each field's token; nil if it does not read so.
    var fieldTokens: [String: UInt64]? {
        guard case .array(let elements) = self, elements.count % 2 == 0 else { return nil }
        var fields: [String: UInt64] = [:]
        for pair in stride(from: 0, to: elements.count, by: 2) {
            guard case .bulk(let field) = elements[pair], let token = elements[pair + 1].token else { return nil }
            fields[String(decoding: field, as: UTF8.self)] = token
        }
        return fields
    }
}
