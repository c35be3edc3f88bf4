import Synchronization

/// Redis's encoding thresholds (`hash-max-listpack-entries` and the like), as this node's CONFIG holds them.
///
/// In Redis they choose between a compact and a general layout for small collections, and change no reply. The store
/// keeps one layout per type, so here they tune nothing: CONFIG SET keeps a valid value and CONFIG GET shows it, so
/// that tools and test harnesses that set them go on. OBJECT ENCODING keeps answering by Redis's defaults, as its
/// answer is part of the replicated state's replies and a node-local setting must not change them.
public final class EncodingSettings: Sendable {
    /// One threshold: its name, Redis's older name, its default and the values Redis accepts.
    struct Threshold: Sendable {
        var name: String
        var alias: String?
        var defaultValue: Int64
        var range: ClosedRange<Int64>
        /// Whether Redis takes it as a memory size (`1kb`, `2mb`) as well as a plain number of bytes.
        var isMemory = false
    }

    /// Redis 7.0's (config.c), in the order CONFIG GET lists them.
    static let thresholds: [Threshold] = [
        Threshold(name: "hash-max-listpack-entries", alias: "hash-max-ziplist-entries", defaultValue: 512,
                  range: 0...Int64.max),
        Threshold(name: "hash-max-listpack-value", alias: "hash-max-ziplist-value", defaultValue: 64,
                  range: 0...Int64.max, isMemory: true),
        Threshold(name: "list-max-listpack-size", alias: "list-max-ziplist-size", defaultValue: -2,
                  range: Int64(Int32.min)...Int64(Int32.max)),
        Threshold(name: "list-compress-depth", alias: nil, defaultValue: 0, range: 0...Int64(Int32.max)),
        Threshold(name: "set-max-intset-entries", alias: nil, defaultValue: 512, range: 0...Int64.max),
        Threshold(name: "zset-max-listpack-entries", alias: "zset-max-ziplist-entries", defaultValue: 128,
                  range: 0...Int64.max),
        Threshold(name: "zset-max-listpack-value", alias: "zset-max-ziplist-value", defaultValue: 64,
                  range: 0...Int64.max, isMemory: true),
    ]

    /// One value per threshold, by index in `thresholds`.
    private let values = Mutex(EncodingSettings.thresholds.map(\.defaultValue))

    /// Every threshold at Redis's default.
    public init() {}

    /// The value of the threshold at `index` in `thresholds`.
    func value(at index: Int) -> Int64 { values.withLock { $0[index] } }

    /// Sets the threshold at `index` from CONFIG SET's text; Redis's reason when the text is not a valid value.
    func set(_ text: String, at index: Int) -> String? {
        let threshold = Self.thresholds[index]
        guard let value = threshold.isMemory ? Self.memorySize(text) : DecimalInteger.parse(Array(text.utf8)) else {
            return threshold.isMemory
                ? "argument must be a memory value" : "argument couldn't be parsed into an integer"
        }
        guard threshold.range.contains(value) else {
            return "argument must be between \(threshold.range.lowerBound) and \(threshold.range.upperBound) inclusive"
        }
        values.withLock { $0[index] = value }
        return nil
    }

    /// Redis's `memtoull`: a number of bytes, optionally with a unit `b`, `k`, `kb`, `m`, `mb`, `g` or `gb` (any case;
    /// `k` is 1000, `kb` 1024); nil for anything else or a size that does not fit.
    static func memorySize(_ text: String) -> Int64? {
        let lowered = text.lowercased()
        let units: [(suffix: String, factor: Int64)] = [
            ("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 1_000_000_000), ("m", 1_000_000), ("k", 1_000),
            ("b", 1),
        ]
        let unit = units.first { lowered.hasSuffix($0.suffix) } ?? ("", 1)
        let digits = Array(lowered.dropLast(unit.suffix.count).utf8)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let number = DecimalInteger.parse(digits)
        else { return nil }
        let (product, overflow) = number.multipliedReportingOverflow(by: unit.factor)
        return overflow ? nil : product
    }
}
