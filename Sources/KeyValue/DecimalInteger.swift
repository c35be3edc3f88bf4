/// Redis's decimal integers: the strict parser behind "value is not an integer" and a String-free printer.
///
/// Lengths in request headers, counters for INCR and expiry times all use Redis's `string2ll` rules, so a
/// value Redis rejects (`" 1"`, `"+1"`, `"01"`, `"-0"`, 21 digits) is rejected here too and clients see the
/// same errors. Printing writes ASCII digits straight into the reply, without going through `String`.
enum DecimalInteger {
    /// Longest text `string2ll` considers: 20 characters hold every 64-bit value, sign included.
    static let textBytesLimit = 20

    /// The 64-bit value `bytes` spell, or nil when Redis would not accept them as an integer.
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> Int64? {
        let count = bytes.count
        guard count > 0, count <= textBytesLimit else { return nil }
        var index = bytes.startIndex
        if count == 1 && bytes[index] == UInt8(ascii: "0") { return 0 }
        let isNegative = bytes[index] == UInt8(ascii: "-")
        if isNegative {
            index = bytes.index(after: index)
            guard index != bytes.endIndex else { return nil }
        }
        // A leading zero (or "-0") is not an integer to Redis, so the first digit must be 1 to 9.
        guard bytes[index] >= UInt8(ascii: "1"), bytes[index] <= UInt8(ascii: "9") else { return nil }
        var magnitude: UInt64 = 0
        while index != bytes.endIndex {
            let byte = bytes[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = magnitude.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            magnitude = sum
            index = bytes.index(after: index)
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// Appends the decimal text of `value` to `bytes`.
    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        withScratch { scratch in
            let start = write(value, endingAt: scratch.count, in: scratch)
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }

    /// Runs `body` over 24 bytes on the stack: room for any value's text and a few bytes around it.
    @inline(__always)
    static func withScratch<Result>(_ body: (UnsafeMutableRawBufferPointer) -> Result) -> Result {
        var scratch: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &scratch, body)
    }

    /// Writes the decimal text of `value` (a minus sign first when negative) into `buffer`, ending just before
    /// `end`, from the right; returns where it starts. It takes at most `textBytesLimit` bytes.
    @inline(__always)
    static func write(_ value: Int64, endingAt end: Int, in buffer: UnsafeMutableRawBufferPointer) -> Int {
        var start = writeDigits(value.magnitude, endingAt: end, in: buffer)
        if value < 0 {
            start -= 1
            buffer[start] = UInt8(ascii: "-")
        }
        return start
    }

    @inline(__always)
    private static func writeDigits(_ value: UInt64, endingAt end: Int, in buffer: UnsafeMutableRawBufferPointer) -> Int {
        var position = end
        var rest = value
        repeat {
            position -= 1
            buffer[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
        } while rest != 0
        return position
    }

    /// The decimal text of `value`.
    static func text(_ value: Int64) -> [UInt8] {
        // Copied once into an array of its size: appended to an empty array, it went through the growth path.
        withScratch { scratch in
            let start = write(value, endingAt: scratch.count, in: scratch)
            return Array(UnsafeRawBufferPointer(rebasing: scratch[start...]))
        }
    }
}
