import Arbiter
import EtcdArbiter
import Glibc
@testable import LockstepCLI
import Posix
import Runtime
import Testing

/// Two real `lockstep node` processes on one etcd: the wiring from `--arbiter etcd://...` to a failover.
@Suite("lockstep node on etcd", .serialized)
struct EtcdPairTests {
    /// Deadlines for the pair to form and to fail over; both take well under a second when healthy.
    static let formDeadline: Duration = .seconds(20)
    static let failoverDeadline: Duration = .seconds(10)

    @Test("two nodes on an etcd arbiter form a pair, and after kill -9 of the primary the other serves")
    func pairFormsAndFailsOver() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let directory = try temporaryDirectory("etcd-pair")
        defer { removeTree(directory) }
        let ports = try TCP.FreePorts.distinct(4)
        let clients = [SocketAddress.loopback(port: ports[0]), .loopback(port: ports[2])]
        let channels = [SocketAddress.loopback(port: ports[1]), .loopback(port: ports[3])]
        let arbiter = "etcd://\(TCP.FreePorts.dummyDeadEndpoint),\(server.clientAddress)/pair"
        let secret = "\(directory)/cluster-secret"
        _ = try ClusterSecretFile.create(atPath: secret)
        var nodes: [ChildProcess] = []
        defer {
            // Teardown: SIGKILL by PID and reap, whether or not the test got this far.
            for node in nodes { _ = try? node.terminate(signal: SIGKILL, timeout: .seconds(10)) }
        }
        for (index, name) in ["a", "b"].enumerated() {
            nodes.append(
                try ChildProcess.spawn(
                    try lockstepPath(),
                    arguments: [
                        "node", "--name", name, "--client", "\(clients[index])", "--channel", "\(channels[index])",
                        "--peer", "\(channels[1 - index])", "--arbiter", arbiter, "--cluster-secret-file", secret,
                    ],
                    standardOutput: .file(path: "\(directory)/\(name).log", append: true),
                    standardError: .file(path: "\(directory)/\(name).log", append: true)))
        }
        func logs() -> String {
            ["a", "b"].map { "--- \($0)\n" + (FileDescriptor.readText(atPath: "\(directory)/\($0).log") ?? "") }
                .joined(separator: "\n")
        }
        func role(_ address: SocketAddress) -> String? {
            StatusCommand.query(address, timeout: .milliseconds(300)).fields["lockstep_role"]
        }

        var primaryIndex: Int?
        let formed = waitUntil(Self.formDeadline) {
            let roles = clients.map(role)
            guard roles.contains("backup"), let index = roles.firstIndex(of: "primary") else { return false }
            primaryIndex = index
            return true
        }
        guard formed, let primaryIndex else {
            Issue.record("no primary with a backup within \(Self.formDeadline)\n\(logs())")
            return
        }
        #expect(try server.arbiter(prefix: "pair").current()?.epoch == 1)

        try nodes[primaryIndex].signal(SIGKILL)
        _ = try nodes[primaryIndex].wait(timeout: .seconds(5))
        let survivor = clients[1 - primaryIndex]
        let clock = ContinuousClock()
        let killedAt = clock.now
        var reply: RESPValue?
        let served = waitUntil(Self.failoverDeadline) {
            guard let client = try? RESPClient(address: survivor, timeout: .milliseconds(300)) else { return false }
            defer { client.close() }
            reply = try? client.command(["SET", "after-failover", "yes"])
            return reply == .simpleString("OK")
        }
        #expect(served, "the survivor did not serve within \(Self.failoverDeadline): \(String(describing: reply))\n\(logs())")
        print("etcd pair: kill -9 of the primary to the survivor's first +OK in \(clock.now - killedAt)")
        #expect(try server.arbiter(prefix: "pair").current()?.epoch == 2)
    }
}

extension TCP.FreePorts {
    /// A loopback endpoint nothing listens on, listed first so every node request also exercises failover.
    static var dummyDeadEndpoint: SocketAddress {
        .loopback(port: (try? distinct(1)[0]) ?? 1)
    }
}

/// The `lockstep` binary SwiftPM built next to this test executable (the test target depends on it).
func lockstepPath() throws -> String {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard count > 0 else { throw HarnessError("cannot read /proc/self/exe") }
    let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    var directory = executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]
    while directory.hasSuffix(".xctest"), let slash = directory.lastIndex(of: "/") { directory = directory[..<slash] }
    let path = directory + "/lockstep"
    guard access(String(path), X_OK) == 0 else { throw HarnessError("no lockstep binary at \(path); run swift build") }
    return String(path)
}

/// Polls `condition` every 20 ms until it holds or `deadline` passes: whether it held.
func waitUntil(_ deadline: Duration, _ condition: () -> Bool) -> Bool {
    let clock = ContinuousClock()
    let end = clock.now + deadline
    while true {
        if condition() { return true }
        if clock.now >= end { return false }
        Posix.sleep(for: .milliseconds(20))
    }
}

/// `lockstep arbiter` with an etcd location.
@Suite("lockstep arbiter on etcd", .serialized)
struct EtcdArbiterCommandTests {
    /// Runs `lockstep` with `arguments` to completion within a deadline: exit status, stdout and stderr.
    func runLockstep(_ arguments: [String]) throws -> (status: ChildProcess.ExitStatus, output: String, errors: String) {
        let directory = try temporaryDirectory("etcd-command")
        defer { removeTree(directory) }
        let process = try ChildProcess.spawn(
            try lockstepPath(), arguments: arguments, standardOutput: .file(path: directory + "/out", append: false),
            standardError: .file(path: directory + "/err", append: false))
        let status = try process.wait(timeout: .seconds(30)) ?? process.terminate(signal: SIGKILL)
        return (
            status, FileDescriptor.readText(atPath: directory + "/out") ?? "",
            FileDescriptor.readText(atPath: directory + "/err") ?? ""
        )
    }

    @Test("show prints the highest epoch on etcd; reset refuses with a clear 'not yet'")
    func showAndReset() throws {
        let server = try EtcdServer.start()
        defer { server.stop() }
        let location = "etcd://\(server.clientAddress)/command"
        #expect(try runLockstep(["arbiter", "show", "--arbiter", location]).output.contains("no epoch taken yet"))
        _ = try server.arbiter(prefix: "command").take(epoch: 3, for: claim("alpha"))
        let shown = try runLockstep(["arbiter", "show", "--arbiter", location])
        #expect(shown.status == .exited(code: 0) && shown.output.contains("epoch 3 taken by node alpha"), "\(shown)")
        let reset = try runLockstep(["arbiter", "reset", "--arbiter", location])
        #expect(reset.status == .exited(code: 1) && reset.errors.contains("does not support etcd yet"), "\(reset)")
    }

    @Test("a malformed etcd location is a usage error (exit 2) naming the problem")
    func malformedLocation() throws {
        let result = try runLockstep([
            "node", "--name", "a", "--client", "127.0.0.1:0", "--channel", "127.0.0.1:1", "--peer", "127.0.0.1:2",
            "--arbiter", "etcd://127.0.0.1:2379", "--cluster-secret-file", "/nonexistent/cluster-secret",
        ])
        #expect(result.status == .exited(code: 2) && result.errors.contains("has no prefix"), "\(result)")
    }
}
