import Posix

/// What the nodes hold once the load has stopped and the pair is quiet.
struct FinalState: Sendable {
    /// The value of each workload key (nil: missing), index-aligned with `WorkloadShape.key(_:)`.
    var keys: [String?]
    /// The value of each counter (nil: missing).
    var counters: [Int64?]
    /// `DEBUG DIGEST` of each node that answered, by node name.
    var digests: [(node: String, digest: String?)]
}

/// A moment the test caused a failover: from then until the first acknowledged write on another node the
/// service was unavailable.
struct FaultMark: Sendable {
    var label: String
    var at: ContinuousClock.Instant
    /// The node that lost (or gave up) the primary role; acks from it do not end the window.
    var formerPrimary: Int?
}

/// The verdict over one run: counts, every violation with its evidence, and the summary table.
struct CheckReport: CustomStringConvertible {
    var attempted = 0
    var acknowledged = 0
    var unknown = 0
    var failed = 0
    var lostAcknowledged: [String] = []
    var duplicates: [String] = []
    var neverSent: [String] = []
    var orderViolations: [String] = []
    var counterViolations: [String] = []
    var digestViolations: [String] = []
    var splitBrain: [String] = []
    /// Samples where two nodes both said master with different epochs (harmless unless both acked writes).
    var dualMasterSamples = 0
    var unavailability: [(label: String, window: Duration?)] = []
    /// Outcome texts of failed and unknown operations, with counts: evidence for the honest report.
    var failureReasons: [String: Int] = [:]

    var violations: [String] {
        var all: [String] = []
        func add(_ name: String, _ items: [String]) {
            if !items.isEmpty { all.append("\(name) (\(items.count)): \(items.prefix(8).joined(separator: "; "))") }
        }
        add("lost acknowledged writes", lostAcknowledged)
        add("duplicated tokens", duplicates)
        add("tokens never sent", neverSent)
        add("out-of-order tokens", orderViolations)
        add("counters out of range", counterViolations)
        add("digests", digestViolations)
        add("split brain", splitBrain)
        let missing = unavailability.filter { $0.window == nil }.map { "no acknowledged write after \($0.label)" }
        add("failovers that never completed", missing)
        return all
    }

    var windows: [Duration] { unavailability.compactMap(\.window).sorted() }

    var description: String {
        func milliseconds(_ duration: Duration?) -> String {
            guard let duration else { return "-" }
            let (seconds, attoseconds) = duration.components
            return String(Double(seconds) * 1_000 + Double(attoseconds) / 1e15).prefix(7) + " ms"
        }
        let median = windows.isEmpty ? nil : windows[windows.count / 2]
        var rows: [(String, String)] = [
            ("operations attempted", "\(attempted)"),
            ("acknowledged", "\(acknowledged)"),
            ("unknown (timeout / dropped)", "\(unknown)"),
            ("failed (definite error reply)", "\(failed)"),
            ("lost acknowledged writes", "\(lostAcknowledged.count)"),
            ("duplicated tokens", "\(duplicates.count)"),
            ("tokens never sent", "\(neverSent.count)"),
            ("out-of-order tokens", "\(orderViolations.count)"),
            ("counters out of range", "\(counterViolations.count)"),
            ("digest mismatches", "\(digestViolations.count)"),
            ("split-brain observations", "\(splitBrain.count) (dual-master samples: \(dualMasterSamples))"),
            ("failovers measured", "\(unavailability.count)"),
            ("unavailability median", milliseconds(median)),
            ("unavailability max", milliseconds(windows.last)),
        ]
        for (label, window) in unavailability { rows.append(("  window: \(label)", milliseconds(window))) }
        for (reason, count) in failureReasons.sorted(by: { $0.value > $1.value }).prefix(6) {
            rows.append(("  \(count)x", String(reason.prefix(90))))
        }
        let width = rows.map(\.0.count).max() ?? 0
        let lines = rows.map { $0.0 + String(repeating: " ", count: width - $0.0.count) + " | " + $0.1 }
        return lines.joined(separator: "\n")
    }
}

/// Judges a history against the final state, from outside the nodes: the suite's definition of "correct".
enum Checker {
    static func check(
        history: [Operation], final: FinalState, samples: [RoleSample] = [], faults: [FaultMark] = []
    ) -> CheckReport {
        var report = CheckReport()
        report.attempted = history.count
        // Who sent which token to which key, and what became of it.
        var sent: [String: (key: Int, operation: Operation)] = [:]
        var incrementsAcked: [Int: Int] = [:]
        var incrementsAttempted: [Int: Int] = [:]
        for operation in history {
            switch operation.outcome {
            case .acknowledged: report.acknowledged += 1
            case .failed(let reason):
                report.failed += 1
                report.failureReasons["failed: " + reason.prefix(40), default: 0] += 1
            case .unknown(let reason):
                report.unknown += 1
                report.failureReasons["unknown: " + reason.prefix(40), default: 0] += 1
            }
            switch operation.kind {
            case .append(let key, let token):
                sent[token] = (key, operation)
            case .increment(let counter):
                if case .failed = operation.outcome { break }  // a definite error: surely not executed
                incrementsAttempted[counter, default: 0] += 1
                if operation.outcome == .acknowledged { incrementsAcked[counter, default: 0] += 1 }
            }
        }

        // Tokens present, key by key.
        var seen: Set<String> = []
        for (key, value) in final.keys.enumerated() {
            var lastSequence: [Int: (Int, String)] = [:]
            for token in (value ?? "").split(separator: ",").map(String.init) {
                guard let origin = sent[token], origin.key == key else {
                    report.neverSent.append("\(WorkloadShape.key(key)) holds \"\(token.prefix(40))\"")
                    continue
                }
                if case .failed(let reason) = origin.operation.outcome {
                    report.neverSent.append("\(token) is present but its APPEND failed with \(reason.prefix(60))")
                }
                guard seen.insert(token).inserted else {
                    report.duplicates.append("\(token) twice in \(WorkloadShape.key(key))")
                    continue
                }
                let connection = origin.operation.connection, sequence = origin.operation.sequence
                if let (previous, previousToken) = lastSequence[connection], previous > sequence {
                    report.orderViolations.append(
                        "\(WorkloadShape.key(key)): \(token) after \(previousToken) of the same connection")
                }
                lastSequence[connection] = (sequence, token)
            }
        }
        for (token, origin) in sent.sorted(by: { $0.key < $1.key })
        where origin.operation.outcome == .acknowledged && !seen.contains(token) {
            report.lostAcknowledged.append("\(token) acked by node \(origin.operation.node), missing")
        }

        for (counter, value) in final.counters.enumerated() {
            let low = incrementsAcked[counter] ?? 0, high = incrementsAttempted[counter] ?? 0
            let actual = Int(value ?? 0)
            if actual < low || actual > high {
                report.counterViolations.append(
                    "\(WorkloadShape.counter(counter)) = \(actual), expected within [\(low), \(high)]")
            }
        }

        let digests = final.digests.map(\.digest)
        if digests.contains(where: { $0 == nil }) || Set(digests.compactMap { $0 }).count > 1 {
            report.digestViolations.append(final.digests.map { "\($0.node)=\($0.digest ?? "no answer")" }
                .joined(separator: " "))
        }

        checkSplitBrain(history: history, samples: samples, into: &report)

        let acks = history.filter { $0.outcome == .acknowledged }.sorted { $0.finishedAt < $1.finishedAt }
        for fault in faults {
            let first = acks.first { $0.sentAt >= fault.at && $0.node != fault.formerPrimary }
            report.unavailability.append((fault.label, first.map { $0.finishedAt - fault.at }))
        }
        return report
    }

    /// Split brain: while two nodes both report master with different epochs, the lower-epoch node
    /// acknowledges a write that was sent after the higher-epoch node had already said it was master. That write
    /// was released without the new primary's ack, so the old primary's output rule or arbiter check failed.
    private static func checkSplitBrain(history: [Operation], samples: [RoleSample], into report: inout CheckReport) {
        let acks = history.filter { $0.outcome == .acknowledged }
        for (index, sample) in samples.enumerated() {
            let masters = sample.views.enumerated().compactMap { node, view in view.map { (node, $0) } }
                .filter { $0.1.isMaster }
            guard masters.count >= 2, Set(masters.map(\.1.epoch)).count >= 2 else { continue }
            report.dualMasterSamples += 1
            // One judgement per run of dual-master samples: the first sample's window covers the run.
            if index > 0, samples[index - 1].views.filter({ $0?.isMaster == true }).count >= 2 { continue }
            let high = masters.max { $0.1.epoch < $1.1.epoch }!
            // The window closes when a later sample stops showing both as master.
            let end = samples[(index + 1)...].first { later in
                let stillMasters = later.views.enumerated().filter { $0.element?.isMaster == true }.count
                return stillMasters < 2
            }?.startedAt ?? sample.startedAt + RoleMonitor.interval * 4
            for low in masters where low.1.epoch < high.1.epoch {
                let offending = acks.filter {
                    $0.node == low.0 && $0.sentAt > high.1.answeredAt && $0.sentAt < end
                }
                if let first = offending.first {
                    report.splitBrain.append(
                        "node \(low.0) (epoch \(low.1.epoch)) acked \(offending.count) writes while node \(high.0) "
                            + "served epoch \(high.1.epoch), e.g. \(first.kind)")
                }
            }
        }
    }
}
