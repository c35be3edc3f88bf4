import Glibc
@testable import LockstepCLI
import Posix
import Synchronization

/// etcd in the clients namespace and one `lockstep node` in each node namespace, each started with
/// `ip netns exec NS ...` (ip execs the command, so the PID we hold is the process itself), on the etcd arbiter
/// and a cluster secret. `shutDown` SIGKILLs and reaps every process it spawned, by PID.
final class NetCluster: @unchecked Sendable {
    let topology: Topology
    let directory: String
    let secretFile: String
    let names = ["a", "b"]
    let clients: [SocketAddress]
    let arbiter = "etcd://\(Topology.etcdAddress):\(Topology.etcdClientPort)/lockstep"
    private var etcd: ChildProcess?
    /// Every process spawned per node, newest last; guarded by `lock`.
    private var processes: [[ChildProcess]] = [[], []]
    private let lock = Mutex(())

    init(topology: Topology, directory: String) throws {
        self.topology = topology
        self.directory = directory
        secretFile = try Harness.writeClusterSecret(directory + "/cluster-secret")
        clients = try (0..<2).map {
            try SocketAddress(parsing: "\(Topology.nodeAddress($0)):\(Topology.clientPort)")
        }
    }

    /// Starts etcd in the clients namespace and waits, with a deadline, until `lockstep arbiter show` run in a
    /// node namespace reads it (so the route from the nodes to etcd works too).
    func startEtcd(deadline: Duration = .seconds(20)) throws {
        guard let executable = Harness.executable("etcd") else {
            throw HarnessError(
                "etcd is not installed: install Debian's etcd-server (apt-get install -y etcd-server; .ci/run does)")
        }
        let client = "http://\(Topology.etcdAddress):\(Topology.etcdClientPort)"
        let peer = "http://\(Topology.etcdAddress):\(Topology.etcdPeerPort)"
        let process = try ChildProcess.spawn(
            topology.ip,
            arguments: [
                "netns", "exec", topology.clientsNamespace, executable, "--name", "net", "--data-dir",
                directory + "/etcd", "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", "net=\(peer)",
                "--initial-cluster-state", "new",
            ],
            standardOutput: .file(path: directory + "/etcd.log", append: true),
            standardError: .file(path: directory + "/etcd.log", append: true))
        lock.withLock { _ in etcd = process }
        let lockstep = try Harness.lockstepPath()
        var last = ""
        let ready = try waitUntil(deadline) {
            if (try? process.tryWait()) ?? nil != nil { return false }
            let (ok, output) = try Harness.run(
                topology.ip,
                ["netns", "exec", topology.nodeNamespaces[0], lockstep, "arbiter", "show", "--arbiter", arbiter],
                in: directory, deadline: .seconds(5))
            last = output
            return ok
        }
        guard ready else {
            throw HarnessError("etcd did not answer within \(deadline): \(last)\n"
                + Harness.readFile(directory + "/etcd.log").suffix(2000))
        }
    }

    /// Spawns (or respawns) node `index` in its namespace, appending to its log.
    func start(_ index: Int) throws {
        let channel = "\(Topology.nodeAddress(index)):\(Topology.channelPort)"
        let peer = "\(Topology.nodeAddress(1 - index)):\(Topology.channelPort)"
        let process = try ChildProcess.spawn(
            topology.ip,
            arguments: [
                "netns", "exec", topology.nodeNamespaces[index], try Harness.lockstepPath(), "node", "--name",
                names[index], "--client", clients[index].description, "--channel", channel, "--peer", peer,
                "--arbiter", arbiter, "--cluster-secret-file", secretFile, "--parent-pid", String(getpid()),
            ],
            standardOutput: .discard, standardError: .file(path: logPath(index), append: true))
        lock.withLock { _ in processes[index].append(process) }
    }

    func logPath(_ index: Int) -> String { "\(directory)/\(names[index]).log" }

    /// SIGKILLs node `index`'s current process and reaps it.
    func kill(_ index: Int) throws {
        guard let process = lock.withLock({ _ in processes[index].last }) else { return }
        _ = try process.terminate(signal: SIGKILL, timeout: .seconds(5))
    }

    /// Every spawned process SIGKILLed and reaped, by PID.
    func shutDown() {
        let all = lock.withLock { _ in processes.flatMap { $0 } + (etcd.map { [$0] } ?? []) }
        for process in all { _ = try? process.terminate(signal: SIGKILL, timeout: .seconds(10)) }
    }

    func info(_ index: Int) -> [String: String]? { RESPClient.info(clients[index]) }

    /// The node that says it is master with the highest epoch.
    func primaryIndex() -> Int? {
        let views = (0..<2).compactMap { index in
            info(index).flatMap { $0["role"] == "master" ? (index, Int($0["lockstep_epoch"] ?? "") ?? 0) : nil }
        }
        return views.max { $0.1 < $1.1 }?.0
    }

    /// Waits until one node is primary with a connected backup and the other is that backup.
    func waitForProtected(deadline: Duration) throws -> (primary: Int, backup: Int) {
        var found: (Int, Int)?
        _ = waitUntil(deadline) {
            let infos = (0..<2).map(info)
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

    /// The final state from the primary once both digests agree (or the deadline passes: the checker reports it).
    func finalState(shape: WorkloadShape, deadline: Duration = .seconds(15)) throws -> FinalState {
        var digests: [(String, String?)] = []
        _ = waitUntil(deadline) {
            digests = (0..<2).map { index in
                let connection = try? RESPClient(address: clients[index], timeout: .seconds(2))
                return (names[index], (try? connection?.command(["DEBUG", "DIGEST"]))??.text)
            }
            return digests.allSatisfy { $0.1 != nil } && Set(digests.map(\.1)).count == 1
        }
        guard let primary = primaryIndex() else { throw HarnessError("no primary to read from\n\(logTails())") }
        let connection = try RESPClient(address: clients[primary], timeout: .seconds(5))
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

    func statusText() -> String {
        (0..<2).map { index in
            guard let info = info(index) else { return "\(names[index]): no answer" }
            return "\(names[index]): \(info["lockstep_role"] ?? "?") epoch \(info["lockstep_epoch"] ?? "?") "
                + "log \(info["lockstep_log_sequence"] ?? "?") peer \(info["lockstep_peer_state"] ?? "?") "
                + "(\(info["lockstep_reason"] ?? ""))"
        }.joined(separator: "\n")
    }

    func logTails(lines: Int = 15) -> String {
        (0..<2).map { index in
            "--- \(names[index]).log (last \(lines) lines) ---\n"
                + Harness.readFile(logPath(index)).split(separator: "\n").suffix(lines).joined(separator: "\n")
        }.joined(separator: "\n")
    }
}
