import Glibc
@testable import LockstepCLI
import Posix
import Testing

/// An arbiter directory nodes can read but not write: nobody may go live on it (issue 7, arbiter faults).
@Suite("read-only arbiter", .serialized)
struct ReadOnlyArbiterTests {
    @Test("on a read-only arbiter nobody goes live, and each node counts the read-only answers that kept it out")
    func readOnlyArbiter() throws {
        let directory = try FaultHarness.temporaryDirectory("unwritable-arbiter")
        defer { FaultHarness.removeTree(directory) }
        let arbiter = directory + "/arbiter"
        mkdir(arbiter, 0o555)   // r-x for everyone: listing works, creating a record does not
        chmod(directory, 0o755)
        let ports = try FaultHarness.freePorts(4)
        let secret = try FaultHarness.writeClusterSecret(directory + "/cluster-secret")
        // The nodes may run as nobody (below), who must be able to read it.
        if geteuid() == 0 { chown(secret, 65534, 65534) }
        var nodes: [ChildProcess] = []
        // try?: teardown of a child that may already be gone; terminate escalates to SIGKILL and reaps.
        defer { for node in nodes { _ = try? node.terminate(signal: SIGKILL, timeout: .seconds(5)) } }
        for index in 0..<2 {
            let command = [
                try FaultHarness.lockstepPath(), "node", "--name", "n\(index)",
                "--client", "127.0.0.1:\(ports[index])", "--channel", "127.0.0.1:\(ports[2 + index])",
                "--peer", "127.0.0.1:\(ports[3 - index])", "--arbiter", arbiter, "--cluster-secret-file", secret,
            ]
            // Root ignores permissions, so the nodes run as nobody when the tests run as root.
            let (executable, arguments) = geteuid() == 0
                ? ("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups"] + command)
                : (command[0], Array(command.dropFirst()))
            nodes.append(try ChildProcess.spawn(
                executable, arguments: arguments, standardOutput: .discard,
                standardError: .file(path: "\(directory)/n\(index).log", append: false)))
        }
        let logs = { (0..<2).map { FaultHarness.readFile("\(directory)/n\($0).log") }.joined(separator: "\n") }
        // Each node counts the arbiter's answers by error kind (ArbiterError.readOnly): that is why it waits.
        let readOnlyAnswers = { (index: Int) in
            Int(RESPClient.info(.loopback(port: ports[index]))?["lockstep_arbiter_errors_read_only"] ?? "0") ?? 0
        }
        let explained = FaultHarness.waitUntil(.seconds(10)) { (0..<2).contains { readOnlyAnswers($0) > 0 } }
        let roles = (0..<2).map { RESPClient.info(.loopback(port: ports[$0]))?["lockstep_role"] ?? "unreachable" }
        print("read-only arbiter: roles \(roles)\n\(logs())")
        #expect(explained, "no node met the read-only arbiter")
        #expect(!roles.contains("primary") && !roles.contains("solo"), "a node went live: \(roles)")
        #expect(FaultHarness.listDirectory(arbiter).isEmpty, "a record appeared in a read-only arbiter")
    }
}
