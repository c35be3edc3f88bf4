import Testing

@testable import BenchmarkKit

/// A measurement whose every operation took `p50Microseconds`, at `opsPerSecond` over one second.
private func measurement(p50Microseconds: UInt64, opsPerSecond: UInt64, errors: UInt64 = 0) -> CaseMeasurement {
    var histogram = LatencyHistogram()
    for _ in 0..<100 { histogram.record(p50Microseconds * 1_000) }
    return CaseMeasurement(
        operations: opsPerSecond, elapsedNanoseconds: 1_000_000_000, histogram: histogram, errors: errors)
}

/// A measurement whose p50 is `microseconds`.
private func latency(_ microseconds: UInt64) -> CaseMeasurement {
    measurement(p50Microseconds: microseconds, opsPerSecond: 1)
}

/// A measurement of `opsPerSecond`.
private func rate(_ opsPerSecond: UInt64) -> CaseMeasurement {
    measurement(p50Microseconds: 1, opsPerSecond: opsPerSecond)
}

@Suite("Spread")
struct SpreadTests {
    @Test("an odd count takes the middle value, with min and max")
    func oddMedian() {
        #expect(Spread([3, 1, 2]) == Spread(median: 2, min: 1, max: 3, samples: 3))
    }

    @Test("an even count takes the mean of the middle two")
    func evenMedian() {
        #expect(Spread([10, 40, 20, 30]) == Spread(median: 25, min: 10, max: 40, samples: 4))
    }

    @Test("no values, or only non-finite ones, give no spread")
    func emptyIsNil() {
        #expect(Spread([]) == nil)
        #expect(Spread([.nan, .infinity]) == nil)
        #expect(Spread([.nan, 5]) == Spread(median: 5, min: 5, max: 5, samples: 1))
    }
}

@Suite("Ratios")
struct RatioTests {
    let latencyRatio = RatioDefinition(
        title: "a / b", numerator: ("a", .p50), denominator: ("b", .p50), target: .atMost(1.15))
    let throughputRatio = RatioDefinition(
        title: "a / b", numerator: ("a", .operationsPerSecond), denominator: ("b", .operationsPerSecond),
        target: .atLeast(0.9))

    @Test("a ratio is computed per round, then summarised as median with min and max")
    func perRoundThenMedian() {
        let rounds: [[String: CaseMeasurement]] = [
            ["a": latency(30), "b": latency(20)],
            ["a": latency(40), "b": latency(40)],
            ["a": latency(60), "b": latency(50)],
        ]
        let value = latencyRatio.evaluate(rounds: rounds)
        #expect(value?.samples == 3)
        #expect(abs((value?.median ?? 0) - 1.2) < 0.01)
        #expect(abs((value?.min ?? 0) - 1.0) < 0.01)
        #expect(abs((value?.max ?? 0) - 1.5) < 0.01)
        #expect(RatioResult(definition: latencyRatio, value: value).isMet == false)
    }

    @Test("throughput ratios divide operations per second")
    func throughputRatiosDivideRates() throws {
        let rounds: [[String: CaseMeasurement]] = [
            ["a": rate(95_000), "b": rate(100_000)],
        ]
        let value = try #require(throughputRatio.evaluate(rounds: rounds))
        #expect(abs(value.median - 0.95) < 1e-9)
        #expect(RatioResult(definition: throughputRatio, value: value).isMet == true)
    }

    @Test("a round missing either case is skipped; none at all gives n/a")
    func missingReferenceIsNotAvailable() {
        let partial: [[String: CaseMeasurement]] = [
            ["a": latency(30)],
            ["a": latency(30), "b": latency(30)],
        ]
        #expect(latencyRatio.evaluate(rounds: partial)?.samples == 1)
        let absent: [[String: CaseMeasurement]] = [["a": latency(30)]]
        #expect(latencyRatio.evaluate(rounds: absent) == nil)
        #expect(RatioResult(definition: latencyRatio, value: nil).isMet == nil)
    }

    @Test("a case that completed nothing cannot be a denominator")
    func emptyDenominatorIsSkipped() {
        let empty = CaseMeasurement(operations: 0, elapsedNanoseconds: 1_000_000_000, histogram: LatencyHistogram())
        let rounds: [[String: CaseMeasurement]] = [["a": latency(30), "b": empty]]
        #expect(throughputRatio.evaluate(rounds: rounds) == nil)
    }

    @Test("targets compare the median against their bound")
    func targets() {
        #expect(Target.atMost(1.15).isMet(by: 1.15))
        #expect(!Target.atMost(1.15).isMet(by: 1.16))
        #expect(Target.atLeast(1.6).isMet(by: 1.6))
        #expect(!Target.atLeast(1.6).isMet(by: 1.59))
    }

    @Test("the standard ratios name cases the plan runs")
    func standardRatiosReferToPlannedCases() {
        let keys = Set(BenchmarkPlan.full.allCases.map(\.key))
        for ratio in RatioDefinition.standard {
            #expect(keys.contains(ratio.numerator.caseKey), "\(ratio.title)")
            #expect(keys.contains(ratio.denominator.caseKey), "\(ratio.title)")
        }
    }
}

@Suite("Case summaries")
struct CaseSummaryTests {
    @Test("each figure is the median over rounds, errors are summed")
    func summaryOverRounds() throws {
        let definition = CaseDefinition(key: "x", group: .lockstep, title: "X", connections: 1)
        var rounds = [
            measurement(p50Microseconds: 10, opsPerSecond: 1_000, errors: 1),
            measurement(p50Microseconds: 30, opsPerSecond: 3_000),
            measurement(p50Microseconds: 20, opsPerSecond: 2_000, errors: 2),
        ]
        rounds[0].serverCPUNanoseconds = ["a": 5_000_000, "b": 1_000_000]  // 5 and 1 µs per op
        rounds[1].serverCPUNanoseconds = ["a": 6_000_000, "b": 3_000_000]  // 2 and 1 µs per op
        rounds[2].serverCPUNanoseconds = ["a": 8_000_000, "b": 2_000_000]  // 4 and 1 µs per op
        let summary = CaseSummary(definition: definition, measurements: rounds)
        #expect(summary.operationsPerSecond == Spread(median: 2_000, min: 1_000, max: 3_000, samples: 3))
        let p50 = try #require(summary.p50)
        #expect(abs(p50.median - 20) < 0.2 && abs(p50.min - 10) < 0.1 && abs(p50.max - 30) < 0.3)
        #expect(summary.errors == 3)
        #expect(summary.serverCPUByProcess.map(\.name) == ["a", "b"])
        #expect(summary.serverCPUByProcess[0].spread.median == 4)
        #expect(summary.serverCPUMicrosecondsPerOperation?.median == 5)  // totals 6, 3, 5
    }

    @Test("batching figures divide entries by writes and by acks")
    func batchingFigures() {
        let figures = BatchingFigures(counterDeltas: [
            "lockstep_channel_entries_sent": 2_500, "lockstep_channel_writes": 100, "lockstep_acks_received": 125,
        ])
        #expect(figures == BatchingFigures(entriesPerWrite: 25, entriesPerAck: 20))
        #expect(BatchingFigures(counterDeltas: ["lockstep_channel_writes": 0]).entriesPerWrite == nil)
    }

    @Test("counters named differently are still found by their words")
    func batchingFallsBackToNameParts() {
        let figures = BatchingFigures(counterDeltas: [
            "lockstep_log_entries_sent": 300, "lockstep_channel_writes_total": 10, "lockstep_acks_received_total": 30,
        ])
        #expect(figures == BatchingFigures(entriesPerWrite: 30, entriesPerAck: 10))
    }
}

@Suite("Report rendering")
struct ReportRenderingTests {
    func sampleReport() -> Report {
        var report = Report(
            machine: MachineInfo(cores: 2, kernel: "Linux 6.1", architecture: "x86_64", cpuModel: nil),
            commit: "abc1234", date: "2026-01-01 00:00 UTC", profile: "quick")
        let lockstep = CaseDefinition(key: "lockstep-set@1", group: .lockstep, title: "Lockstep SET", connections: 1)
        let floor = CaseDefinition(key: "floor-2hop@1", group: .floors, title: "2-hop relay", connections: 1)
        report.record(measurement(p50Microseconds: 33, opsPerSecond: 30_000), for: lockstep, round: 0)
        report.record(measurement(p50Microseconds: 30, opsPerSecond: 33_000), for: floor, round: 0)
        return report
    }

    @Test("the markdown shows every case, each ratio, and n/a for a missing reference")
    func markdownShowsCasesAndRatios() {
        let text = sampleReport().markdown()
        #expect(text.contains("| Lockstep SET | 1 |"))
        #expect(text.contains("| 2-hop relay | 1 |"))
        #expect(text.contains("Lockstep SET p50 @1 / 2-hop floor p50 @1"))
        #expect(text.contains("| 1.1 | ≤ 1.15 | yes |"))
        #expect(text.contains("Lockstep SET p50 @1 / Redis SET+WAIT p50 @1 | n/a |"))
    }

    @Test("the exactly-once section sets each pair side by side with session ÷ baseline per figure")
    func sessionsSection() {
        var report = sampleReport()
        #expect(!report.markdown().contains("Exactly-once cost"))
        var plan = BenchmarkPlan.quick
        plan.sessionConnections = [1]
        plan.sessionRequestsInFlight = nil
        report.sessionComparisons = plan.sessionComparisons
        let cases = plan.cases(in: .sessions)
        report.record(measurement(p50Microseconds: 100, opsPerSecond: 10_000), for: cases[0], round: 0)
        report.record(measurement(p50Microseconds: 125, opsPerSecond: 8_000), for: cases[1], round: 0)
        let row = report.markdown().split(separator: "\n").first { $0.hasPrefix("| SESSION EXEC SET / SET, 1 connection") }
        #expect(row?.contains("| 10k → 8.0k | 0.8 |") == true, "\(row ?? "no row")")
        #expect(row?.contains("| 1.25 |") == true, "\(row ?? "no row")")
        let json = report.json().rendered()
        #expect(json.contains("\"opsPerSecondRatio\":{\"median\":0.8"))
        #expect(json.contains("\"session\":\"sessions-exec-set@1\""))
    }

    @Test("the JSON is one object with machine, commit, cases and ratios")
    func jsonHasTheContext() {
        let text = sampleReport().json().rendered()
        #expect(text.hasPrefix("{\"date\":"))
        #expect(text.contains("\"commit\":\"abc1234\""))
        #expect(text.contains("\"cores\":2"))
        #expect(text.contains("\"key\":\"lockstep-set@1\""))
        #expect(text.contains("\"value\":null"))  // a ratio without its reference
    }

    @Test("the backpressure section gives the log's growth, or says INFO went unanswered and what was watched")
    func backpressureIntakeWatch() {
        func result(appended: UInt64?) -> BackpressureResult {
            BackpressureResult(
                unackedBytesLimit: 512 << 10, unackedEntriesLimit: 1_000_000, allowanceBytes: 16 << 20,
                baselineRSSBytes: 16 << 20, peakRSSBytes: 17 << 20, operationsPerSecondBefore: 700_000,
                intakePauseNanoseconds: 0, entriesAppendedWhileStopped: appended, unackedEntriesPeak: 5_000,
                intakePausesCounted: 1, resumeNanoseconds: 35_000_000, operationsPerSecondAfter: 700_000, errors: 0,
                errorSamples: [], outcome: .resumedProtected, roleAfter: "primary", stoppedNanoseconds: 3_000_000_000)
        }
        var report = sampleReport()
        report.backpressure = result(appended: 16_431)
        #expect(report.markdown().contains("while stopped the primary appended 16431 entries; unacked log peak 5000"))
        #expect(report.json().rendered().contains("\"entriesAppendedWhileStopped\":16431"))
        #expect(report.json().rendered().contains("\"unackedEntriesPeak\":5000"))
        report.backpressure = result(appended: nil)
        #expect(report.markdown().contains("the primary answered no INFO (a paused core reads no client)"))
        #expect(report.json().rendered().contains("\"entriesAppendedWhileStopped\":null"))
    }

    @Test("JSON strings are escaped and non-finite numbers become null")
    func jsonEscaping() {
        #expect(JSONValue.string("a\"b\\c\n\u{1}").rendered() == "\"a\\\"b\\\\c\\n\\u0001\"")
        #expect(JSONValue.number(Double.nan).rendered() == "null")
        #expect(JSONValue.number(3.0).rendered() == "3")
        #expect(JSONValue.number(0.125).rendered() == "0.125")
    }

    @Test("numbers are formatted short and without locale")
    func formatting() {
        #expect(Format.plain(1.150) == "1.15")
        #expect(Format.plain(2) == "2")
        #expect(Format.rate(181_234) == "181k")
        #expect(Format.rate(1_234) == "1.2k")
        #expect(Format.significant(13.14) == "13.1")
        #expect(Format.significant(0.8421) == "0.842")
        #expect(Format.spread(Spread(median: 2, min: 1, max: 3, samples: 3)) == "2.00 [1.00–3.00]")
    }

    @Test("failover targets hold for the default timeout only, and a failed cycle misses them")
    func failoverVerdicts() {
        var report = sampleReport()
        let fast = FailoverCycle(killedNode: "a", killToFirstAckNanoseconds: 50_000_000, rejoinNanoseconds: 10_000_000)
        report.failover = FailoverResult(cycles: [fast, fast], detectionTimeout: "300 ms", isDefaultTimeout: true)
        #expect(report.markdown().contains("| failover median, kill to first acked write, ms | 50 | ≤ 200 | yes |"))
        let lost = FailoverCycle(killedNode: "b", killToFirstAckNanoseconds: nil, rejoinNanoseconds: nil)
        report.failover = FailoverResult(cycles: [fast, lost], detectionTimeout: "300 ms", isDefaultTimeout: true)
        #expect(report.markdown().contains("| failover max, kill to first acked write, ms | 50 | ≤ 400 | **no** |"))
        report.failover = FailoverResult(cycles: [fast], detectionTimeout: "1000 ms", isDefaultTimeout: false)
        #expect(report.markdown().contains("target not applicable) | 50 | ≤ 200 | n/a |"))
    }
}

@Suite("Scale report")
struct ScaleReportTests {
    private func result(_ system: ScaleResult.System, reprotectSeconds: Double, probeMaxMilliseconds: UInt64,
        primaryBytes: UInt64) -> ScaleResult
    {
        var result = ScaleResult(system: system, keys: 1_000)
        result.loadNanoseconds = 1_000_000_000
        result.reprotectNanoseconds = UInt64(reprotectSeconds * 1e9)
        var probe = LatencyHistogram()
        probe.record(probeMaxMilliseconds * 1_000_000)
        result.probe = probe
        result.residentBytesAfterLoad = ["primary": primaryBytes, system == .lockstep ? "backup" : "replica": 1 << 20]
        result.residentBytesAfterReprotect = result.residentBytesAfterLoad
        return result
    }

    @Test("Lockstep sits beside Redis with the ratio and the verdict of each target")
    func sideBySide() {
        var report = Report(machine: .current(), commit: nil, date: "today", profile: "test")
        report.scale = [
            result(.lockstep, reprotectSeconds: 3, probeMaxMilliseconds: 30, primaryBytes: 21 << 20),
            result(.redis, reprotectSeconds: 2, probeMaxMilliseconds: 1, primaryBytes: 14 << 20),
        ]
        let lines = report.markdown().split(separator: "\n").map(String.init)
        let reprotect = lines.first { $0.hasPrefix("| kill -9 of the backup") }
        #expect(reprotect == "| kill -9 of the backup (replica) → protecting again | 3 s | 2 s | 1.5 | ≤ 1.0× | **no** |")
        let probeMax = lines.first { $0.hasPrefix("| primary's 1 ms probe meanwhile, max") }
        #expect(probeMax?.hasSuffix("| 30 ms | 1 ms | 30 | ≤ 20 ms | **no** |") == true)
        let memory = lines.first { $0.hasPrefix("| RSS of the primary after the load") }
        #expect(memory == "| RSS of the primary after the load | 21.0 MiB | 14.0 MiB | 1.5 | ≤ 1.0× | **no** |")
    }
}
