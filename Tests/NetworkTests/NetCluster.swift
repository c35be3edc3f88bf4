import Glibc
@testable import LockstepCLI
import Posix
import Synchronization

/// etcd (one member or three) in the clients namespace and one `lockstep node` in each node namespace, each started with
/// `ip netns exec NS ...` (ip execs the command, so the PID we hold is the process itself), on the etcd arbiter
/// and a cluster secret. `shutDown` SIGKILLs and reaps every process it spawned, by PID, and stops any channel proxies.
final class NetCluster: @unchecked Sendable {
    let topology: Topology
    let directory: String
    let secretFile: String
    let names = ["a", "b"]
    let clients: [SocketAddress]
    /// The nodes' `--arbiter`, every member listed in `etcdOrder`; set by `startEtcd`.
    private(set) var arbiter = ""
    /// The etcd members in the order the nodes' arbiter lists them: a follower first.
    private(set) var etcdOrder: [Int] = []
    /// One process per etcd member, by member number.
    private var etcd: [ChildProcess] = []
    /// Every process spawned per node, newest last; guarded by `lock`.
    private var processes: [[ChildProcess]] = [[], []]
    /// The fault proxy in front of each node's logging channel, by node; empty when the nodes dial each other
    /// directly. Guarded by `lock`.
    private var proxies: [FaultProxy] = []
    private let lock = Mutex(())
    /// What each node's client listener binds, if not its own address (e.g. `0.0.0.0`, to serve a service address
    /// too), and flags added to each node's command line. Set before `start`.
    var clientListenHost: String?
    var extraNodeArguments: [[String]] = [[], []]

    init(topology: Topology, directory: String) throws {
        self.topology = topology
        self.directory = directory
        secretFile = try Harness.writeClusterSecret(directory + "/cluster-secret")
        clients = try (0..<2).map {
            try SocketAddress(parsing: "\(Topology.nodeAddress($0)):\(Topology.clientPort)")
        }
    }

    /// Starts an etcd of `members` members in the clients namespace, one per address (`Topology.etcdAddress`), and
    /// waits, with a deadline, until `lockstep arbiter show` run in a node namespace reads each member alone (so the
    /// route from the nodes to every member works, and the members have a leader). The nodes' arbiter lists a
    /// follower first when there are several, so killing `etcdOrder[0]` kills the endpoint the nodes try first
    /// while the cluster keeps its leader.
    func startEtcd(members: Int, deadline: Duration = .seconds(20)) throws {
        precondition((1...Topology.etcdMembersLimit).contains(members), "the topology has addresses for 1-3 members")
        guard let executable = Harness.executable("etcd") else {
            throw HarnessError(
                "etcd is not installed: install Debian's etcd-server (apt-get install -y etcd-server; .ci/run does)")
        }
        func url(_ member: Int, _ port: Int) -> String { "http://\(Topology.etcdAddress(member)):\(port)" }
        let cluster = (0..<members).map { "m\($0)=\(url($0, Topology.etcdPeerPort))" }.joined(separator: ",")
        for member in 0..<members {
            let client = url(member, Topology.etcdClientPort), peer = url(member, Topology.etcdPeerPort)
            // A short election timeout: the suite's clusters start fresh and must elect a leader in moments.
            let process = try ChildProcess.spawn(
                topology.ip,
                arguments: [
                    "netns", "exec", topology.clientsNamespace, executable, "--name", "m\(member)", "--data-dir",
                    "\(directory)/etcd-m\(member)", "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", cluster,
                    "--initial-cluster-state", "new", "--heartbeat-interval", "50", "--election-timeout", "500",
                ],
                standardOutput: .file(path: etcdLogPath(member), append: true),
                standardError: .file(path: etcdLogPath(member), append: true))
            lock.withLock { _ in etcd.append(process) }
        }
        let lockstep = try Harness.lockstepPath()
        for member in 0..<members {
            var last = ""
            let ready = try waitUntil(deadline) {
                let location = "etcd://\(Topology.etcdAddress(member)):\(Topology.etcdClientPort)/lockstep"
                let (ok, output) = try Harness.run(
                    topology.ip,
                    ["netns", "exec", topology.nodeNamespaces[0], lockstep, "arbiter", "show", "--arbiter", location],
                    in: directory, deadline: .seconds(5))
                last = output
                return ok
            }
            guard ready else {
                throw HarnessError("etcd member m\(member) did not answer within \(deadline): \(last)\n"
                    + Harness.readFile(etcdLogPath(member)).suffix(2000))
            }
        }
        var order = Array(0..<members)
        if members > 1 {
            guard let follower = order.first(where: { Self.isEtcdFollower($0) == true }) else {
                throw HarnessError("no etcd member says it is a follower")
            }
            order.removeAll { $0 == follower }
            order.insert(follower, at: 0)
        }
        etcdOrder = order
        let endpoints = order.map { "\(Topology.etcdAddress($0)):\(Topology.etcdClientPort)" }
        arbiter = "etcd://\(endpoints.joined(separator: ","))/lockstep"
    }

    func etcdLogPath(_ member: Int) -> String { "\(directory)/etcd-m\(member).log" }

    /// SIGKILLs etcd member `member` and reaps it.
    func killEtcdMember(_ member: Int) throws {
        guard let process = lock.withLock({ _ in etcd.indices.contains(member) ? etcd[member] : nil }) else { return }
        _ = try process.terminate(signal: SIGKILL, timeout: .seconds(5))
    }

    /// Whether etcd member `member` answers that another member leads (etcd's maintenance status: its own id and
    /// the leader's); nil when it does not answer. Asked over plain HTTP from the calling thread, which must be in
    /// the clients namespace.
    static func isEtcdFollower(_ member: Int) -> Bool? {
        let request = "POST /v3/maintenance/status HTTP/1.1\r\nHost: etcd\r\nContent-Type: application/json\r\n"
            + "Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        guard let response = httpExchange(Topology.etcdAddress(member), Topology.etcdClientPort, request) else {
            return nil
        }
        func field(_ name: String) -> Substring? {
            guard let start = response.firstRange(of: "\"\(name)\":\"")?.upperBound,
                let end = response[start...].firstIndex(of: "\"")
            else { return nil }
            return response[start..<end]
        }
        guard let own = field("member_id"), let leader = field("leader") else { return nil }
        return own != leader
    }

    /// Sends `request` to `host:port` and reads until the server closes (2 s timeouts); nil on any failure.
    private static func httpExchange(_ host: String, _ port: Int, _ request: String) -> String? {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr(host)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else { return nil }
        let bytes = Array(request.utf8)
        guard bytes.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == bytes.count
        else { return nil }
        var response: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
        while response.count < 1 << 16 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            response.append(contentsOf: buffer[..<count])
        }
        return String(decoding: response, as: UTF8.self)
    }

    /// Puts a fault proxy in front of each node's logging channel, set to `mode`. The calling thread must be in the
    /// clients namespace (`Topology.runInClients`): the proxies listen and dial there, on threads that inherit it.
    /// The proxy in front of node i listens on the other node's gateway, the address that node reaches first, and
    /// dials node i's channel. Nodes started afterwards advertise their own proxy and dial the other's (as
    /// FaultTests' `Cluster` does on loopback), so every channel byte crosses a proxy.
    func startChannelProxies(_ mode: FaultProxy.Mode) throws {
        for index in 0..<2 {
            let proxy = try FaultProxy(
                target: try SocketAddress(parsing: "\(Topology.nodeAddress(index)):\(Topology.channelPort)"),
                listenAddress: try SocketAddress(
                    parsing: "\(Topology.gatewayAddress(1 - index)):\(Topology.channelPort)"))
            proxy.set(mode)
            lock.withLock { _ in proxies.append(proxy) }
        }
    }

    /// The channel proxies' totals, by node; empty without proxies.
    var proxyTotals: [FaultProxy.Counters] { lock.withLock { _ in proxies.map(\.totals) } }

    /// Spawns (or respawns) node `index` in its namespace, appending to its log.
    func start(_ index: Int) throws {
        let channel = "\(Topology.nodeAddress(index)):\(Topology.channelPort)"
        var peering = ["--peer", "\(Topology.nodeAddress(1 - index)):\(Topology.channelPort)"]
        let proxies = lock.withLock { _ in self.proxies }
        if !proxies.isEmpty {
            peering = [
                "--advertise", proxies[index].address.description, "--peer", proxies[1 - index].address.description,
            ]
        }
        let process = try ChildProcess.spawn(
            topology.ip,
            arguments: [
                "netns", "exec", topology.nodeNamespaces[index], try Harness.lockstepPath(), "node", "--name",
                names[index], "--client", clientListenHost.map { "\($0):\(Topology.clientPort)" } ?? clients[index].description,
                "--channel", channel,
            ] + announced(index) + peering + [
                "--arbiter", arbiter, "--cluster-secret-file", secretFile, "--parent-pid", String(getpid()),
            ] + extraNodeArguments[index],
            standardOutput: .discard, standardError: .file(path: logPath(index), append: true))
        lock.withLock { _ in processes[index].append(process) }
    }

    /// A node listening on a wildcard announces its own address, the one its peer and Sentinel clients dial.
    private func announced(_ index: Int) -> [String] {
        clientListenHost == nil ? [] : ["--announce-client", clients[index].description]
    }

    func logPath(_ index: Int) -> String { "\(directory)/\(names[index]).log" }

    /// SIGKILLs node `index`'s current process and reaps it.
    func kill(_ index: Int) throws {
        guard let process = lock.withLock({ _ in processes[index].last }) else { return }
        _ = try process.terminate(signal: SIGKILL, timeout: .seconds(5))
    }

    /// Asks node `index`'s current process to stop with SIGTERM (a primary hands over first) and reaps it: its exit
    /// status, or nil if it had to be SIGKILLed after `deadline`.
    func stop(_ index: Int, deadline: Duration = .seconds(10)) throws -> ChildProcess.ExitStatus? {
        guard let process = lock.withLock({ _ in processes[index].last }) else { return nil }
        try process.signal(SIGTERM)
        if let status = try process.wait(timeout: deadline) { return status }
        _ = try process.terminate(signal: SIGKILL, timeout: .seconds(5))
        return nil
    }

    /// Every spawned process SIGKILLed and reaped, by PID; then the channel proxies stopped (their threads joined,
    /// their sockets closed).
    func shutDown() {
        let all = lock.withLock { _ in processes.flatMap { $0 } + etcd }
        for process in all { _ = try? process.terminate(signal: SIGKILL, timeout: .seconds(10)) }
        let stopping = lock.withLock { _ in
            defer { proxies = [] }
            return proxies
        }
        for proxy in stopping { proxy.stop() }
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
