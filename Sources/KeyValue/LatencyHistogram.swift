#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One command's latencies in nanoseconds, log-bucketed, for Redis 7.0's `INFO latencystats` percentiles.
///
/// Redis keeps an HdrHistogram per command (1 ns to 1 s, two significant digits). This is the same shape, smaller:
/// a value below `exactLimit` has a bucket of its own; above, each power of two is cut into `subBucketsPerOctave`
/// equal buckets, so a bucket is at most 1/64 (1.6 %) of the values it holds. Values are clamped to
/// `1...nanosecondsLimit` as Redis clamps them. The counts are allocated on a command's first recorded call and never
/// grow: `bucketCount` counters, `byteCount` bytes per command called; so `CommandStatistics` holds at most one per
/// command slot. Recording is a clamp, a leading-zero count, a shift and an increment: it runs on every command.
struct LatencyHistogram: Sendable, Equatable {
    /// Longest latency told apart (Redis's `LATENCY_HISTOGRAM_MAX_VALUE`, 1 s); longer ones count as 1 s.
    static let nanosecondsLimit: UInt64 = 1_000_000_000
    /// Buckets each power of two above `exactLimit` is cut into: the relative precision is one part in this.
    static let subBucketsPerOctave = 64
    private static let subBucketBits = 6
    /// Below this, every nanosecond value has its own bucket.
    static let exactLimit: UInt64 = 2 * UInt64(subBucketsPerOctave)
    /// Counters per histogram: the bucket of `nanosecondsLimit` is the last.
    static let bucketCount = bucketIndex(nanosecondsLimit) + 1
    /// Bytes one histogram's counters take (12,736).
    static let byteCount = bucketCount * MemoryLayout<UInt64>.size

    /// Calls per bucket; empty until the first call is recorded, then `bucketCount` long.
    private var counts: [UInt64] = []

    /// No call recorded, and nothing allocated.
    init() {}

    /// Whether no call was ever recorded (INFO shows no line for it, as Redis shows none for a command not called).
    var isEmpty: Bool { counts.isEmpty }

    /// Counts one call that took `nanoseconds`.
    @inline(__always)
    mutating func record(nanoseconds: UInt64) {
        if counts.isEmpty { allocate() }
        counts[Self.bucketIndex(nanoseconds)] &+= 1
    }

    @inline(never)
    private mutating func allocate() {
        counts = [UInt64](repeating: 0, count: Self.bucketCount)
    }

    /// The bucket `nanoseconds` counts in, after the clamp to `1...nanosecondsLimit`.
    @inline(__always)
    static func bucketIndex(_ nanoseconds: UInt64) -> Int {
        let value = max(1, min(nanoseconds, nanosecondsLimit))
        guard value >= exactLimit else { return Int(value) }
        // `value` has `magnitude + 1` bits; keeping its top `subBucketBits + 1` bits names its bucket in the octave.
        let magnitude = UInt64.bitWidth - 1 - value.leadingZeroBitCount
        let shift = magnitude - subBucketBits
        return shift * subBucketsPerOctave + Int(value >> UInt64(shift))
    }

    /// The smallest and the largest nanosecond value bucket `index` holds.
    static func range(ofBucket index: Int) -> ClosedRange<UInt64> {
        guard UInt64(index) >= exactLimit else { return UInt64(index)...UInt64(index) }
        let shift = index / subBucketsPerOctave - 1
        let lowest = UInt64(index - shift * subBucketsPerOctave) << UInt64(shift)
        return lowest...(lowest + (1 << UInt64(shift)) - 1)
    }

    /// The latency at `percentile` (0 to 100), as HdrHistogram's `hdr_value_at_percentile` gives it for Redis: the
    /// count at the percentile rounded to the nearest call (at least the first), and the largest value of the bucket
    /// where the calls reach it (the smallest, for percentile 0). Zero when nothing was recorded.
    func nanoseconds(atPercentile percentile: Double) -> UInt64 {
        let total = counts.reduce(0, &+)
        guard total > 0 else { return 0 }
        let wanted = max(1, UInt64(min(percentile, 100) / 100 * Double(total) + 0.5))
        var seen: UInt64 = 0
        for (index, count) in counts.enumerated() {
            seen &+= count
            guard seen >= wanted else { continue }
            let range = Self.range(ofBucket: index)
            return percentile == 0 ? range.lowerBound : range.upperBound
        }
        return Self.range(ofBucket: counts.count - 1).upperBound  // unreachable: `wanted` is at most `total`
    }

    /// `latency_percentiles_usec_<name>`'s value for `percentiles`: `p50=1.007,p99=3.007,p99.9=10.111`, each
    /// percentile as Redis prints it (`%f` without trailing zeros) and its latency in microseconds with 3 decimals.
    func line(percentiles: [Double]) -> String {
        percentiles.map { "p\(Self.percentileText($0))=\(Self.microsecondsText(nanoseconds(atPercentile: $0)))" }
            .joined(separator: ",")
    }

    /// `value` as Redis prints a percentile: C's `%f`, then trailing zeros and a trailing point dropped
    /// (`trimDoubleString`): `50`, `99.9`, `33.333333`.
    static func percentileText(_ value: Double) -> String {
        var buffer = [CChar](repeating: 0, count: 32)
        let length = buffer.withUnsafeMutableBufferPointer { pointer in
            withVaList([value]) { vsnprintf(pointer.baseAddress, pointer.count, "%f", $0) }
        }
        var text = buffer[0..<Int(max(0, min(length, 31)))].map { UInt8(bitPattern: $0) }
        if text.contains(UInt8(ascii: ".")) {
            while text.last == UInt8(ascii: "0") { text.removeLast() }
            if text.last == UInt8(ascii: ".") { text.removeLast() }
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// `nanoseconds` in microseconds with exactly three decimals, as Redis's `%.3f` of them: exact, as the value is
    /// a whole number of nanoseconds.
    static func microsecondsText(_ nanoseconds: UInt64) -> String {
        let fraction = nanoseconds % 1_000
        let padding = fraction < 10 ? "00" : fraction < 100 ? "0" : ""
        return "\(nanoseconds / 1_000).\(padding)\(fraction)"
    }
}
