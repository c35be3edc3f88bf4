extension Report {
    /// The whole report as one JSON object (`--json PATH`), with the same figures as the markdown.
    public func json() -> JSONValue {
        let fields: [(String, JSONValue)] = [
            ("date", .string(date)),
            ("commit", commit.map(JSONValue.string) ?? .null),
            ("profile", .string(profile)),
            ("rounds", .number(Double(rounds.count))),
            (
                "machine",
                .object([
                    ("cores", .number(Double(machine.cores))), ("kernel", .string(machine.kernel)),
                    ("architecture", .string(machine.architecture)),
                    ("cpu", machine.cpuModel.map(JSONValue.string) ?? .null),
                ])
            ),
            ("cases", .array(summaries.map(Self.json))),
            ("ratios", .array(ratios.map(Self.json))),
            ("sessions", sessionsJSON()),
            ("failover", failover.map(Self.json) ?? .null),
            ("backpressure", backpressure.map(Self.json) ?? .null),
            ("durability", durabilityJSON()),
            ("scale", .array(scale.map(Self.json))),
            ("redisBenchmark", redisBenchmarkJSON()),
            ("errors", .number(Double(totalErrors))),
            ("notes", .array(notes.map(JSONValue.string))),
        ]
        return .object(fields)
    }

    static func json(_ spread: Spread?) -> JSONValue {
        guard let spread else { return .null }
        return .object([
            ("median", .number(spread.median)), ("min", .number(spread.min)), ("max", .number(spread.max)),
            ("rounds", .number(Double(spread.samples))),
        ])
    }

    static func json(_ summary: CaseSummary) -> JSONValue {
        let definition = summary.definition
        return .object([
            ("key", .string(definition.key)),
            ("group", .string(definition.group.rawValue)),
            ("title", .string(definition.title)),
            ("connections", .number(Double(definition.connections))),
            ("pipelineDepth", .number(Double(definition.pipelineDepth))),
            ("rounds", .number(Double(summary.rounds))),
            ("opsPerSecond", json(summary.operationsPerSecond)),
            (
                "latencyMicroseconds",
                .object([("p50", json(summary.p50)), ("p99", json(summary.p99)), ("p99.9", json(summary.p999)),
                    ("max", json(summary.max))])
            ),
            ("errors", .number(Double(summary.errors))),
            ("errorSamples", .array(summary.errorSamples.map(JSONValue.string))),
            ("serverCPUMicrosecondsPerOp", json(summary.serverCPUMicrosecondsPerOperation)),
            (
                "serverCPUMicrosecondsPerOpByProcess",
                .object(summary.serverCPUByProcess.map { ($0.name, json($0.spread)) })
            ),
            ("clientCPUMicrosecondsPerOp", json(summary.clientCPUMicrosecondsPerOperation)),
            (
                "batching",
                .object([
                    ("entriesPerWrite", json(summary.entriesPerWrite)), ("entriesPerAck", json(summary.entriesPerAck)),
                    ("counterDeltas", .object(summary.counterDeltas.map { ($0.name, json($0.spread)) })),
                ])
            ),
        ])
    }

    static func json(_ ratio: RatioResult) -> JSONValue {
        let definition = ratio.definition
        var target: JSONValue = .null
        switch definition.target {
        case .atMost(let bound): target = .object([("atMost", .number(bound))])
        case .atLeast(let bound): target = .object([("atLeast", .number(bound))])
        case nil: break
        }
        return .object([
            ("title", .string(definition.title)),
            (
                "numerator",
                .object([("case", .string(definition.numerator.caseKey)),
                    ("metric", .string(definition.numerator.metric.rawValue))])
            ),
            (
                "denominator",
                .object([("case", .string(definition.denominator.caseKey)),
                    ("metric", .string(definition.denominator.metric.rawValue))])
            ),
            ("value", json(ratio.value)),
            ("target", target),
            ("met", ratio.isMet.map(JSONValue.bool) ?? .null),
            ("note", .string(definition.note)),
        ])
    }

    static func json(_ failover: FailoverResult) -> JSONValue {
        .object([
            ("detectionTimeout", .string(failover.detectionTimeout)),
            ("isDefaultTimeout", .bool(failover.isDefaultTimeout)),
            ("killToFirstAckMilliseconds", json(failover.killToFirstAckMilliseconds)),
            ("rejoinMilliseconds", json(failover.rejoinMilliseconds)),
            ("failedCycles", .number(Double(failover.failedCycles))),
            (
                "cycles",
                .array(
                    failover.cycles.map { cycle in
                        .object([
                            ("killed", .string(cycle.killedNode)),
                            (
                                "killToFirstAckMilliseconds",
                                .number(cycle.killToFirstAckNanoseconds.map { Double($0) / 1e6 })
                            ),
                            ("rejoinMilliseconds", .number(cycle.rejoinNanoseconds.map { Double($0) / 1e6 })),
                            ("problem", cycle.problem.map(JSONValue.string) ?? .null),
                        ])
                    })
            ),
        ])
    }

    static func json(_ result: BackpressureResult) -> JSONValue {
        .object([
            ("unackedBytesLimit", .number(Double(result.unackedBytesLimit))),
            ("unackedEntriesLimit", .number(Double(result.unackedEntriesLimit))),
            ("allowanceBytes", .number(Double(result.allowanceBytes))),
            ("baselineRSSBytes", .number(Double(result.baselineRSSBytes))),
            ("peakRSSBytes", .number(Double(result.peakRSSBytes))),
            ("withinMemoryBound", .bool(result.isWithinMemoryBound)),
            ("opsPerSecondBefore", .number(result.operationsPerSecondBefore)),
            ("intakePauseMilliseconds", .number(result.intakePauseNanoseconds.map { Double($0) / 1e6 })),
            // `{ Double($0) }`, not `Double.init`: for a UInt64 that reference picks `init(bitPattern:)`.
            ("entriesAppendedWhileStopped", .number(result.entriesAppendedWhileStopped.map { Double($0) })),
            ("unackedEntriesPeak", .number(result.unackedEntriesPeak.map { Double($0) })),
            ("intakePausesCounted", .number(Double(result.intakePausesCounted))),
            ("stoppedMilliseconds", .number(Double(result.stoppedNanoseconds) / 1e6)),
            ("resumeMilliseconds", .number(result.resumeNanoseconds.map { Double($0) / 1e6 })),
            ("opsPerSecondAfter", .number(result.operationsPerSecondAfter)),
            ("errors", .number(Double(result.errors))),
            ("errorSamples", .array(result.errorSamples.map(JSONValue.string))),
            ("outcome", .string(result.outcome.rawValue)),
            ("roleAfter", .string(result.roleAfter)),
        ])
    }
}
