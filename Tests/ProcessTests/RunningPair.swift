import Glibc
@testable import LockstepCLI
import Posix
import Synchronization
import Testing

/// A `lockstep pair` the test started: its process, its ports and data directory, and what its nodes report.
///
/// `stop()` is the teardown every test defers: SIGTERM to the pair (which stops both nodes), SIGKILL after a
/// deadline, then SIGKILL to any node pid the test saw that still runs this pair's command line. Only pids this
/// test started or observed are signalled, never a process found by name.
final class RunningPair: Sendable {
    let process: ChildProcess
    let directory: String
    let basePort: Int
    /// Node a's and node b's client addresses.
    let clients: [SocketAddress]
    /// Node a's and node b's metrics addresses, when started with metrics.
    let metrics: [SocketAddress]
    /// The client password the nodes require, sent before INFO.
    let password: [UInt8]?
    /// Every node pid seen in `INFO server`, for the teardown.
    private let seenNodePIDs = Mutex<Set<pid_t>>([])

    private init(process: ChildProcess, directory: String, basePort: Int, metricsPort: Int?, password: [UInt8]?) {
        self.process = process
        self.directory = directory
        self.basePort = basePort
        self.password = password
        clients = [.loopback(port: UInt16(basePort)), .loopback(port: UInt16(basePort + 1))]
        metrics = metricsPort.map { [.loopback(port: UInt16($0)), .loopback(port: UInt16($0 + 1))] } ?? []
    }

    /// Where `lockstep pair --metrics-port` goes, above the base port: clear of N, N+1, N+1000 and N+1001.
    static let metricsPortOffset = 2_000

    /// Starts `lockstep pair --dir <fresh> --port <free>` and waits until one node is a primary protected by a
    /// connected backup. `directory` reuses a data directory (a second pair over the same arbiter).
    ///
    /// Another process can bind one of the ports between the check and the node's own bind; then the pair starts
    /// again on fresh ports, at most `portAttemptsLimit` times in all. `hasMetrics` adds `--metrics-port` (at
    /// `metricsPortOffset`); `arguments` go to `pair` as they are, and `password` is what they make the nodes require.
    static func start(
        _ label: String, directory: String? = nil, hasMetrics: Bool = false, arguments: [String] = [],
        password: [UInt8]? = nil
    ) async throws -> RunningPair {
        let directory = try directory ?? Harness.temporaryDirectory(label)
        for attempt in 1...Harness.portAttemptsLimit {
            let basePort = hasMetrics
                ? Int(try TCP.FreePorts.base(offsets: [0, 1, 1_000, 1_001, 2_000, 2_001])) : try Harness.freePairBasePort()
            let metricsPort = hasMetrics ? basePort + metricsPortOffset : nil
            let process = try ChildProcess.spawn(
                try Harness.lockstepPath(),
                arguments: ["pair", "--dir", directory, "--port", String(basePort), "--parent-pid", String(getpid())]
                    + (metricsPort.map { ["--metrics-port", String($0)] } ?? []) + arguments,
                standardOutput: .file(path: directory + "/pair.out", append: false),
                standardError: .file(path: directory + "/pair.err", append: false))
            let pair = RunningPair(
                process: process, directory: directory, basePort: basePort, metricsPort: metricsPort, password: password)
            do {
                _ = try await pair.waitForProtectedPrimary(deadline: .seconds(15))
                return pair
            } catch {
                pair.stop()
                let portTaken = Harness.readFile(directory + "/pair.err").contains("EADDRINUSE")
                guard portTaken, attempt < Harness.portAttemptsLimit else { throw error }
                print("\(label): a port of \(basePort) was taken before the pair bound it; starting on fresh ports")
            }
        }
        throw HarnessError("unreachable: the last attempt returns or throws")
    }

    /// `INFO server` and `INFO replication` of one node, or nil when it does not answer.
    func info(_ address: SocketAddress, timeout: Duration = .milliseconds(500)) -> [String: String]? {
        let report = StatusCommand.query(address, password: password, timeout: timeout)
        guard report.isReachable else { return nil }
        if let pid = report.fields["process_id"].flatMap({ pid_t($0) }) {
            seenNodePIDs.withLock { _ = $0.insert(pid) }
        }
        return report.fields
    }

    func nodePID(_ address: SocketAddress) throws -> pid_t {
        guard let pid = info(address)?["process_id"].flatMap({ pid_t($0) }) else {
            throw HarnessError("node at \(address) did not report its process_id\n\(logTail())")
        }
        return pid
    }

    /// The primary and the backup once the primary reports a connected backup and the backup reports it is
    /// connected (caught up, could take over).
    func waitForProtectedPrimary(deadline: Duration) async throws -> (primary: SocketAddress, backup: SocketAddress) {
        var found: (SocketAddress, SocketAddress)?
        let isReady = try await Harness.waitUntil(deadline) {
            let reports = clients.map { ($0, info($0)) }
            guard let primary = reports.first(where: { $0.1?["lockstep_role"] == "primary" }),
                let backup = reports.first(where: { $0.1?["lockstep_role"] == "backup" }),
                primary.1?["lockstep_peer_state"] == "connected", backup.1?["lockstep_peer_state"] == "connected"
            else { return false }
            found = (primary.0, backup.0)
            return true
        }
        guard isReady, let found else {
            throw HarnessError("no protected primary within \(deadline)\n\(statusText())\n\(logTail())")
        }
        return found
    }

    /// Waits until both nodes return the same `DEBUG DIGEST` (the backup has replayed everything): the digest.
    func waitForEqualDigests(deadline: Duration) async throws -> String {
        var digests: [String?] = []
        let isEqual = try await Harness.waitUntil(deadline) {
            digests = clients.map { address in
                (try? RESPClient(address: address, timeout: .milliseconds(500)))
                    .flatMap { try? $0.command(["DEBUG", "DIGEST"]).text }
            }
            return digests[0] != nil && digests[0] == digests[1]
        }
        guard isEqual, let digest = digests[0] else {
            throw HarnessError("digests still differ after \(deadline): \(digests)\n\(statusText())\n\(logTail())")
        }
        return digest
    }

    /// What `lockstep status` would show, for failure messages.
    func statusText() -> String {
        StatusCommand.table(clients.map { StatusCommand.query($0, password: password, timeout: .milliseconds(300)) })
    }

    /// The last lines of the pair's stderr (both nodes' logs and the supervisor's), for failure messages.
    func logTail(lines: Int = 40) -> String {
        let text = Harness.readFile(directory + "/pair.err")
        return "--- last lines of lockstep pair's log ---\n"
            + text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    var standardOutput: String { Harness.readFile(directory + "/pair.out") }

    /// SIGTERM, up to `deadline` for a clean exit, then SIGKILL; then any node of this pair still running is
    /// killed by pid. Returns how the pair ended.
    @discardableResult
    func stop(deadline: Duration = .seconds(10)) -> ChildProcess.ExitStatus? {
        let status = try? process.terminate(signal: SIGTERM, timeout: deadline)
        for pid in seenNodePIDs.withLock({ $0 }) where isNodeOfThisPair(pid) {
            kill(pid, SIGKILL)
        }
        return status
    }

    /// Removes the data directory; call after `stop()` when the logs are no longer needed.
    func removeDirectory() {
        Harness.removeTree(directory)
    }

    /// Whether `pid` still runs a node over this pair's data directory: the check that keeps the teardown from
    /// signalling a process that merely reused the pid.
    func isNodeOfThisPair(_ pid: pid_t) -> Bool {
        guard processExists(pid) else { return false }
        let commandLine = Harness.readFile("/proc/\(pid)/cmdline").split(separator: "\0").joined(separator: " ")
        return commandLine.contains(directory + "/arbiter") && commandLine.contains(" node ")
    }
}
