/// The median of a figure over rounds, with its smallest and largest value.
///
/// The machine is shared and noisy (IO-FINDINGS: up to 2× between identical runs), so every figure is measured in
/// several interleaved rounds and reported as median [min–max] rather than as one number or a mean.
public struct Spread: Sendable, Equatable {
    public var median: Double
    public var min: Double
    public var max: Double
    /// How many rounds contributed.
    public var samples: Int

    public init(median: Double, min: Double, max: Double, samples: Int) {
        self.median = median
        self.min = min
        self.max = max
        self.samples = samples
    }

    /// The spread of `values`; nil when there are none. An even count takes the mean of the middle two.
    public init?(_ values: [Double]) {
        let finite = values.filter { $0.isFinite }
        guard !finite.isEmpty else { return nil }
        let sorted = finite.sorted()
        let middle = sorted.count / 2
        median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
        min = sorted[0]
        max = sorted[sorted.count - 1]
        samples = sorted.count
    }
}
