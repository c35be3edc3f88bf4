/// A figure of one case divided by a figure of another, with the target: the numbers that count.
///
/// Absolute times move from run to run on this shared 2-core machine; a ratio of two cases measured in the same run
/// moves much less. Cases are interleaved, so each round yields one ratio from two measurements taken close
/// together; the report gives the median of those per-round ratios with their min–max.
public struct RatioDefinition: Sendable {
    /// Which figure of a case.
    public enum Metric: String, Sendable {
        case p50
        case p99
        case operationsPerSecond = "ops/s"

        func value(of measurement: CaseMeasurement) -> Double? {
            guard measurement.operations > 0 else { return nil }
            switch self {
            case .p50: return measurement.latencyMicroseconds(50)
            case .p99: return measurement.latencyMicroseconds(99)
            case .operationsPerSecond: return measurement.operationsPerSecond
            }
        }
    }

    public var title: String
    public var numerator: (caseKey: String, metric: Metric)
    public var denominator: (caseKey: String, metric: Metric)
    public var target: Target?
    /// Context printed beside the ratio, e.g. what the reference measures here.
    public var note: String

    public init(
        title: String, numerator: (String, Metric), denominator: (String, Metric), target: Target?, note: String = ""
    ) {
        self.title = title
        self.numerator = numerator
        self.denominator = denominator
        self.target = target
        self.note = note
    }

    /// The ratio in each round where both cases were measured, then summarised; nil ("n/a") if never.
    public func evaluate(rounds: [[String: CaseMeasurement]]) -> Spread? {
        let values = rounds.compactMap { round -> Double? in
            guard let top = round[numerator.caseKey].flatMap(numerator.metric.value(of:)),
                let bottom = round[denominator.caseKey].flatMap(denominator.metric.value(of:)), bottom > 0
            else { return nil }
            return top / bottom
        }
        return Spread(values)
    }
}

/// A bound a figure should meet.
public enum Target: Sendable, Equatable, CustomStringConvertible {
    case atMost(Double)
    case atLeast(Double)

    public func isMet(by value: Double) -> Bool {
        switch self {
        case .atMost(let bound): value <= bound
        case .atLeast(let bound): value >= bound
        }
    }

    public var description: String {
        switch self {
        case .atMost(let bound): "≤ \(Format.plain(bound))"
        case .atLeast(let bound): "≥ \(Format.plain(bound))"
        }
    }
}

/// A ratio as reported: its definition and its value over the rounds.
public struct RatioResult: Sendable {
    public var definition: RatioDefinition
    public var value: Spread?

    public init(definition: RatioDefinition, value: Spread?) {
        self.definition = definition
        self.value = value
    }

    /// Whether the median meets the target; nil when there is no target or no value.
    public var isMet: Bool? {
        guard let target = definition.target, let value else { return nil }
        return target.isMet(by: value.median)
    }
}

extension RatioDefinition {
    /// The ratios issue 6 asks for, over the case keys `BenchmarkPlan` uses.
    public static let standard: [RatioDefinition] = [
        RatioDefinition(
            title: "Lockstep SET p50 @1 / 2-hop floor p50 @1", numerator: ("lockstep-set@1", .p50),
            denominator: ("floor-2hop@1", .p50), target: .atMost(1.15),
            note: "fault tolerance should cost about one extra loopback round trip"),
        RatioDefinition(
            title: "Lockstep SET p50 @1 / polling 2-hop floor p50 @1", numerator: ("lockstep-set@1", .p50),
            denominator: ("floor-2hop-poll@1", .p50), target: nil,
            note: "reference: the floor polls before sleeping as a node does, so only fault tolerance differs"),
        RatioDefinition(
            title: "Redis SET+WAIT p50 @1 / 2-hop floor p50 @1", numerator: ("redis-setwait@1", .p50),
            denominator: ("floor-2hop@1", .p50), target: nil, note: "reference; about 1.5 measured here before"),
        RatioDefinition(
            title: "Lockstep SET p50 @1 / Redis SET+WAIT p50 @1", numerator: ("lockstep-set@1", .p50),
            denominator: ("redis-setwait@1", .p50), target: .atMost(0.8)),
        RatioDefinition(
            title: "Lockstep SET ops/s @64 / Redis SET ops/s @64", numerator: ("lockstep-set@64", .operationsPerSecond),
            denominator: ("redis-set@64", .operationsPerSecond), target: .atLeast(0.9),
            note: "synchronous replication at the price of asynchronous"),
        RatioDefinition(
            title: "Lockstep SET ops/s @64 / Redis SET+WAIT ops/s @64",
            numerator: ("lockstep-set@64", .operationsPerSecond),
            denominator: ("redis-setwait@64", .operationsPerSecond), target: .atLeast(1.6)),
        RatioDefinition(
            title: "Lockstep SET ops/s @64 / 2-hop floor ops/s @64",
            numerator: ("lockstep-set@64", .operationsPerSecond),
            denominator: ("floor-2hop@64", .operationsPerSecond), target: nil,
            note: "share of the batching relay's throughput"),
        RatioDefinition(
            title: "Lockstep SET ops/s / Redis SET ops/s, 16 connections × pipeline 16",
            numerator: ("lockstep-set-pipelined@16", .operationsPerSecond),
            denominator: ("redis-set-pipelined@16", .operationsPerSecond), target: .atLeast(1.0),
            note: "issue 15: pipelines at full speed"),
        RatioDefinition(
            title: "Lockstep GET ops/s / Redis GET ops/s, 16 connections × pipeline 16",
            numerator: ("lockstep-get-pipelined@16", .operationsPerSecond),
            denominator: ("redis-get-pipelined@16", .operationsPerSecond), target: .atLeast(1.0),
            note: "issue 15: reads answered without log entries"),
    ]
}
