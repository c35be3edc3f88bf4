extension Report {
    /// The whole report as markdown: context, cases, batching, ratios against targets, failover, backpressure.
    public func markdown() -> String {
        var lines: [String] = []
        lines.append("## Lockstep benchmark, \(date)")
        lines.append("")
        let model = machine.cpuModel.map { ", \($0)" } ?? ""
        lines.append(
            "commit \(commit ?? "unknown") · \(machine.cores) cores\(model) · \(machine.kernel) \(machine.architecture)"
                + " · \(profile)")
        lines.append("")
        lines.append(contentsOf: caseTable())
        lines.append(contentsOf: batchingTable())
        lines.append(contentsOf: ratioTable())
        lines.append(contentsOf: sessionsSection())
        lines.append(contentsOf: failoverSection())
        lines.append(contentsOf: backpressureSection())
        lines.append(contentsOf: durabilitySection())
        lines.append(contentsOf: scaleSection())
        lines.append(contentsOf: redisBenchmarkSection())
        if !notes.isEmpty {
            lines.append("### Notes")
            lines.append("")
            for note in notes {
                // A note may carry a process's log: its first line is the bullet, the log goes in a code block.
                let parts = note.split(separator: "\n", maxSplits: 1)
                lines.append("- \(parts.first ?? "")")
                if parts.count > 1 { lines += ["", "  ```", "  " + parts[1].replacing("\n", with: "\n  "), "  ```"] }
            }
            lines.append("")
        }
        return lines.joined(separator: "\n")
    }

    private func caseTable() -> [String] {
        let summaries = summaries
        guard !summaries.isEmpty else { return [] }
        var lines = [
            "### Cases (median [min–max] over \(rounds.count) round\(rounds.count == 1 ? "" : "s"); latency in µs)",
            "",
            "| case | conns | ops/s | p50 | p99 | p99.9 | max | errors | server cpu µs/op | per process "
                + "| client cpu µs/op |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        ]
        for summary in summaries {
            let definition = summary.definition
            let depth = definition.pipelineDepth > 1 ? " (pipeline \(definition.pipelineDepth))" : ""
            let perProcess = summary.serverCPUByProcess.map { "\($0.name) \(Format.significant($0.spread.median))" }
                .joined(separator: ", ")
            let cells = [
                "\(definition.title)\(depth)", "\(definition.connections)",
                Format.spread(summary.operationsPerSecond, Format.rate), Format.spread(summary.p50),
                Format.spread(summary.p99), Format.spread(summary.p999), Format.spread(summary.max),
                "\(summary.errors)", Format.spread(summary.serverCPUMicrosecondsPerOperation),
                perProcess.isEmpty ? "–" : perProcess, Format.spread(summary.clientCPUMicrosecondsPerOperation),
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        let errorNotes = summaries.filter { !$0.errorSamples.isEmpty }
        for summary in errorNotes {
            lines.append("- errors in \(summary.definition.key): " + summary.errorSamples.joined(separator: "; "))
        }
        if !errorNotes.isEmpty { lines.append("") }
        return lines
    }

    private func batchingTable() -> [String] {
        let withCounters = summaries.filter { !$0.counterDeltas.isEmpty }
        guard !withCounters.isEmpty else { return [] }
        var lines = [
            "### Batching (median per round; every counter is in the JSON)",
            "",
            "| case | conns | entries / channel write | entries / ack | commands / client batch | counters (change) |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for summary in withCounters {
            let definition = summary.definition
            let depth = definition.pipelineDepth > 1 ? " (pipeline \(definition.pipelineDepth))" : ""
            let deltas = Dictionary(summary.counterDeltas.map { ($0.name, $0.spread.median) }) { first, _ in first }
            let commandsPerBatch = deltas["lockstep_client_commands"].flatMap { commands in
                deltas["lockstep_client_batches"].flatMap { $0 > 0 ? commands / $0 : nil }
            }
            let counters = summary.counterDeltas.filter { Self.isShownCounter($0.name) && $0.spread.median != 0 }
                .map { "\(Self.shortName($0.name)) \(Format.plain($0.spread.median, decimals: 0))" }
                .joined(separator: ", ")
            lines.append(
                "| \(definition.title)\(depth) | \(definition.connections) | "
                    + "\(Format.spread(summary.entriesPerWrite)) | "
                    + "\(Format.spread(summary.entriesPerAck)) | \(commandsPerBatch.map(Format.significant) ?? "–") | "
                    + "\(counters.isEmpty ? "–" : counters) |")
        }
        lines.append("")
        return lines
    }

    /// Counters worth a column in the table: the batching ones; positions and totals stay in the JSON.
    static func isShownCounter(_ name: String) -> Bool {
        let shown = ["channel_writes", "channel_entries_sent", "acks_received", "intake_pauses", "connections_dropped"]
        return shown.contains { name.hasSuffix($0) }
    }

    /// A counter without its `lockstep_` prefix.
    static func shortName(_ name: String) -> String {
        name.hasPrefix("lockstep_") ? String(name.dropFirst(9)) : name
    }

    private func ratioTable() -> [String] {
        var lines = [
            "### Ratios (each from the same round, median [min–max] over rounds)",
            "",
            "| ratio | value | target | met |",
            "|---|---:|---:|---|",
        ]
        for ratio in ratios {
            let definition = ratio.definition
            let note = definition.note.isEmpty ? "" : " (\(definition.note))"
            lines.append(
                "| \(definition.title)\(note) | \(Format.spread(ratio.value) { Format.plain($0) }) | "
                    + "\(definition.target?.description ?? "–") | \(Self.verdict(ratio.isMet)) |")
        }
        if let failover {
            let timeout = failover.isDefaultTimeout ? "" : " (not the default timeout: target not applicable)"
            let times = failover.killToFirstAckMilliseconds
            // A cycle without a failover inside its deadline misses the target whatever the others did.
            func verdict(_ value: Double?, _ bound: Double) -> Bool? {
                guard failover.isDefaultTimeout else { return nil }
                guard failover.failedCycles == 0 else { return false }
                return value.map { $0 <= bound }
            }
            for (label, value, bound) in [("median", times?.median, 200.0), ("max", times?.max, 400.0)] {
                lines.append(
                    "| failover \(label), kill to first acked write, ms\(timeout) | "
                        + "\(value.map { Format.plain($0, decimals: 1) } ?? "n/a") | ≤ \(Format.plain(bound)) | "
                        + "\(Self.verdict(verdict(value, bound))) |")
            }
        }
        if let backpressure {
            let bound = backpressure.baselineRSSBytes + backpressure.unackedBytesLimit + backpressure.allowanceBytes
            lines.append(
                "| backpressure peak RSS (bound: RSS before + unacked limit + allowance) | "
                    + "\(Format.mebibytes(backpressure.peakRSSBytes)) | ≤ \(Format.mebibytes(bound)) | "
                    + "\(Self.verdict(backpressure.isWithinMemoryBound)) |")
        }
        lines.append("")
        return lines
    }

    private func failoverSection() -> [String] {
        guard let failover else { return [] }
        var lines = [
            "### Failover (\(failover.cycles.count) kill -9 cycles; detection timeout \(failover.detectionTimeout))",
            "",
            "kill → first acked write on the survivor: "
                + "\(Format.spread(failover.killToFirstAckMilliseconds) { Format.plain($0, decimals: 1) }) ms, max "
                + "\(failover.killToFirstAckMilliseconds.map { Format.plain($0.max, decimals: 1) } ?? "n/a") ms · "
                + "restart → backup caught up: "
                + "\(Format.spread(failover.rejoinMilliseconds) { Format.plain($0, decimals: 1) }) ms, max "
                + "\(failover.rejoinMilliseconds.map { Format.plain($0.max, decimals: 1) } ?? "n/a") ms",
            "",
            "| cycle | killed | kill → first ack | restart → caught up | problem |",
            "|---:|---|---:|---:|---|",
        ]
        for (index, cycle) in failover.cycles.enumerated() {
            lines.append(
                "| \(index + 1) | \(cycle.killedNode) | "
                    + "\(cycle.killToFirstAckNanoseconds.map(Format.milliseconds) ?? "none") | "
                    + "\(cycle.rejoinNanoseconds.map(Format.milliseconds) ?? "none") | \(cycle.problem ?? "–") |")
        }
        lines.append("")
        return lines
    }

    private func backpressureSection() -> [String] {
        guard let result = backpressure else { return [] }
        let logWhileStopped = result.entriesAppendedWhileStopped.map { appended in
            "the primary appended \(appended) entries; unacked log peak "
                + "\(result.unackedEntriesPeak.map(String.init) ?? "n/a") entries"
        } ?? "the primary answered no INFO (a paused core reads no client), so intake was watched on the clients' bytes"
        var lines = [
            "### Backpressure and memory (backup stopped with SIGSTOP while 16 connections write)",
            "",
            "- limits: --unacked-bytes \(result.unackedBytesLimit) (\(Format.mebibytes(result.unackedBytesLimit))), "
                + "--unacked-entries \(result.unackedEntriesLimit)",
            "- primary RSS: \(Format.mebibytes(result.baselineRSSBytes)) before, peak "
                + "\(Format.mebibytes(result.peakRSSBytes)) (bound: baseline + limit + "
                + "\(Format.mebibytes(result.allowanceBytes)) allowance: "
                + "\(result.isWithinMemoryBound ? "within" : "EXCEEDED"))",
            "- ops/s before: \(Format.rate(result.operationsPerSecondBefore)); backup stopped for "
                + "\(Format.milliseconds(result.stoppedNanoseconds)); intake paused "
                + "\(result.intakePauseNanoseconds.map(Format.milliseconds) ?? "never") after SIGSTOP",
            "- while stopped \(logWhileStopped); the core paused intake "
                + "\(result.intakePausesCounted) time\(result.intakePausesCounted == 1 ? "" : "s") "
                + "(lockstep_intake_pauses)",
            "- after SIGCONT: first op after \(result.resumeNanoseconds.map(Format.milliseconds) ?? "never"), "
                + "\(Format.rate(result.operationsPerSecondAfter)) ops/s; errors \(result.errors); role afterwards "
                + "\(result.roleAfter)",
            "- outcome: \(result.outcome.rawValue)",
        ]
        if !result.errorSamples.isEmpty {
            lines.append("- error samples: " + result.errorSamples.joined(separator: "; "))
        }
        lines.append("")
        return lines
    }

    static func verdict(_ isMet: Bool?) -> String {
        switch isMet {
        case .some(true): "yes"
        case .some(false): "**no**"
        case .none: "n/a"
        }
    }
}
