import Glibc
import Lockstep

/// Two `ledger-server` processes on 127.0.0.1 over a fresh arbiter directory, started by this test, with their
/// logging channel through a `DelayProxy`.
///
/// `stop()` is the teardown every test defers: SIGKILL and reap both PIDs (whichever still run), close the proxies,
/// then remove the directory. Only these PIDs are ever signalled.
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
    private let proxies: [DelayProxy]

    private init(directory: String, nodes: [Node], proxies: [DelayProxy]) {
        self.directory = directory
        self.nodes = nodes
        self.proxies = proxies
    }

    /// Starts nodes `a` and `b` over `directory/arbiter`, on six ports checked free: each node's client and channel
    /// port, and a proxy in front of each channel port, which the node advertises and the other dials.
    static func start(channelDelay: Duration) throws -> RunningLedgerPair {
        let server = try Harness.ledgerServerPath()
        let directory = try Harness.temporaryDirectory("kill")
        var (nodes, proxies): ([Node], [DelayProxy]) = ([], [])
        do {
            guard mkdir(directory + "/arbiter", 0o755) == 0 else { throw HarnessError("mkdir failed: errno \(errno)") }
            let secret = directory + "/cluster-secret"
            try ClusterSecretFile.create(atPath: secret)
            let ports = try Harness.freePorts(6)
            for (index, name) in ["a", "b"].enumerated() {
                let (client, channel, proxy) = (ports[3 * index], ports[3 * index + 1], ports[3 * index + 2])
                let peerProxy = ports[3 * (1 - index) + 2]
                proxies.append(try DelayProxy(port: proxy, targetPort: channel, delay: channelDelay))
                let process = try ChildProcess(
                    executable: server,
                    [
                        "--name", name, "--client", "127.0.0.1:\(client)", "--channel", "127.0.0.1:\(channel)",
                        "--advertise", "127.0.0.1:\(proxy)", "--peer", "127.0.0.1:\(peerProxy)",
                        "--arbiter", directory + "/arbiter", "--cluster-secret-file", secret,
                    ],
                    standardOutput: "\(directory)/\(name).out", standardError: "\(directory)/\(name).err")
                nodes.append(Node(name: name, clientPort: client, channelPort: channel, process: process))
            }
        } catch {
            RunningLedgerPair(directory: directory, nodes: nodes, proxies: proxies).stop()
            throw error
        }
        return RunningLedgerPair(directory: directory, nodes: nodes, proxies: proxies)
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

    /// SIGKILL and reap both nodes, close the proxies, then remove the directory. Idempotent.
    func stop() {
        nodes.forEach { $0.process.killAndReap() }
        proxies.forEach { $0.close() }
        Harness.removeTree(directory)
    }
}
