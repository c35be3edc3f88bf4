import Glibc
import Posix
import Runtime

/// Two `lockstep node` processes on loopback with a fresh arbiter directory: the system under test.
///
/// Started the way a user would (`lockstep node --name a --client … --channel … --peer … --arbiter DIR`, and the
/// mirror for b), on ports the harness chose and then checked by waiting for both to listen. `--parent-pid` makes a
/// node stop by itself should the harness die without cleaning up (kill -9), so no run leaves orphans. A durable pair
/// gives each node its own data directory (`--data-dir`) inside the pair's temporary directory, so `stop()` removes
/// it with the rest.
public final class LockstepPair {
    public let nodes: [ServerProcess]
    let directory: String
    private let controls: [ControlClient]

    /// Starts nodes a and b from `executable` with `extraArguments` (e.g. `--timeout`), each over a fresh data
    /// directory if `isDurable`, and waits until one of them is a primary whose backup has caught up. Retries with
    /// fresh ports if a port was taken meanwhile.
    public static func start(
        executable: String, extraArguments: [String] = [], isDurable: Bool = false, readyTimeoutSeconds: Double = 20
    ) throws(BenchmarkError) -> LockstepPair {
        var lastError: BenchmarkError = .setupFailed("no attempt made")
        for _ in 0..<3 {
            let pair: LockstepPair
            do {
                pair = try LockstepPair(executable: executable, extraArguments: extraArguments, isDurable: isDurable)
            } catch {
                lastError = error
                continue
            }
            do {
                _ = try pair.waitForProtectedPrimary(deadline: deadline(seconds: readyTimeoutSeconds))
                return pair
            } catch {
                lastError = error
                let logs = pair.nodes.map { "\($0.name)'s log ends:\n\($0.logTail())" }.joined(separator: "\n")
                let isPortTaken = logs.contains("EADDRINUSE") || logs.contains("in use")
                pair.stop()
                if case .timedOut(let what) = error { lastError = .timedOut("\(what)\n\(logs)") }
                // Only a port taken between choosing and binding improves with a retry.
                guard case .setupFailed = error, isPortTaken else { break }
            }
        }
        throw lastError
    }

    private init(executable: String, extraArguments: [String], isDurable: Bool) throws(BenchmarkError) {
        let ports: [UInt16]
        let directory: String
        do {
            directory = try ProcessSupervisor.shared.makeTemporaryDirectory(prefix: "lockstep-bench-pair")
            ports = try TCP.FreePorts.distinct(4)
        } catch {
            throw .system(error)
        }
        self.directory = directory
        // The node refuses a missing arbiter directory (a missing share must not become a local one), so make it.
        let arbiter = "\(directory)/arbiter"
        guard mkdir(arbiter, 0o755) == 0 else {
            ProcessSupervisor.shared.removeDirectory(directory)
            throw .system(SystemError(call: "mkdir", errno: errno, context: arbiter))
        }
        let secret = "\(directory)/cluster-secret"
        do {
            try ClusterSecretFile.create(atPath: secret)
        } catch {
            ProcessSupervisor.shared.removeDirectory(directory)
            throw .setupFailed("\(error)")
        }
        let names = ["a", "b"]
        var nodes: [ServerProcess] = []
        for index in 0..<2 {
            let arguments =
                [
                    "node", "--name", names[index], "--client", "127.0.0.1:\(ports[index])",
                    "--channel", "127.0.0.1:\(ports[2 + index])", "--peer", "127.0.0.1:\(ports[3 - index])",
                    "--arbiter", arbiter, "--cluster-secret-file", secret, "--parent-pid", "\(getpid())",
                ] + (isDurable ? ["--data-dir", Self.dataDirectory(names[index], in: directory)] : []) + extraArguments
            do {
                nodes.append(
                    try ServerProcess(
                        name: "node \(names[index])", executable: executable, arguments: arguments,
                        clientAddress: .loopback(port: ports[index]), logPath: "\(directory)/\(names[index]).log"))
            } catch {
                for node in nodes { node.kill() }
                ProcessSupervisor.shared.removeDirectory(directory)
                throw .system(error)
            }
        }
        self.nodes = nodes
        controls = nodes.map { ControlClient(address: $0.clientAddress) }
        do throws(BenchmarkError) {
            for node in nodes { try node.waitUntilListening(deadline: deadline(seconds: 15)) }
        } catch {
            stop()
            throw error
        }
    }

    /// Node `name`'s `--data-dir` in a durable pair (the node creates it).
    public func dataDirectory(_ name: String) -> String { Self.dataDirectory(name, in: directory) }

    private static func dataDirectory(_ name: String, in directory: String) -> String { "\(directory)/data-\(name)" }

    /// `INFO replication` (and server) of node `index`, or nil if it does not answer within `timeoutNanoseconds`.
    public func info(_ index: Int, section: String = "replication", timeoutNanoseconds: UInt64 = 1_000_000_000)
        -> [String: String]?
    {
        try? controls[index].info(section, timeoutNanoseconds: timeoutNanoseconds)  // nil: not answering now
    }

    /// Whether node `index` serves as primary with a caught-up backup.
    public func isProtectedPrimary(_ index: Int) -> Bool {
        guard let fields = info(index) else { return false }
        return fields["role"] == "master" && fields["lockstep_peer_state"] == "connected"
    }

    /// Waits until one node is a primary whose backup is caught up; returns its index.
    public func waitForProtectedPrimary(deadline: UInt64) throws(BenchmarkError) -> Int {
        var primary: Int?
        let isReady = poll(until: deadline, every: .milliseconds(10)) {
            if nodes.contains(where: { !$0.isRunning }) { return true }  // reported below, without waiting on
            for index in nodes.indices where isProtectedPrimary(index) {
                primary = index
                return true
            }
            return false
        }
        for node in nodes where !node.isRunning {
            let status = node.process.exitStatus.map { "\($0)" } ?? "?"
            throw .setupFailed("\(node.name) exited (\(status)); its log ends:\n\(node.logTail())")
        }
        guard isReady, let primary else {
            let states = nodes.indices.map { index in
                let fields = info(index)
                return "\(nodes[index].name): role \(fields?["role"] ?? "?"), lockstep_role "
                    + "\(fields?["lockstep_role"] ?? "?"), peer \(fields?["lockstep_peer_state"] ?? "?")"
            }
            throw .timedOut("no primary with a caught-up backup (\(states.joined(separator: "; ")))")
        }
        return primary
    }

    /// The `lockstep_*` fields of node `index` that are numbers: counters for the batching figures.
    public func counters(_ index: Int) -> [String: Int64] {
        guard let fields = info(index) else { return [:] }
        var counters: [String: Int64] = [:]
        for (name, value) in fields where name.hasPrefix("lockstep_") {
            if let number = Int64(value) { counters[name] = number }
        }
        return counters
    }

    /// CPU of both nodes, named by role, for the load generator's sampler.
    public func cpuSampler(primary: Int) -> CPUSampler {
        let primaryPID = nodes[primary].pid, backupPID = nodes[1 - primary].pid
        let primaryName = "primary \(nodes[primary].name.dropFirst(5))"
        let backupName = "backup \(nodes[1 - primary].name.dropFirst(5))"
        return {
            var sample: [String: UInt64] = [:]
            sample[primaryName] = ProcessStat.cpuNanoseconds(of: primaryPID)
            sample[backupName] = ProcessStat.cpuNanoseconds(of: backupPID)
            return sample
        }
    }

    /// Kills both nodes and removes the directory.
    public func stop() {
        for control in controls { control.close() }
        for node in nodes { node.kill() }
        ProcessSupervisor.shared.removeDirectory(directory)
    }
}
