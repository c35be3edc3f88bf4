import Glibc

/// Two `ledger-server` processes on 127.0.0.1 over a fresh arbiter directory, started by this test.
///
/// `stop()` is the teardown every test defers: SIGKILL and reap both PIDs (whichever still run), then remove the
/// directory. Only these PIDs are ever signalled.
final class RunningLedgerPair: @unchecked Sendable {  // unchecked: used from the test's one task
    /// One node: its name, ports and process.
    struct Node {
        var name: String
        var clientPort: UInt16
        var channelPort: UInt16
        var process: ChildProcess
    }

    let directory: String
    let nodes: [Node]

    private init(directory: String, nodes: [Node]) {
        self.directory = directory
        self.nodes = nodes
    }

    /// Starts nodes `a` and `b` on four ports checked free, each the other's peer, over `directory/arbiter`.
    static func start() throws -> RunningLedgerPair {
        let server = try Harness.ledgerServerPath()
        let directory = try Harness.temporaryDirectory("kill")
        guard mkdir(directory + "/arbiter", 0o755) == 0 else { throw HarnessError("mkdir failed: errno \(errno)") }
        let ports = try Harness.freePorts(4)
        var nodes: [Node] = []
        for (index, name) in ["a", "b"].enumerated() {
            let (client, channel, peer) = (ports[2 * index], ports[2 * index + 1], ports[3 - 2 * index])
            do {
                let process = try ChildProcess(
                    executable: server,
                    [
                        "--name", name, "--client", "127.0.0.1:\(client)", "--channel", "127.0.0.1:\(channel)",
                        "--peer", "127.0.0.1:\(peer)", "--arbiter", directory + "/arbiter",
                    ],
                    standardOutput: "\(directory)/\(name).out", standardError: "\(directory)/\(name).err")
                nodes.append(Node(name: name, clientPort: client, channelPort: channel, process: process))
            } catch {
                nodes.forEach { $0.process.killAndReap() }
                Harness.removeTree(directory)
                throw error
            }
        }
        return RunningLedgerPair(directory: directory, nodes: nodes)
    }

    /// A node's `STATUS` as fields, nil when it does not answer.
    func status(of node: Node) -> [String: String]? {
        // Not answering is an outcome here (starting, killed), not a failure.
        guard let line = try? LineClient(port: node.clientPort, timeout: .milliseconds(500)).request("STATUS"),
            line.hasPrefix("role=")
        else { return nil }
        let words = line.split(separator: " ").prefix { !$0.hasPrefix("reason=") }
        return Dictionary(words.map { word in
            let parts = word.split(separator: "=", maxSplits: 1)
            return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }, uniquingKeysWith: { first, _ in first })
    }

    /// The primary and the backup once both report the other connected (the backup is protecting).
    func waitForProtectedPrimary(deadline: Duration) async throws -> (primary: Node, backup: Node) {
        var found: (Node, Node)?
        let isReady = try await Harness.waitUntil(deadline) {
            if let exited = nodes.first(where: { $0.process.hasExited() }) {
                throw HarnessError("node \(exited.name) exited while starting\n\(logTail())")
            }
            let statuses = nodes.map { status(of: $0) }
            guard statuses.allSatisfy({ $0?["peer_state"] == "connected" }),
                let primary = statuses.firstIndex(where: { $0?["role"] == "primary" }),
                let backup = statuses.firstIndex(where: { $0?["role"] == "backup" })
            else { return false }
            found = (nodes[primary], nodes[backup])
            return true
        }
        guard isReady, let found else { throw HarnessError("no protected primary within \(deadline)\n\(logTail())") }
        return found
    }

    /// The last lines of both nodes' logs, for failure messages.
    func logTail(lines: Int = 20) -> String {
        nodes.map { node in
            "--- \(node.name).err ---\n"
                + Harness.readFile("\(directory)/\(node.name).err").split(separator: "\n").suffix(lines)
                .joined(separator: "\n")
        }.joined(separator: "\n")
    }

    /// SIGKILL and reap both nodes, then remove the directory. Idempotent.
    func stop() {
        nodes.forEach { $0.process.killAndReap() }
        Harness.removeTree(directory)
    }
}
