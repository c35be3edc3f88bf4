import Testing

@testable import BenchmarkKit

/// The precision the histogram promises: a reported value is within 1/128 of the true one (plus one nanosecond of
/// integer rounding).
private func isWithinBucketPrecision(_ reported: UInt64, of exact: UInt64) -> Bool {
    let difference = reported > exact ? reported - exact : exact - reported
    return Double(difference) <= Double(exact) / 128 + 1
}

@Suite("LatencyHistogram")
struct LatencyHistogramTests {
    @Test("an empty histogram reports zeros")
    func emptyReportsZeros() {
        let histogram = LatencyHistogram()
        #expect(histogram.count == 0)
        #expect(histogram.min == 0)
        #expect(histogram.max == 0)
        #expect(histogram.percentile(50) == 0)
    }

    @Test("values below 128 ns are exact")
    func smallValuesAreExact() {
        var histogram = LatencyHistogram()
        for value in 1...100 as ClosedRange<UInt64> { histogram.record(value) }
        #expect(histogram.percentile(50) == 50)
        #expect(histogram.percentile(99) == 99)
        #expect(histogram.percentile(100) == 100)
        #expect(histogram.min == 1)
    }

    @Test("percentiles of 1...100_000 µs are within bucket precision")
    func uniformMicroseconds() {
        var histogram = LatencyHistogram()
        for microseconds in 1...100_000 as ClosedRange<UInt64> { histogram.record(microseconds * 1_000) }
        for (percentile, exact) in [(50.0, 50_000_000), (90.0, 90_000_000), (99.0, 99_000_000), (99.9, 99_900_000)]
            as [(Double, UInt64)]
        {
            #expect(isWithinBucketPrecision(histogram.percentile(percentile), of: exact), "p\(percentile)")
        }
        #expect(histogram.percentile(100) == 100_000_000)
        #expect(histogram.min == 1_000)
        #expect(histogram.count == 100_000)
    }

    @Test("a skewed distribution reports its tail, not its bulk")
    func skewedTail() {
        var histogram = LatencyHistogram()
        for _ in 0..<9_900 { histogram.record(13_000) }  // 99% at 13 µs
        for _ in 0..<90 { histogram.record(200_000) }  // 0.9% at 200 µs
        for _ in 0..<10 { histogram.record(5_000_000) }  // 0.1% at 5 ms
        #expect(isWithinBucketPrecision(histogram.percentile(50), of: 13_000))
        #expect(isWithinBucketPrecision(histogram.percentile(99), of: 13_000))
        #expect(isWithinBucketPrecision(histogram.percentile(99.5), of: 200_000))
        #expect(isWithinBucketPrecision(histogram.percentile(99.95), of: 5_000_000))
        #expect(histogram.max == 5_000_000)
    }

    @Test("every bucket maps back to the values that fall in it")
    func bucketIndexRoundTrips() {
        var value: UInt64 = 1
        while value < UInt64.max / 3 {
            for probe in [value, value + 1, value * 3 / 2] {
                let index = LatencyHistogram.bucketIndex(of: probe)
                let (low, width) = LatencyHistogram.bucketRange(index)
                #expect(low <= probe && probe - low < width, "value \(probe) in bucket \(index)")
                #expect(width == 1 || Double(width) / Double(low) <= 1.0 / 64, "bucket \(index) too wide")
            }
            value = value * 2 + 1
        }
        #expect(LatencyHistogram.bucketIndex(of: .max) == LatencyHistogram.bucketCount - 1)
    }

    @Test("merging equals recording everything in one histogram")
    func mergeEqualsCombinedRecording() {
        var first = LatencyHistogram(), second = LatencyHistogram(), combined = LatencyHistogram()
        var generator = SplitMix(seed: 7)
        for index in 0..<20_000 {
            let value = generator.next() % 10_000_000
            if index % 3 == 0 { first.record(value) } else { second.record(value) }
            combined.record(value)
        }
        first.merge(second)
        #expect(first == combined)
        #expect(first.percentile(99.9) == combined.percentile(99.9))
    }

    @Test("percentiles of random data agree with the sorted samples within bucket precision")
    func randomDataMatchesSortedSamples() {
        var histogram = LatencyHistogram()
        var generator = SplitMix(seed: 42)
        var samples: [UInt64] = []
        for _ in 0..<50_000 {
            // Log-uniform from about 1 µs to 10 ms, like real latencies.
            let exponent = Double(generator.next() % 1_000_000) / 1_000_000 * 4 + 3
            let value = UInt64(pow10(exponent))
            samples.append(value)
            histogram.record(value)
        }
        samples.sort()
        for percentile in [50.0, 90, 99, 99.9] {
            let rank = Int((percentile / 100 * Double(samples.count)).rounded(.up)) - 1
            #expect(isWithinBucketPrecision(histogram.percentile(percentile), of: samples[rank]), "p\(percentile)")
        }
    }
}

/// A tiny seeded generator, so the random tests are reproducible.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// 10^x without Foundation.
func pow10(_ exponent: Double) -> Double {
    var result = 1.0
    var whole = Int(exponent)
    while whole > 0 {
        result *= 10
        whole -= 1
    }
    let fraction = exponent - Double(Int(exponent))
    // e^(fraction × ln 10) by its series: plenty accurate for test data.
    let x = fraction * 2.302585092994046
    var term = 1.0, sum = 1.0
    for n in 1...30 {
        term *= x / Double(n)
        sum += term
    }
    return result * sum
}
