import Glibc
import Posix

/// The backup stopped (SIGSTOP) while clients write: does the primary bound its memory and pause intake, and does
/// it carry on cleanly after SIGCONT?
///
/// A closed loop cannot show this: its clients wait for replies the primary withholds, so the unacked log never
/// holds more than the number of outstanding requests. The clients here keep up to `pipelineDepth` requests in
/// flight per connection (a bounded open loop). The node reads at most 1,024 requests ahead of its replies on a
/// connection (`RuntimeConfiguration.clientPendingRepliesLimit`), so the plan sets the unacked-log limit below what
/// 16 × 1,024 SETs log (`BenchmarkPlan.backpressureUnackedBytesLimit`): the log fills first, and the core's own
/// intake pause is what holds the clients back.
/// Intake is watched on the primary's own `lockstep_log_sequence`, and, should INFO not be answered while paused,
/// on the bytes the clients' sockets still accept.
public struct BackpressureBenchmark {
    public var unackedBytesLimit: UInt64
    public var unackedEntriesLimit: UInt64
    /// Longer than the stop, passed explicitly, so that the stop tests backpressure rather than failover.
    public var timeoutMilliseconds = 10_000
    public var stopNanoseconds: UInt64
    public var connections = 16
    public var pipelineDepth = 16_384
    /// Memory above baseline + limit that still counts as bounded: clients' read buffers, withheld replies,
    /// allocator slack.
    public var allowanceBytes: UInt64 = 16 << 20
    public var keyspace: Int
    public var valueBytes: Int
    /// Intake counts as paused once the log sequence stood still this long.
    static let stillNanoseconds: UInt64 = 100_000_000

    public init(
        stopNanoseconds: UInt64, unackedBytesLimit: UInt64, unackedEntriesLimit: UInt64, keyspace: Int, valueBytes: Int
    ) {
        self.stopNanoseconds = stopNanoseconds
        self.unackedBytesLimit = unackedBytesLimit
        self.unackedEntriesLimit = unackedEntriesLimit
        self.keyspace = keyspace
        self.valueBytes = valueBytes
    }

    /// The node arguments this run adds.
    var nodeArguments: [String] {
        [
            "--unacked-bytes", "\(unackedBytesLimit)", "--unacked-entries", "\(unackedEntriesLimit)",
            "--timeout", "\(timeoutMilliseconds)",
        ]
    }

    private struct Sample {
        var time: UInt64
        var logSequence: UInt64?
        var ackedSequence: UInt64?
        var bytesSent: UInt64
        var completed: UInt64
    }

    public func run(executable: String, log: (String) -> Void) throws(BenchmarkError) -> BackpressureResult {
        let pair = try LockstepPair.start(executable: executable, extraArguments: nodeArguments)
        defer { pair.stop() }
        let primaryIndex = try pair.waitForProtectedPrimary(deadline: deadline(seconds: 10))
        let primary = pair.nodes[primaryIndex], backup = pair.nodes[1 - primaryIndex]
        let load: BackgroundLoad
        do {
            load = try BackgroundLoad(
                LoadSpecification(
                    target: primary.clientAddress, connections: connections, pipelineDepth: pipelineDepth,
                    workload: .set(keyspace: keyspace, valueBytes: valueBytes), warmupNanoseconds: 0,
                    durationNanoseconds: stopNanoseconds + 30_000_000_000, operationLimit: .max,
                    drainTimeoutNanoseconds: 20_000_000_000))
        } catch {
            throw .system(error)
        }
        // Before: a second of full-speed writes, for the baseline rates and memory.
        let warmStart = monotonicNanoseconds()
        let completedAtStart = load.progress.completed.load(ordering: .relaxed)
        let bytesAtStart = load.progress.bytesSent.load(ordering: .relaxed)
        sleep(for: .milliseconds(1_000))
        let warmSeconds = Double(monotonicNanoseconds() - warmStart) / 1e9
        let rateBefore = Double(load.progress.completed.load(ordering: .relaxed) - completedAtStart) / warmSeconds
        let bytesRateBefore = Double(load.progress.bytesSent.load(ordering: .relaxed) - bytesAtStart) / warmSeconds
        let countersBefore = pair.counters(primaryIndex)
        let baseline = ProcessStat.residentBytes(of: primary.pid) ?? 0
        var peak = baseline
        var samples: [Sample] = []
        func sample() {
            if let rss = ProcessStat.residentBytes(of: primary.pid) { peak = max(peak, rss) }
            let fields = pair.info(primaryIndex, timeoutNanoseconds: 50_000_000)
            samples.append(
                Sample(
                    time: monotonicNanoseconds(), logSequence: fields?["lockstep_log_sequence"].flatMap { UInt64($0) },
                    ackedSequence: fields?["lockstep_acked_sequence"].flatMap { UInt64($0) },
                    bytesSent: load.progress.bytesSent.load(ordering: .relaxed),
                    completed: load.progress.completed.load(ordering: .relaxed)))
        }
        log("backpressure: \(Format.rate(rateBefore)) ops/s before; stopping \(backup.name)")
        sample()  // the log sequence at SIGSTOP, to count what the primary absorbed after it
        let stoppedAt = monotonicNanoseconds()
        do {
            try backup.signal(SIGSTOP)
        } catch {
            _ = load.stop()
            throw .system(error)
        }
        while monotonicNanoseconds() < stoppedAt + stopNanoseconds {
            sample()
            sleep(for: .milliseconds(10))
        }
        let continuedAt = monotonicNanoseconds()
        try? backup.signal(SIGCONT)  // if it is gone, the outcome below says what happened
        let stoppedSamples = samples
        let completedAtContinue = load.progress.completed.load(ordering: .relaxed)
        var resumedAt: UInt64?
        while monotonicNanoseconds() < continuedAt + 5_000_000_000 {
            sample()
            if load.progress.completed.load(ordering: .relaxed) > completedAtContinue {
                resumedAt = monotonicNanoseconds()
                break
            }
            sleep(for: .milliseconds(1))
        }
        let afterStart = monotonicNanoseconds()
        let completedAfterStart = load.progress.completed.load(ordering: .relaxed)
        for _ in 0..<50 {
            sample()
            sleep(for: .milliseconds(10))
        }
        let rateAfter = Double(load.progress.completed.load(ordering: .relaxed) - completedAfterStart) * 1e9
            / Double(monotonicNanoseconds() - afterStart)
        let measurement = load.stop()
        if let rss = ProcessStat.residentBytes(of: primary.pid) { peak = max(peak, rss) }
        let roleAfter = pair.info(primaryIndex)?["lockstep_role"] ?? "unknown (no answer)"
        // Intake as the primary sees it (its log sequence), or as the clients see it if INFO went unanswered.
        let sequences = stoppedSamples.compactMap { sample in sample.logSequence.map { (sample.time, $0) } }
        let isServerSide = sequences.count >= 2 && sequences.count * 2 >= stoppedSamples.count
        let series = isServerSide ? sequences : stoppedSamples.map { ($0.time, $0.bytesSent) }
        let pauseIndex = Self.pauseIndex(
            series, ratePerSecondBefore: isServerSide ? rateBefore : bytesRateBefore,
            stillNanoseconds: Self.stillNanoseconds)
        let pauseAt = pauseIndex.map { max(series[$0].0, stoppedAt) }
        let appended = isServerSide ? (series.last?.1 ?? 0) - (series.first?.1 ?? 0) : nil
        let unackedPeak = isServerSide ? stoppedSamples.compactMap { sample -> UInt64? in
            guard let log = sample.logSequence, let acked = sample.ackedSequence, log >= acked else { return nil }
            return log - acked
        }.max() : nil
        let pauses = (pair.counters(primaryIndex)["lockstep_intake_pauses"] ?? 0)
            - (countersBefore["lockstep_intake_pauses"] ?? 0)
        log(
            "backpressure: while stopped, INFO answered \(sequences.count) of \(stoppedSamples.count) samples; "
                + "log sequence \(sequences.first.map { String($0.1) } ?? "?") → "
                + "\(sequences.last.map { String($0.1) } ?? "?"); client bytes sent "
                + "\(stoppedSamples.first?.bytesSent ?? 0) → \(stoppedSamples.last?.bytesSent ?? 0); "
                + "lockstep_intake_pauses +\(pauses)")
        let errors: UInt64
        let errorSamples: [String]
        switch measurement {
        case .success(let result):
            errors = result.errors
            errorSamples = result.errorSamples
        case .failure(let error):
            errors = 1
            errorSamples = ["load failed: \(error)"]
        }
        let outcome: BackpressureResult.Outcome
        if roleAfter == "solo" {
            outcome = .wentSolo
        } else if pauseAt == nil {
            outcome = .neverPaused
        } else if resumedAt == nil {
            outcome = .stalled
        } else {
            outcome = .resumedProtected
        }
        return BackpressureResult(
            unackedBytesLimit: unackedBytesLimit, unackedEntriesLimit: unackedEntriesLimit,
            allowanceBytes: allowanceBytes, baselineRSSBytes: baseline, peakRSSBytes: peak,
            operationsPerSecondBefore: rateBefore, intakePauseNanoseconds: pauseAt.map { $0 - stoppedAt },
            entriesAppendedWhileStopped: appended, unackedEntriesPeak: unackedPeak, intakePausesCounted: pauses,
            resumeNanoseconds: resumedAt.map { $0 - continuedAt },
            operationsPerSecondAfter: rateAfter, errors: errors, errorSamples: errorSamples, outcome: outcome,
            roleAfter: roleAfter, stoppedNanoseconds: continuedAt - stoppedAt)
    }

    /// Where intake stopped in a series of (time, cumulative count) samples taken from SIGSTOP on: the first sample
    /// after which the count grew at under `fraction` of its rate before the stop, for at least `stillNanoseconds`
    /// up to the end of the series. A plateau, not a strict standstill: the primary still logs the odd entry of its
    /// own (timers, digests) while clients are held back.
    static func pauseIndex(
        _ series: [(UInt64, UInt64)], ratePerSecondBefore: Double, fraction: Double = 0.01,
        stillNanoseconds: UInt64
    ) -> Int? {
        guard let last = series.last, ratePerSecondBefore > 0 else { return nil }
        for (index, (time, count)) in series.enumerated() {
            let span = last.0 - time
            guard span >= stillNanoseconds else { return nil }
            let rate = Double(last.1 - count) * 1e9 / Double(span)
            if rate <= fraction * ratePerSecondBefore { return index }
        }
        return nil
    }
}
