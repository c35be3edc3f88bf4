/// The sessions group's section: each comparison's two cases side by side, with their ratios.
extension Report {
    /// One comparison's figures: each case's summary and each metric's per-round ratio.
    public struct SessionComparisonResult: Sendable {
        /// The two cases compared.
        public var comparison: SessionComparison
        /// The baseline case over the rounds; nil if it never produced figures.
        public var baseline: CaseSummary?
        /// The exactly-once case over the rounds; nil if it never produced figures.
        public var session: CaseSummary?
        /// Session ÷ baseline, per metric in `SessionComparison.metrics` order.
        public var ratios: [(metric: RatioDefinition.Metric, value: Spread?)]
    }

    /// Every comparison the run planned, with what was measured of it.
    public var sessionResults: [SessionComparisonResult] {
        let summaries = Dictionary(summaries.map { ($0.definition.key, $0) }) { first, _ in first }
        return sessionComparisons.map { comparison in
            SessionComparisonResult(
                comparison: comparison, baseline: summaries[comparison.baselineKey],
                session: summaries[comparison.sessionKey],
                ratios: SessionComparison.metrics.map { ($0, comparison.ratio($0).evaluate(rounds: rounds)) })
        }
    }

    func sessionsSection() -> [String] {
        let results = sessionResults
        guard !results.isEmpty else { return [] }
        var lines = [
            "### Exactly-once cost (sessions group; ratio = session ÷ baseline, each from one round, median "
                + "[min–max]; no target)",
            "",
            "| comparison | ops/s: baseline → session | ratio | p50 µs: baseline → session | ratio "
                + "| p99 µs: baseline → session | ratio |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for result in results {
            var cells = ["\(result.comparison.title) (\(result.comparison.note))"]
            for (metric, value) in result.ratios {
                let figure: (CaseSummary?) -> String = { summary in
                    switch metric {
                    case .operationsPerSecond: Format.spread(summary?.operationsPerSecond, Format.rate)
                    case .p50: Format.spread(summary?.p50)
                    case .p99: Format.spread(summary?.p99)
                    }
                }
                cells.append("\(figure(result.baseline)) → \(figure(result.session))")
                cells.append(Format.spread(value) { Format.plain($0) })
            }
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        return lines
    }

    func sessionsJSON() -> JSONValue {
        .array(
            sessionResults.map { result in
                .object(
                    [
                        ("title", .string(result.comparison.title)),
                        ("baseline", .string(result.comparison.baselineKey)),
                        ("session", .string(result.comparison.sessionKey)),
                        ("note", .string(result.comparison.note)),
                    ] + result.ratios.map { (Self.jsonName($0.metric), Self.json($0.value)) })
            })
    }

    static func jsonName(_ metric: RatioDefinition.Metric) -> String {
        switch metric {
        case .operationsPerSecond: "opsPerSecondRatio"
        case .p50: "p50Ratio"
        case .p99: "p99Ratio"
        }
    }
}
