import Glibc
@testable import LockstepCLI
import Posix
import Runtime

/// Two `lockstep node` processes on loopback ports this test chose, over a fresh arbiter directory, each started,
/// killed (kill -9) and restarted as the test says. No supervisor: `lockstep pair` stops restarting after ten
/// restarts a minute, and the soak kills a hundred times. Teardown signals only the processes started here.
final class NodeProcesses {
    let directory: String
    let clients: [SocketAddress]
    let channels: [SocketAddress]
    let password: String
    private var processes: [ChildProcess?] = [nil, nil]

    static let names = ["a", "b"]

    init(_ label: String) throws {
        directory = try Self.temporaryDirectory(label)
        let ports = try TCP.FreePorts.distinct(4).map { SocketAddress.loopback(port: $0) }
        clients = [ports[0], ports[1]]
        channels = [ports[2], ports[3]]
        password = "client-\(getpid())"
        try ClusterSecretFile.create(atPath: directory + "/cluster-secret")
        let file = try FileDescriptor.open(directory + "/password", flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
        defer { try? file.close() }  // written and done; a close error changes nothing the node reads
        try Array((password + "\n").utf8).withUnsafeBytes { try file.writeAll($0) }
        guard mkdir(directory + "/arbiter", 0o755) == 0 else { throw HarnessError("cannot create the arbiter folder") }
    }

    /// Node `index`'s command line: a short silence timeout, so each failover is quick.
    func arguments(_ index: Int) -> [String] {
        [
            "node", "--name", Self.names[index], "--client", clients[index].description,
            "--channel", channels[index].description, "--peer", channels[1 - index].description,
            "--arbiter", directory + "/arbiter", "--cluster-secret-file", directory + "/cluster-secret",
            "--requirepass-file", directory + "/password", "--parent-pid", String(getpid()),
        ]
    }

    func start(_ index: Int) throws {
        processes[index] = try ChildProcess.spawn(
            try Self.lockstepPath(), arguments: arguments(index),
            standardOutput: .file(path: directory + "/node-\(Self.names[index]).out", append: true),
            standardError: .file(path: directory + "/node-\(Self.names[index]).err", append: true))
    }

    /// kill -9 of node `index`, then waits until it is reaped.
    func kill(_ index: Int) throws {
        try processes[index]?.signal(SIGKILL)
        _ = try processes[index]?.wait(timeout: .seconds(5))
        processes[index] = nil
    }

    /// Sends `signal` (SIGSTOP, SIGCONT) to node `index`.
    func signal(_ index: Int, _ signal: CInt) throws {
        try processes[index]?.signal(signal)
    }

    func stopAll() {
        for process in processes { try? process?.signal(SIGCONT) }  // a stopped process ignores SIGTERM until resumed
        for process in processes { _ = try? process?.terminate(signal: SIGKILL, timeout: .seconds(5)) }
        processes = [nil, nil]
    }

    /// `INFO` fields of node `index`; nil when it does not answer.
    func info(_ index: Int) -> [String: String]? {
        let report = StatusCommand.query(clients[index], password: Array(password.utf8), timeout: .milliseconds(300))
        return report.isReachable ? report.fields : nil
    }

    /// Waits until one node is primary and the other a connected backup: the index of the primary.
    func waitForProtectedPrimary(deadline: Duration) async throws -> Int {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while clock.now < end {
            let reports = [info(0), info(1)]
            if let primary = reports.firstIndex(where: { $0?["lockstep_role"] == "primary" }),
                reports[1 - primary]?["lockstep_role"] == "backup",
                reports[primary]?["lockstep_peer_state"] == "connected",
                reports[1 - primary]?["lockstep_peer_state"] == "connected"
            {
                return primary
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw HarnessError("no protected primary within \(deadline)\n\(logs)")
    }

    func log(_ index: Int, lines: Int = 25) -> String {
        let text = FileDescriptor.readText(atPath: directory + "/node-\(Self.names[index]).err") ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    var logs: String { "--- node a\n\(log(0))\n--- node b\n\(log(1))" }

    func removeDirectory() {
        guard directory.contains("/lockstep-") else { return }
        _ = try? ChildProcess.spawn("/bin/rm", arguments: ["-rf", directory]).wait(timeout: .seconds(10))
    }

    /// The `lockstep` binary SwiftPM built next to this test executable.
    static func lockstepPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw HarnessError("cannot read /proc/self/exe") }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = path[..<(path.lastIndex(of: "/") ?? path.endIndex)]
        while directory.hasSuffix(".xctest"), let slash = directory.lastIndex(of: "/") { directory = directory[..<slash] }
        let lockstep = directory + "/lockstep"
        guard access(String(lockstep), X_OK) == 0 else { throw HarnessError("no lockstep binary at \(lockstep); run swift build") }
        return String(lockstep)
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/lockstep-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
        return String(cString: made)
    }
}

/// How often each `<...>` token occurs in an appended string.
func tokenCounts(_ text: String) -> [String: Int] {
    var counts: [String: Int] = [:]
    for piece in text.split(separator: ">") { counts[String(piece) + ">", default: 0] += 1 }
    return counts
}
