/// A RESP2 or RESP3 reply as the simulation's key-value clients read it: a parser of its own, so the checker does not
/// judge the store's replies with the store's code.
///
/// A client that said `HELLO 3` reads RESP3, one that did not RESP2, and each parser refuses the other protocol's
/// frames (a RESP2 null in a RESP3 reply, a map in a RESP2 one): a reply in the wrong protocol is a wrong reply. Both
/// read into these cases, so the checkers judge what a reply says, whichever protocol said it.
indirect enum RESPReply: Equatable {
    case status(String)
    case error(String)
    case integer(Int64)
    case bulk([UInt8])
    /// `$-1` or `*-1` in RESP2, `_` in RESP3.
    case null
    case array([RESPReply])
    /// A RESP3 map (`%`), as its keys and values in turn.
    case map([RESPReply])
    /// A RESP3 set (`~`).
    case set([RESPReply])
    /// A RESP3 double (`,`), as its text.
    case double(String)

    /// Aggregates nested deeper than this do not parse: the simulation's deepest reply is a transaction's array of
    /// arrays.
    static let depthLimit = 4

    /// The reply `bytes` hold in `protocolVersion` (2 or 3), exactly one; nil when they are anything else.
    init?(parsing bytes: [UInt8], protocolVersion: Int = 2) {
        var index = 0
        guard let reply = Self.parse(bytes, at: &index, depth: 0, isRESP3: protocolVersion == 3),
            index == bytes.count
        else { return nil }
        self = reply
    }

    private static func parse(_ bytes: [UInt8], at index: inout Int, depth: Int, isRESP3: Bool) -> RESPReply? {
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
        case UInt8(ascii: "_") where isRESP3 && line.isEmpty: return .null
        case UInt8(ascii: ",") where isRESP3: return Double(line) != nil ? .double(line) : nil
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { return nil }
            if length == -1 { return isRESP3 ? nil : .null }
            guard length >= 0, index + length + 2 <= bytes.count else { return nil }
            defer { index += length + 2 }
            return .bulk(Array(bytes[index..<(index + length)]))
        case UInt8(ascii: "*"), UInt8(ascii: "%"), UInt8(ascii: "~"):
            guard type == UInt8(ascii: "*") || isRESP3, let declared = Int(line) else { return nil }
            if declared == -1 && type == UInt8(ascii: "*") { return isRESP3 ? nil : .null }
            // A map's count is of pairs.
            let count = type == UInt8(ascii: "%") ? declared * 2 : declared
            guard declared >= 0, count <= bytes.count - index else { return nil }
            var elements: [RESPReply] = []
            for _ in 0..<count {
                guard let element = parse(bytes, at: &index, depth: depth + 1, isRESP3: isRESP3) else { return nil }
                elements.append(element)
            }
            switch type {
            case UInt8(ascii: "%"): return .map(elements)
            case UInt8(ascii: "~"): return .set(elements)
            default: return .array(elements)
            }
        default:
            return nil
        }
    }

    /// A bulk string holding a token's decimal digits.
    var token: UInt64? {
        guard case .bulk(let bytes) = self else { return nil }
        return UInt64(String(decoding: bytes, as: UTF8.self))
    }

    /// An array (LRANGE) or set (SMEMBERS in RESP3) of tokens; nil if any element is not one.
    var tokens: [UInt64]? {
        guard case .array(let elements) = self else {
            guard case .set(let elements) = self else { return nil }
            return RESPReply.array(elements).tokens
        }
        let tokens = elements.compactMap(\.token)
        return tokens.count == elements.count ? tokens : nil
    }

    /// HGETALL's flat field-value array (a map in RESP3), as each field's token; nil if it does not read so.
    var fieldTokens: [String: UInt64]? {
        if case .map(let elements) = self { return RESPReply.array(elements).fieldTokens }
        guard case .array(let elements) = self, elements.count % 2 == 0 else { return nil }
        var fields: [String: UInt64] = [:]
        for pair in stride(from: 0, to: elements.count, by: 2) {
            guard case .bulk(let field) = elements[pair], let token = elements[pair + 1].token else { return nil }
            fields[String(decoding: field, as: UTF8.self)] = token
        }
        return fields
    }
}

extension RESPReply {
    /// A count as a reply states it: a bulk string of decimal digits (GET, and ZSCORE in RESP2) or a RESP3 double
    /// with an integral value (ZSCORE, ZINCRBY); nil otherwise.
    var count: Int64? {
        switch self {
        case .bulk(let bytes): Int64(String(decoding: bytes, as: UTF8.self))
        case .double(let text): Double(text).flatMap { $0.rounded() == $0 ? Int64(exactly: $0) : nil }
        default: nil
        }
    }
}
