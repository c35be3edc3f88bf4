/// Number formatting for the markdown report: short, fixed rules, no locale.
public enum Format {
    /// A number with up to `decimals` decimals and no trailing zeros: `1.15`, `0.9`, `12`.
    public static func plain(_ value: Double, decimals: Int = 2) -> String {
        guard value.isFinite else { return "n/a" }
        var text = fixed(value, decimals: decimals)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// A number with exactly `decimals` decimals, rounded half away from zero.
    public static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "n/a" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let whole = UInt64(scaled / scale)
        let fraction = UInt64(scaled - Double(whole) * scale)
        let sign = value < 0 && scaled > 0 ? "-" : ""
        guard decimals > 0 else { return sign + String(whole) }
        let digits = String(fraction)
        return sign + String(whole) + "." + String(repeating: "0", count: decimals - digits.count) + digits
    }

    /// Three significant figures for latencies and CPU: `13.1`, `457`, `2640`, `0.842`.
    public static func significant(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        let magnitude = abs(value)
        if magnitude >= 100 { return fixed(value, decimals: 0) }
        if magnitude >= 10 { return fixed(value, decimals: 1) }
        if magnitude >= 1 { return fixed(value, decimals: 2) }
        return fixed(value, decimals: 3)
    }

    /// Operations per second with a k/M suffix: `181k`, `1.20M`, `950`.
    public static func rate(_ value: Double) -> String {
        guard value.isFinite else { return "n/a" }
        if value >= 1e6 { return fixed(value / 1e6, decimals: 2) + "M" }
        if value >= 1e4 { return fixed(value / 1e3, decimals: 0) + "k" }
        if value >= 1e3 { return fixed(value / 1e3, decimals: 1) + "k" }
        return fixed(value, decimals: 0)
    }

    /// `median [min–max]` with `render` for each; the range is left out for a single round or no spread.
    public static func spread(_ spread: Spread?, _ render: (Double) -> String = significant) -> String {
        guard let spread else { return "n/a" }
        let median = render(spread.median)
        guard spread.samples > 1 else { return median }
        let low = render(spread.min), high = render(spread.max)
        return low == high ? median : "\(median) [\(low)–\(high)]"
    }

    /// Bytes as MiB with one decimal.
    public static func mebibytes(_ bytes: UInt64) -> String { fixed(Double(bytes) / 1_048_576, decimals: 1) + " MiB" }

    /// A duration in the unit that suits it: `850.2 ms` under a second, `3.45 s` from there.
    public static func duration(_ nanoseconds: UInt64) -> String {
        nanoseconds < 1_000_000_000 ? milliseconds(nanoseconds) : plain(Double(nanoseconds) / 1e9) + " s"
    }

    /// Nanoseconds as milliseconds with one decimal.
    public static func milliseconds(_ nanoseconds: UInt64) -> String {
        fixed(Double(nanoseconds) / 1e6, decimals: 1) + " ms"
    }
}
