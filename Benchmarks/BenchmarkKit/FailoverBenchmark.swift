import Glibc
import Posix

/// Kill -9 of the primary under write load, repeated: how long clients wait for a survivor, and how long until the
/// pair is protected again.
///
/// Per cycle: closed-loop SET load on the primary; SIGKILL the primary (its PID from `INFO server`); from that
/// instant, a probe client sends SET to the survivor until one is acknowledged (+OK), which is the time a client
/// waits for a failover. Then the killed node is restarted with its original command line (it rejoins as backup),
/// timed until the survivor reports `lockstep_peer_state:connected`. The next cycle kills the new primary.
public struct FailoverBenchmark {
    public var cycles: Int
    public var loadConnections = 4
    /// The node's `--timeout` in ms if passed explicitly; nil runs with the node's default.
    public var timeoutMilliseconds: Int?
    /// Deadline for each step; generous, so a slow debug build still finishes, but bounded.
    public var stepTimeoutSeconds = 15.0
    public var keyspace: Int
    public var valueBytes: Int

    public init(cycles: Int, timeoutMilliseconds: Int?, keyspace: Int, valueBytes: Int) {
        self.cycles = cycles
        self.timeoutMilliseconds = timeoutMilliseconds
        self.keyspace = keyspace
        self.valueBytes = valueBytes
    }

    /// Runs every cycle on a fresh pair from `executable`; `log` gets a progress line per cycle.
    public func run(executable: String, log: (String) -> Void) throws(BenchmarkError) -> FailoverResult {
        let extra = timeoutMilliseconds.map { ["--timeout", "\($0)"] } ?? []
        let pair = try LockstepPair.start(executable: executable, extraArguments: extra)
        defer { pair.stop() }
        var results: [FailoverCycle] = []
        for cycle in 0..<cycles {
            let result = runCycle(pair)
            log(
                "failover \(cycle + 1)/\(cycles): killed \(result.killedNode), first ack after "
                    + "\(result.killToFirstAckNanoseconds.map(Format.milliseconds) ?? "none"), caught up after "
                    + "\(result.rejoinNanoseconds.map(Format.milliseconds) ?? "none")"
                    + (result.problem.map { " (\($0))" } ?? ""))
            results.append(result)
            if result.rejoinNanoseconds == nil { break }  // the pair is not protected: further cycles mean nothing
        }
        return FailoverResult(
            cycles: results, detectionTimeout: Self.describeTimeout(timeoutMilliseconds, executable: executable),
            isDefaultTimeout: timeoutMilliseconds == nil)
    }

    private func runCycle(_ pair: LockstepPair) -> FailoverCycle {
        let primary: Int
        do {
            primary = try pair.waitForProtectedPrimary(deadline: deadline(seconds: stepTimeoutSeconds))
        } catch {
            return FailoverCycle(killedNode: "?", killToFirstAckNanoseconds: nil, rejoinNanoseconds: nil,
                problem: "no protected primary before the cycle: \(error)")
        }
        let victim = pair.nodes[primary], survivorIndex = 1 - primary
        let survivor = pair.nodes[survivorIndex]
        let name = String(victim.name.dropFirst(5))
        // The PID comes from the node itself, as an operator would take it; it must be the process we started.
        guard let reported = pair.info(primary, section: "server")?["process_id"].flatMap({ pid_t($0) }),
            reported == victim.pid
        else {
            return FailoverCycle(killedNode: name, killToFirstAckNanoseconds: nil, rejoinNanoseconds: nil,
                problem: "INFO server did not report the PID the harness started")
        }
        let load: BackgroundLoad
        do {
            load = try BackgroundLoad(
                LoadSpecification(
                    target: victim.clientAddress, connections: loadConnections,
                    workload: .set(keyspace: keyspace, valueBytes: valueBytes), warmupNanoseconds: 0,
                    durationNanoseconds: UInt64(stepTimeoutSeconds * 2e9), operationLimit: .max,
                    drainTimeoutNanoseconds: 100_000_000))
        } catch {
            return FailoverCycle(killedNode: name, killToFirstAckNanoseconds: nil, rejoinNanoseconds: nil,
                problem: "load could not connect: \(error)")
        }
        let isLoaded = load.waitForCompleted(500, deadline: deadline(seconds: stepTimeoutSeconds))
        let killedAt = monotonicNanoseconds()
        victim.kill()
        let firstAck = probeFirstAck(survivor.clientAddress, since: killedAt)
        _ = load.stop()  // its connections died with the primary: those errors are the point, not a finding
        var problem: String? = isLoaded ? nil : "load was slow to start"
        if firstAck == nil { problem = "the survivor acknowledged no SET within \(stepTimeoutSeconds) s" }
        // Restart the killed node as it was started; it must rejoin as backup and catch up.
        let restartedAt = monotonicNanoseconds()
        do {
            try victim.restart()
        } catch {
            return FailoverCycle(killedNode: name, killToFirstAckNanoseconds: firstAck, rejoinNanoseconds: nil,
                problem: "restart failed: \(error)")
        }
        let isCaughtUp = poll(until: deadline(seconds: stepTimeoutSeconds), every: .milliseconds(2)) {
            pair.isProtectedPrimary(survivorIndex)
        }
        let rejoin = isCaughtUp ? monotonicNanoseconds() - restartedAt : nil
        if !isCaughtUp { problem = "the restarted node did not catch up within \(stepTimeoutSeconds) s" }
        return FailoverCycle(killedNode: name, killToFirstAckNanoseconds: firstAck, rejoinNanoseconds: rejoin,
            problem: problem)
    }

    /// Sends SET to `address` until one is acknowledged; the time since `start`, or nil at the step deadline.
    private func probeFirstAck(_ address: SocketAddress, since start: UInt64) -> UInt64? {
        let client = ControlClient(address: address)
        defer { client.close() }
        let end = start + UInt64(stepTimeoutSeconds * 1e9)
        var attempt = 0
        while monotonicNanoseconds() < end {
            attempt += 1
            let reply = try? client.command(  // refused, reset or timed out: the survivor is not serving yet
                ["SET", "failover:probe", "attempt-\(attempt)"], timeoutNanoseconds: 1_000_000_000)
            if reply == .simple("OK") { return monotonicNanoseconds() - start }
            if reply == nil { client.close() }
            sleep(for: .microseconds(500))
        }
        return nil
    }

    /// "500 ms (explicit --timeout)", or the default as `lockstep node --help` states it, if it does.
    static func describeTimeout(_ milliseconds: Int?, executable: String) -> String {
        if let milliseconds { return "\(milliseconds) ms (passed with --timeout)" }
        if let stated = NodeHelp.defaultTimeout(executable: executable) { return "\(stated) (the node's default)" }
        return "the node's default (not stated by lockstep node --help)"
    }
}

/// Reads defaults from `lockstep node --help`, so the report can print the detection timeout actually used.
enum NodeHelp {
    /// The text after `--timeout` on its help line that looks like a default, e.g. `500 ms`.
    static func defaultTimeout(executable: String) -> String? {
        guard let text = helpText(executable: executable) else { return nil }
        return defaultValue(of: "--timeout", in: text)
    }

    /// Finds `default: 500` / `default 500 ms` / `(default 500)` in the help entry of `option`, which may continue
    /// on the following indented lines; a bare number for an `MS` option gets its unit.
    static func defaultValue(of option: String, in text: String) -> String? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let first = lines.firstIndex(where: { $0.drop { $0 == " " }.hasPrefix(option + " ") }) else {
            return nil
        }
        var entry = String(lines[first])
        for line in lines[(first + 1)...] {
            let trimmed = line.drop { $0 == " " }
            if trimmed.isEmpty || trimmed.hasPrefix("-") || line.first != " " { break }
            entry += " " + trimmed
        }
        let lower = entry.lowercased()
        guard let range = lower.firstRange(of: "default") else { return nil }
        let rest = lower[range.upperBound...].drop { $0 == ":" || $0 == " " || $0 == "=" }
        let value = rest.prefix { $0 != ")" && $0 != ";" && $0 != "," && $0 != "]" }
        let trimmed = String(value.drop { $0 == " " }.reversed().drop { $0 == " " || $0 == "." }.reversed())
        guard !trimmed.isEmpty else { return nil }
        let isMilliseconds = entry.contains(" MS ") || entry.hasSuffix(" MS")
        return isMilliseconds && Int(trimmed) != nil ? "\(trimmed) ms" : trimmed
    }

    private static func helpText(executable: String) -> String? {
        // Any failure here only means the report cannot state the default timeout.
        guard let directory = try? TextFile.makeTemporaryDirectory(prefix: "lockstep-bench-help") else { return nil }
        defer { TextFile.removeTree(directory) }
        let path = "\(directory)/help.txt"
        guard let child = try? ChildProcess.spawn(
            executable, arguments: ["node", "--help"], standardOutput: .file(path: path, append: false),
            standardError: .file(path: path, append: true))
        else { return nil }
        if (try? child.wait(timeout: .seconds(5))) == nil { _ = try? child.terminate(signal: SIGKILL) }  // hung
        return FileDescriptor.readText(atPath: path)
    }
}
