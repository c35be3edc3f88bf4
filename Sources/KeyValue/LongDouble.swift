#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Redis's long doubles, for HINCRBYFLOAT (and INCRBYFLOAT): its parser's rules and its "human" printing.
///
/// Redis adds in C's `long double` and prints the sum with 17 decimals, trailing zeros removed, so `10.5 + 0.1`
/// reads `10.6` where a `Double` would print `10.59999999999999964`. The sum is a pure function of the two texts on
/// one architecture; a pair whose nodes differ (x86's 80-bit `long double` against another's `double`) could print
/// different sums, which the digest would then report as a divergence, so both nodes of a pair run one architecture.
enum LongDouble {
    /// Longest text Redis considers (`MAX_LONG_DOUBLE_CHARS`).
    static let textBytesLimit = 5 * 1024

    #if arch(x86_64) || arch(i386)
    typealias Value = Float80
    #else
    typealias Value = Double
    #endif

    /// The value `bytes` spell, or nil where Redis's `string2ld` refuses them: empty, leading space, trailing
    /// bytes, NaN, or a number out of range (overflowing to infinity, or a nonzero number underflowing to zero).
    /// `inf` and `-inf` themselves are accepted, as in Redis.
    static func parse(_ bytes: ArraySlice<UInt8>) -> Value? {
        guard !bytes.isEmpty, bytes.count < textBytesLimit, let first = bytes.first, !ASCII.isSpace(first),
            !bytes.contains(0)
        else { return nil }
        var text = Array(bytes)
        text.append(0)
        var parsed: Value = 0
        var consumed = 0
        text.withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { start in
                var end: UnsafeMutablePointer<CChar>?
                #if arch(x86_64) || arch(i386)
                parsed = strtold(start, &end)
                #else
                parsed = strtod(start, &end)
                #endif
                consumed = end.map { $0 - UnsafeMutablePointer(mutating: start) } ?? 0
            }
        }
        guard consumed == bytes.count, !parsed.isNaN else { return nil }
        let spelled = bytes.contains { $0 == UInt8(ascii: "i") || $0 == UInt8(ascii: "I") }
        if parsed.isInfinite && !spelled { return nil }  // overflow (ERANGE in Redis)
        let hasNonzeroDigit = bytes.prefix { $0 != UInt8(ascii: "e") && $0 != UInt8(ascii: "E") }
            .contains { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }
        let isHexadecimal = bytes.contains { $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") }
        if parsed == 0 && hasNonzeroDigit && !isHexadecimal { return nil }  // underflow (ERANGE in Redis)
        return parsed
    }

    /// `value` as Redis's `ld2string(..., LD_STR_HUMAN)` prints it: `%.17Lf` without trailing zeros (nor a trailing
    /// point), `-0` as `0`; infinities as `inf` and `-inf`.
    static func text(_ value: Value) -> [UInt8] {
        if value.isInfinite { return Array((value > 0 ? "inf" : "-inf").utf8) }
        var buffer = [CChar](repeating: 0, count: textBytesLimit)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress, pointer.count, "%.17Lf", $0) }
        }
        guard length > 0, Int(length) < textBytesLimit else { return Array("0".utf8) }
        var text = buffer[0..<Int(length)].map { UInt8(bitPattern: $0) }
        if text.contains(UInt8(ascii: ".")) {
            while text.last == UInt8(ascii: "0") { text.removeLast() }
            if text.last == UInt8(ascii: ".") { text.removeLast() }
        }
        if text == Array("-0".utf8) { text = [UInt8(ascii: "0")] }
        return text
    }
}
