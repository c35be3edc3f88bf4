/// Two cases of the sessions group set side by side: a baseline and its exactly-once counterpart.
///
/// Printed as ratios (session ÷ baseline), each from one round's two cases measured seconds apart, and never judged
/// against a target: the issue asks what exactly-once costs, not for a bound.
public struct SessionComparison: Sendable, Equatable {
    /// What is compared, as the report's row names it.
    public var title: String
    /// The case without exactly-once (plain SET, or raw `SESSION EXEC` for the library's own share).
    public var baselineKey: String
    /// The case with it.
    public var sessionKey: String
    /// What the comparison isolates, printed beside it.
    public var note: String

    /// A comparison of `sessionKey` over `baselineKey`, the keys of two cases of the same run.
    public init(title: String, baselineKey: String, sessionKey: String, note: String) {
        self.title = title
        self.baselineKey = baselineKey
        self.sessionKey = sessionKey
        self.note = note
    }

    /// The figures compared, in the order the report prints them.
    public static let metrics: [RatioDefinition.Metric] = [.operationsPerSecond, .p50, .p99]

    /// The ratio of one figure: session over baseline, per round.
    public func ratio(_ metric: RatioDefinition.Metric) -> RatioDefinition {
        RatioDefinition(
            title: "\(title), \(metric.rawValue)", numerator: (sessionKey, metric),
            denominator: (baselineKey, metric), target: nil, note: note)
    }
}
