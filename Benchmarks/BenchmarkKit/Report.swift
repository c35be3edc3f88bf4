/// Everything one run measured, and its two renderings: a markdown table for people, one JSON object for tools.
public struct Report: Sendable {
    public var machine: MachineInfo
    /// `git rev-parse --short HEAD`, or nil outside a checkout.
    public var commit: String?
    /// When the run started, UTC, e.g. `2026-11-23 17:15`.
    public var date: String
    /// `quick` or `full`, with the rounds and case duration.
    public var profile: String
    /// Every case in the order it first ran.
    public var cases: [CaseDefinition]
    /// Per round, each case's measurement by key.
    public var rounds: [[String: CaseMeasurement]]
    public var ratioDefinitions: [RatioDefinition]
    public var failover: FailoverResult?
    public var backpressure: BackpressureResult?
    /// The scale run: per key count, Lockstep then Redis.
    public var scale: [ScaleResult] = []
    /// The durability group's restart and context; its SET cases are in `rounds` like every other case.
    public var durability: DurabilityResult?
    /// The redis-benchmark group's runs; nil when it did not run.
    public var redisBenchmark: RedisBenchmarkResult?
    /// The sessions group's side-by-side comparisons; empty when the group did not run.
    public var sessionComparisons: [SessionComparison] = []
    /// Things the reader must know: a missing Redis, a missing binary, a group that failed.
    public var notes: [String]

    public init(
        machine: MachineInfo, commit: String?, date: String, profile: String, cases: [CaseDefinition] = [],
        rounds: [[String: CaseMeasurement]] = [], ratioDefinitions: [RatioDefinition] = RatioDefinition.standard,
        failover: FailoverResult? = nil, backpressure: BackpressureResult? = nil, notes: [String] = []
    ) {
        self.machine = machine
        self.commit = commit
        self.date = date
        self.profile = profile
        self.cases = cases
        self.rounds = rounds
        self.ratioDefinitions = ratioDefinitions
        self.failover = failover
        self.backpressure = backpressure
        self.notes = notes
    }

    /// Adds one case's measurement to round `round`, remembering the case's order of first appearance.
    public mutating func record(_ measurement: CaseMeasurement, for definition: CaseDefinition, round: Int) {
        if !cases.contains(where: { $0.key == definition.key }) { cases.append(definition) }
        while rounds.count <= round { rounds.append([:]) }
        rounds[round][definition.key] = measurement
    }

    public var summaries: [CaseSummary] {
        cases.map { definition in
            CaseSummary(definition: definition, measurements: rounds.compactMap { $0[definition.key] })
        }
    }

    public var ratios: [RatioResult] {
        ratioDefinitions.map { RatioResult(definition: $0, value: $0.evaluate(rounds: rounds)) }
    }

    /// Total errors over all cases, failover load excluded (a killed primary's clients must see errors).
    public var totalErrors: UInt64 {
        rounds.reduce(0) { total, round in total + round.values.reduce(0) { $0 + $1.errors } }
    }
}
