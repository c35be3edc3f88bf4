import Glibc
@testable import LockstepCLI
import Posix
import Synchronization

/// Two `lockstep node` processes on loopback with a fault proxy in front of each logging channel, over a
/// fresh arbiter directory: what every fault test starts from.
///
/// Node i advertises its proxy's address, so whichever node dials the other's channel goes through a proxy.
/// Teardown (`shutDown`) SIGKILLs and reaps every process this cluster spawned, by its pid, then stops the proxies
/// and removes the directory; nothing is found by name.
final class Cluster: @unchecked Sendable {
    /// One node's fixed addresses and its incarnations (a restart spawns a new process with the same arguments).
    final class Node: @unchecked Sendable {
        let name: String
        let client: SocketAddress
        let channel: SocketAddress
        let proxy: FaultProxy
        /// Every process spawned for this node, newest last; guarded by the cluster's lock.
        var processes: [ChildProcess] = []

        init(name: String, client: SocketAddress, channel: SocketAddress, proxy: FaultProxy) {
            self.name = name
            self.client = client
            self.channel = channel
            self.proxy = proxy
        }

        var current: ChildProcess? { processes.last }
    }

    let directory: String
    /// The secret both nodes are started with.
    let clusterSecretFile: String
    let arbiterDirectory: String
    /// Replaced only while `init` starts the nodes on fresh ports (see `startOnFreePorts`).
    private(set) var nodes: [Node] = []
    let extraArguments: [String]
    private let lock = Mutex(())

    var clients: [SocketAddress] { nodes.map(\.client) }

    /// Attempts at starting the nodes on fresh ports when one was taken between the check and the node's bind.
    static let portAttemptsLimit = 3

    /// Picks and checks four ports, starts the proxies and (unless told not to) both nodes; waits only until each
    /// node listens or exits. Without `createArbiter` the arbiter directory is left missing.
    init(label: String, extraArguments: [String] = [], createArbiter: Bool = true, startNodes: Bool = true) throws {
        directory = try FaultHarness.temporaryDirectory(label)
        arbiterDirectory = directory + "/arbiter"
        if createArbiter { mkdir(arbiterDirectory, 0o755) }
        clusterSecretFile = try FaultHarness.writeClusterSecret(directory + "/cluster-secret")
        self.extraArguments = extraArguments
        try startOnFreePorts(startNodes: startNodes, createArbiter: createArbiter)
    }

    /// Another process can bind a port between the check and the node's own bind; then the nodes start again on
    /// fresh ports, at most `portAttemptsLimit` times in all.
    private func startOnFreePorts(startNodes: Bool, createArbiter: Bool) throws {
        for attempt in 1...Self.portAttemptsLimit {
            let ports = try FaultHarness.freePorts(4)
            var made: [Node] = []
            for (index, name) in ["a", "b"].enumerated() {
                let channel = SocketAddress.loopback(port: ports[2 + index])
                made.append(Node(
                    name: name, client: .loopback(port: ports[index]), channel: channel,
                    proxy: try FaultProxy(target: channel)))
            }
            nodes = made
            guard startNodes else { return }
            for index in nodes.indices { try start(index) }
            let portTaken = nodes.indices.contains { index in
                _ = FaultHarness.waitUntil(.seconds(5)) {
                    RESPClient.info(nodes[index].client) != nil || (try? nodes[index].current?.tryWait()) != nil
                }
                return FaultHarness.readFile(logPath(index)).contains("EADDRINUSE")
            }
            guard portTaken, attempt < Self.portAttemptsLimit else { return }
            print("cluster \(directory): a port was taken before a node bound it; starting on fresh ports")
            shutDown(keepDirectory: true)
            for index in nodes.indices { unlink(logPath(index)) }
            // The node that did start may have taken epoch 1: a fresh cluster needs a fresh arbiter.
            FaultHarness.removeTree(arbiterDirectory)
            if createArbiter { mkdir(arbiterDirectory, 0o755) }
        }
    }

    /// Spawns (or respawns) node `index`, appending to its log file.
    func start(_ index: Int) throws {
        let node = nodes[index], peer = nodes[1 - index]
        let arguments = [
            "node", "--name", node.name, "--client", node.client.description, "--channel", node.channel.description,
            "--advertise", node.proxy.address.description, "--peer", peer.proxy.address.description,
            "--arbiter", arbiterDirectory, "--cluster-secret-file", clusterSecretFile, "--parent-pid", String(getpid()),
        ] + extraArguments
        let process = try ChildProcess.spawn(
            try FaultHarness.lockstepPath(), arguments: arguments, standardOutput: .discard,
            standardError: .file(path: logPath(index), append: true))
        lock.withLock { _ in node.processes.append(process) }
    }

    func logPath(_ index: Int) -> String { "\(directory)/\(nodes[index].name).log" }

    /// SIGKILLs node `index` and reaps it.
    func kill(_ index: Int) throws {
        guard let process = lock.withLock({ _ in nodes[index].current }) else { return }
        try process.terminate(signal: SIGKILL, timeout: .seconds(5))
    }

    /// Sends `signal` to node `index`'s current process.
    func signal(_ index: Int, _ signal: CInt) throws {
        try lock.withLock { _ in nodes[index].current }?.signal(signal)
    }

    /// The whole teardown: every spawned process SIGKILLed and reaped, proxies stopped, directory removed.
    func shutDown(keepDirectory: Bool = false) {
        let processes = lock.withLock { _ in nodes.flatMap(\.processes) }
        for process in processes { _ = try? process.terminate(signal: SIGKILL, timeout: .seconds(5)) }
        for node in nodes { node.proxy.stop() }
        if !keepDirectory { FaultHarness.removeTree(directory) }
    }

    /// INFO of node `index`, nil when it does not answer.
    func info(_ index: Int) -> [String: String]? { RESPClient.info(nodes[index].client) }

    /// The node that says it is master with the highest epoch.
    func primaryIndex() -> Int? {
        let views = nodes.indices.compactMap { index in
            info(index).flatMap { $0["role"] == "master" ? (index, Int($0["lockstep_epoch"] ?? "") ?? 0) : nil }
        }
        return views.max { $0.1 < $1.1 }?.0
    }

    /// Waits until one node is primary with a connected (caught-up) backup and the other is that backup.
    func waitForProtected(deadline: Duration) throws -> (primary: Int, backup: Int) {
        var found: (Int, Int)?
        _ = FaultHarness.waitUntil(deadline) {
            let infos = nodes.indices.map(info)
            guard let primary = infos.firstIndex(where: { $0?["lockstep_role"] == "primary" }),
                infos[primary]?["lockstep_peer_state"] == "connected",
                infos[1 - primary]?["lockstep_role"] == "backup",
                infos[1 - primary]?["lockstep_peer_state"] == "connected"
            else { return false }
            found = (primary, 1 - primary)
            return true
        }
        guard let found else {
            throw HarnessError("no protected primary within \(deadline)\n\(statusText())\n\(logTails())")
        }
        return found
    }

    /// Reads the final state from the primary once both nodes' digests agree (or the deadline passes, in which
    /// case the differing digests go into the state and the checker reports them).
    func finalState(shape: WorkloadShape, deadline: Duration = .seconds(15)) throws -> FinalState {
        var digests: [(String, String?)] = []
        _ = FaultHarness.waitUntil(deadline) {
            digests = nodes.map { node in
                let connection = try? RESPClient(address: node.client, timeout: .seconds(2))
                return (node.name, (try? connection?.command(["DEBUG", "DIGEST"]))??.text)
            }
            return digests.allSatisfy { $0.1 != nil } && Set(digests.map(\.1)).count == 1
        }
        guard let primary = primaryIndex() else { throw HarnessError("no primary to read from\n\(logTails())") }
        let connection = try RESPClient(address: nodes[primary].client, timeout: .seconds(5))
        func get(_ key: String) throws -> String? {
            switch try connection.command(["GET", key]) {
            case .bulk(let bytes?): return String(decoding: bytes, as: UTF8.self)
            case .bulk(nil): return nil
            case let other: throw HarnessError("GET \(key) answered \(other)")
            }
        }
        return FinalState(
            keys: try (0..<shape.keys).map { try get(WorkloadShape.key($0)) },
            counters: try (0..<shape.counters).map { try get(WorkloadShape.counter($0)).flatMap { Int64($0) } },
            digests: digests)
    }

    /// One line per node: role, epoch, log position, peer state and reason.
    func statusText() -> String {
        nodes.indices.map { index in
            guard let info = info(index) else { return "\(nodes[index].name): no answer" }
            return "\(nodes[index].name): \(info["lockstep_role"] ?? "?") epoch \(info["lockstep_epoch"] ?? "?") "
                + "log \(info["lockstep_log_sequence"] ?? "?") peer \(info["lockstep_peer_state"] ?? "?") "
                + "(\(info["lockstep_reason"] ?? ""))"
        }.joined(separator: "\n")
    }

    /// The last lines of each node's log, for failure messages.
    func logTails(lines: Int = 15) -> String {
        nodes.indices.map { index in
            "--- \(nodes[index].name).log (last \(lines) lines) ---\n"
                + FaultHarness.readFile(logPath(index)).split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
