import Glibc
import Posix

/// What the command line chose.
public struct BenchmarkOptions: Sendable {
    public var plan: BenchmarkPlan
    public var jsonPath: String?
    /// The `lockstep` executable; nil looks beside this executable.
    public var lockstepPath: String?
    /// `redis-server`; nil searches $PATH.
    public var redisPath: String?
    /// `--timeout` for the failover pair's nodes; nil keeps the node's default (the issue's targets assume it).
    public var nodeTimeoutMilliseconds: Int?

    public init(plan: BenchmarkPlan) { self.plan = plan }
}

/// Runs a whole benchmark: starts the servers, interleaves the cases over rounds, then failover and backpressure,
/// and stops everything it started.
public final class BenchmarkRunner {
    let options: BenchmarkOptions
    var plan: BenchmarkPlan { options.plan }
    var report: Report
    let log: (String) -> Void

    /// `log` receives progress lines (the command prints them on stderr, keeping stdout for the report).
    public init(options: BenchmarkOptions, log: @escaping (String) -> Void) {
        self.options = options
        self.log = log
        report = Report(
            machine: .current(), commit: Self.gitCommit(), date: Self.utcNow(), profile: options.plan.summary)
    }

    /// Every planned case that produced no figures, and every error: what `--strict` fails on.
    public var problems: [String] {
        var problems: [String] = []
        for summary in report.summaries {
            if summary.operationsPerSecond == nil || summary.p50 == nil || summary.rounds < report.rounds.count {
                problems.append("\(summary.definition.key) produced no figures in some round")
            }
            if summary.errors > 0 { problems.append("\(summary.definition.key) had \(summary.errors) errors") }
        }
        if let failover = report.failover, failover.failedCycles > 0 || failover.cycles.count < plan.failoverCycles {
            problems.append("failover: \(failover.failedCycles) of \(failover.cycles.count) cycles failed")
        }
        if let backpressure = report.backpressure, backpressure.errors > 0 || backpressure.outcome == .stalled {
            problems.append("backpressure: \(backpressure.outcome.rawValue), \(backpressure.errors) errors")
        }
        problems += missingParts
        return problems
    }

    /// Parts that were planned and available but could not run at all.
    var missingParts: [String] = []

    public func run() -> Report {
        let ownPath = TextFile.ownExecutable()
        if ownPath?.contains("/debug/") == true {
            report.notes.append(
                "debug build: figures are for checking the harness only; measure with `swift build -c release`")
        }
        let lockstep = locateLockstep(ownPath: ownPath)
        let redis = locateRedis()
        let parts = plan.parts
        var floors: FloorServers?
        var pair: LockstepPair?
        var pairPrimary = 0
        var redisPair: RedisPair?
        if parts.contains(.floors) {
            do {
                floors = try FloorServers(messageBytes: plan.valueBytes)
            } catch {
                fail(.floors, "the floor servers could not start: \(error)")
            }
        }
        if !parts.isDisjoint(with: [.lockstep, .sessions]), let lockstep {
            log("starting a lockstep pair from \(lockstep)")
            do {
                let started = try LockstepPair.start(executable: lockstep)
                pair = started
                pairPrimary = try started.waitForProtectedPrimary(deadline: deadline(seconds: 10))
                try prefill(started.nodes[pairPrimary].clientAddress)
            } catch {
                pair?.stop()
                pair = nil
                fail(parts.contains(.lockstep) ? .lockstep : .sessions, "the lockstep pair could not start: \(error)")
            }
        }
        if parts.contains(.redis), let redis {
            log("starting a Redis primary and replica from \(redis)")
            do {
                let started = try RedisPair.start(executable: redis)
                redisPair = started
                try prefill(started.primary.clientAddress)  // the pipelined GET case reads existing keys
            } catch {
                redisPair?.stop()
                redisPair = nil
                fail(.redis, "the Redis pair could not start: \(error)")
            }
        }
        var groups: [CaseGroup] = []
        if floors != nil { groups.append(.floors) }
        if pair != nil && parts.contains(.lockstep) { groups.append(.lockstep) }
        if redisPair != nil { groups.append(.redis) }
        if pair != nil && parts.contains(.sessions) {
            groups.append(.sessions)
            report.sessionComparisons = plan.sessionComparisons
        }
        for round in 0..<plan.rounds {
            for definition in plan.roundOrder(of: groups, round: round) {
                measureAndRecord(definition, round: round) { () throws(BenchmarkError) in
                    switch definition.group {
                    case .floors:
                        do throws(SystemError) {
                            return try floors?.measure(definition, plan: plan)
                        } catch {
                            throw .system(error)
                        }
                    case .lockstep:
                        guard let pair else { return nil }
                        return try measureLockstep(definition, pair, primary: pairPrimary)
                    case .redis:
                        guard let redisPair else { return nil }
                        return try measureRedis(definition, redisPair)
                    case .sessions:
                        guard let pair else { return nil }
                        return try measureSessionCase(definition, pair, primary: pairPrimary)
                    }
                }
            }
        }
        floors?.stop()
        pair?.stop()
        redisPair?.stop()
        if parts.contains(.failover), let lockstep { runFailover(lockstep) }
        if parts.contains(.backpressure), let lockstep { runBackpressure(lockstep) }
        if parts.contains(.durability), !plan.durabilityPolicies.isEmpty { runDurability(lockstep, redis) }
        if parts.contains(.scale), !plan.scaleKeyCounts.isEmpty { runScale(lockstep, redis) }
        if parts.contains(.redisBenchmark) { runRedisBenchmark(lockstep, redis) }
        return report
    }

    /// Runs one case of round `round` with `measure` (nil: its system is not running) and records what it measured;
    /// a failure becomes a note and a progress line, and the run goes on.
    func measureAndRecord(
        _ definition: CaseDefinition, round: Int, _ measure: () throws(BenchmarkError) -> CaseMeasurement?
    ) {
        let measurement: CaseMeasurement?
        do {
            measurement = try measure()
        } catch {
            log("[round \(round + 1)/\(plan.rounds)] \(definition.key): failed: \(error)")
            report.notes.append("\(definition.key) round \(round + 1) failed: \(error)")
            missingParts.append("\(definition.key) round \(round + 1) produced no figures: \(error)")
            return
        }
        guard let measurement else { return }
        report.record(measurement, for: definition, round: round)
        log("[round \(round + 1)/\(plan.rounds)] " + Self.progressLine(definition, measurement))
    }

    // MARK: Cases

    func specification(_ definition: CaseDefinition, target: SocketAddress, sessionIDs: [Int64] = [])
        -> LoadSpecification
    {
        LoadSpecification(
            target: target, connections: definition.connections, pipelineDepth: definition.pipelineDepth,
            workload: plan.workload(for: definition), warmupNanoseconds: plan.warmupNanoseconds,
            durationNanoseconds: plan.caseDurationNanoseconds, operationLimit: plan.operationLimit,
            sessionIDs: sessionIDs)
    }

    /// One load on the pair's primary, with the primary's counters' changes; `sessionIDs` for a session workload.
    func measureLockstep(
        _ definition: CaseDefinition, _ pair: LockstepPair, primary: Int, sessionIDs: [Int64] = []
    ) throws(BenchmarkError) -> CaseMeasurement {
        for node in pair.nodes where !node.isRunning {
            throw .setupFailed("\(node.name) is no longer running; its log ends:\n\(node.logTail())")
        }
        let before = pair.counters(primary)
        var measurement: CaseMeasurement
        do {
            measurement = try LoadGenerator.run(
                specification(definition, target: pair.nodes[primary].clientAddress, sessionIDs: sessionIDs),
                sampleCPU: pair.cpuSampler(primary: primary))
        } catch {
            throw .system(error)
        }
        let after = pair.counters(primary)
        for (name, value) in after {
            if let old = before[name] { measurement.counterDeltas[name] = value - old }
        }
        return measurement
    }

    func measureRedis(_ definition: CaseDefinition, _ pair: RedisPair) throws(BenchmarkError) -> CaseMeasurement {
        do {
            return try LoadGenerator.run(
                specification(definition, target: pair.primary.clientAddress), sampleCPU: pair.cpuSampler)
        } catch {
            throw .system(error)
        }
    }

    /// Writes every key once, so GET cases read existing values.
    func prefill(_ address: SocketAddress) throws(BenchmarkError) {
        let specification = LoadSpecification(
            target: address, connections: 1, pipelineDepth: 32,
            workload: .set(keyspace: plan.keyspace, valueBytes: plan.valueBytes), warmupNanoseconds: 0,
            durationNanoseconds: 30_000_000_000, operationLimit: UInt64(plan.keyspace))
        let result: CaseMeasurement
        do {
            result = try LoadGenerator.run(specification)
        } catch {
            throw .system(error)
        }
        guard result.errors == 0, result.operations >= UInt64(plan.keyspace) else {
            throw .unexpectedReply(
                "prefilling \(plan.keyspace) keys: \(result.operations) written, \(result.errors) errors "
                    + result.errorSamples.joined(separator: "; "))
        }
    }

    func runFailover(_ lockstep: String) {
        log("failover: \(plan.failoverCycles) cycles")
        let benchmark = FailoverBenchmark(
            cycles: plan.failoverCycles, timeoutMilliseconds: options.nodeTimeoutMilliseconds,
            keyspace: plan.keyspace, valueBytes: plan.valueBytes)
        do {
            report.failover = try benchmark.run(executable: lockstep, log: log)
        } catch {
            fail(.failover, "the failover run could not start: \(error)")
        }
    }

    func runBackpressure(_ lockstep: String) {
        log("backpressure: stopping the backup for \(Format.milliseconds(plan.backpressureStopNanoseconds))")
        let benchmark = BackpressureBenchmark(
            stopNanoseconds: plan.backpressureStopNanoseconds, unackedBytesLimit: plan.backpressureUnackedBytesLimit,
            unackedEntriesLimit: plan.backpressureUnackedEntriesLimit, keyspace: plan.keyspace,
            valueBytes: plan.valueBytes)
        do {
            let result = try benchmark.run(executable: lockstep, log: log)
            report.backpressure = result
            log("backpressure: \(result.outcome.rawValue); peak RSS \(Format.mebibytes(result.peakRSSBytes))")
        } catch {
            fail(.backpressure, "the backpressure run could not start: \(error)")
        }
    }

    func runScale(_ lockstep: String?, _ redis: String?) {
        let counts = plan.scaleKeyCounts.map(String.init).joined(separator: ", ")
        log("scale: \(counts) keys, each into a fresh Lockstep pair and a fresh Redis")
        let benchmark = ScaleBenchmark(keyCounts: plan.scaleKeyCounts, valueBytes: plan.valueBytes)
        report.scale = benchmark.run(lockstep: lockstep, redis: redis, log: log)
        for result in report.scale where result.problem != nil {
            missingParts.append("scale \(result.system.rawValue) \(result.keys) keys: \(result.problem!)")
        }
    }

    // MARK: Environment

    func fail(_ part: BenchmarkPlan.Part, _ text: String) {
        log(text)
        report.notes.append(text)
        missingParts.append(text)
    }

    func locateLockstep(ownPath: String?) -> String? {
        let needed: Set<BenchmarkPlan.Part> = [
            .lockstep, .sessions, .failover, .backpressure, .scale, .durability, .redisBenchmark,
        ]
        guard !plan.parts.isDisjoint(with: needed) else { return nil }
        let candidate = options.lockstepPath ?? ownPath.map { "\(TextFile.directory(of: $0))/lockstep" }
        if let candidate, TextFile.isExecutable(candidate) { return candidate }
        let text = "no lockstep binary at \(candidate ?? "(unknown)"): build both products (`swift build -c release`), "
            + "or pass --lockstep PATH; the Lockstep cases, failover and backpressure did not run"
        log(text)
        report.notes.append(text)
        missingParts.append(text)
        return nil
    }

    func locateRedis() -> String? {
        let isNeeded = plan.parts.contains(.redis) || plan.parts.contains(.scale) && !plan.scaleKeyCounts.isEmpty
            || plan.parts.contains(.durability) && !plan.durabilityPolicies.isEmpty
            || plan.parts.contains(.redisBenchmark)
        guard isNeeded else {
            return nil
        }
        if let path = options.redisPath ?? TextFile.findOnPath("redis-server"), TextFile.isExecutable(path) {
            return path
        }
        let missing = options.redisPath.map { "no executable redis-server at \($0)" }
            ?? "redis-server not found on PATH (Debian: `apt-get install redis-server`)"
        let text = "\(missing): the Redis reference cases did not run, so Lockstep is compared with the floors only"
        log(text)
        report.notes.append(text)  // absent Redis is a documented mode, not a failure
        return nil
    }

    /// `git rev-parse --short HEAD` in the current directory, or nil.
    static func gitCommit() -> String? {
        guard let git = TextFile.findOnPath("git"),
            let directory = try? TextFile.makeTemporaryDirectory(prefix: "lockstep-bench-git")
        else { return nil }  // no git or no temp dir: the report says "unknown"
        defer { TextFile.removeTree(directory) }
        let path = "\(directory)/out"
        // Any failure below only means the report says "commit unknown".
        guard let child = try? ChildProcess.spawn(
            git, arguments: ["rev-parse", "--short", "HEAD"], standardOutput: .file(path: path, append: false),
            standardError: .discard)
        else { return nil }
        guard case .exited(0)? = try? child.wait(timeout: .seconds(5)) else {  // failed or hung
            _ = try? child.terminate(signal: SIGKILL)  // hung or failed: no commit
            return nil
        }
        let text = FileDescriptor.readText(atPath: path)?.split(separator: "\n").first.map(String.init)
        return text?.isEmpty == false ? text : nil
    }

    /// Now, as `2026-11-23 17:15 UTC`.
    static func utcNow() -> String {
        var seconds = time_t(wallClockNanoseconds() / 1_000_000_000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)) UTC"
    }

    static func progressLine(_ definition: CaseDefinition, _ measurement: CaseMeasurement) -> String {
        "\(definition.key): \(Format.rate(measurement.operationsPerSecond)) ops/s, p50 "
            + "\(Format.significant(measurement.latencyMicroseconds(50))) µs, p99 "
            + "\(Format.significant(measurement.latencyMicroseconds(99))) µs, errors \(measurement.errors)"
            + (measurement.errorSamples.isEmpty ? "" : " (\(measurement.errorSamples.joined(separator: "; ")))")
    }
}
