#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sorted-set scores: Redis's double parsers (a score, a range bound) and its printing of a score in a reply.
///
/// Redis 7.0 prints a score with `%.17g` (so `1.1` reads `1.1000000000000001`) and infinities as `inf` and
/// `-inf`; it parses a score with `strtod` and refuses what `getDoubleFromObject` refuses, and a range bound with
/// `strtod` alone (`zslParseRange`), which is laxer: leading spaces and an empty text (zero) pass there.
enum Score {
    /// A score as ZADD, ZINCRBY and WEIGHTS read it, or nil where Redis answers "not a valid float": empty, a
    /// leading space, trailing bytes, NaN, or a finite text overflowing to infinity or a nonzero one underflowing to
    /// zero (`ERANGE`). `inf`, `+inf` and `-inf` are accepted.
    static func parse(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard let first = bytes.first, !ASCII.isSpace(first) else { return nil }
        return parseWeight(bytes)
    }

    /// A SORT weight (an element, or the value BY names) as `sortCommandGeneric` reads it with `strtod`, or nil where
    /// Redis answers "One or more scores can't be converted into double": trailing bytes, NaN, or `ERANGE` (a finite
    /// text overflowing to infinity or a nonzero one underflowing to zero). Laxer than `parse`: leading spaces pass,
    /// and an empty text is zero.
    static func parseWeight(_ bytes: ArraySlice<UInt8>) -> Double? {
        guard let (value, isWhole) = convert(bytes), isWhole, !value.isNaN else { return nil }
        if value.isInfinite && !bytes.contains(where: { $0 == UInt8(ascii: "i") || $0 == UInt8(ascii: "I") }) {
            return nil
        }
        let hasNonzeroDigit = bytes.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
            .contains { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }
        let isHexadecimal = bytes.contains { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }
        if value == 0 && hasNonzeroDigit && !isHexadecimal { return nil }
        return value
    }

    /// One bound of a score range (`zslParseRange`): `(` makes it exclusive; the rest must be a whole `strtod` text
    /// that is not NaN. Nil when it is not.
    static func parseBound(_ bytes: ArraySlice<UInt8>) -> (value: Double, isExclusive: Bool)? {
        let isExclusive = bytes.first == UInt8(ascii: "(")
        let text = isExclusive ? bytes.dropFirst() : bytes
        guard let (value, isWhole) = convert(text), isWhole, !value.isNaN else { return nil }
        return (value, isExclusive)
    }

    /// `strtod` over `bytes`: the value and whether it consumed every byte up to the end (or an embedded NUL, where C
    /// stops reading). Nil only for bytes C could not be handed (none here; kept total for the callers' guards).
    private static func convert(_ bytes: ArraySlice<UInt8>) -> (Double, Bool)? {
        var text = Array(bytes.prefix { $0 != 0 })
        let count = text.count
        text.append(0)
        return text.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var end: UnsafeMutablePointer<CChar>?
                let value = strtod(start, &end)
                let consumed = end.map { $0 - UnsafeMutablePointer(mutating: start) } ?? 0
                return (value, consumed == count)
            }
        }
    }

    /// `value` as Redis 7.0 replies it: `%.17g`, and `inf` or `-inf`.
    static func text(_ value: Double) -> [UInt8] {
        if value.isInfinite { return value > 0 ? infinity : negativeInfinity }
        var buffer = [CChar](repeating: 0, count: 32)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress, pointer.count, "%.17g", $0) }
        }
        return buffer[0..<Int(max(0, min(length, 31)))].map { UInt8(bitPattern: $0) }
    }

    /// Appends `value` to `writer` as a bulk string, as Redis's `addReplyDouble` does in RESP2.
    static func append(_ value: Double, to writer: inout RESPWriter) {
        writer.appendBulk(text(value))
    }

    /// The 8 bytes a member's score is stored as (its bit pattern, little-endian).
    static func bytes(_ value: Double) -> [UInt8] {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
    }

    /// The score stored in `bytes` (8 bytes, as `bytes(_:)` writes them).
    static func value(_ bytes: ArraySlice<UInt8>) -> Double {
        precondition(bytes.count == 8, "a stored score is 8 bytes")
        var pattern: UInt64 = 0
        for (index, byte) in bytes.enumerated() { pattern |= UInt64(byte) << (8 * UInt64(index)) }
        return Double(bitPattern: pattern)
    }

    private static let infinity = Array("inf".utf8)
    private static let negativeInfinity = Array("-inf".utf8)
}
