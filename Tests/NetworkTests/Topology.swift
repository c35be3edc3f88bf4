import Glibc
import Posix
import Synchronization

/// Three network namespaces made for one test, routed as a star: node a and node b each have one veth pair to the
/// "clients" namespace, which forwards between them and also holds etcd on an address of its own.
///
///     ns a: 198.18.1.2/24 ──veth── 198.18.1.1/24 ┐
///                                                ├ ns clients (forwards; etcd on 198.18.0.100-102/32 on lo)
///     ns b: 198.18.2.2/24 ──veth── 198.18.2.1/24 ┘
///
/// So the logging channel a↔b crosses the clients namespace too, and a node whose veth is down is cut off from
/// clients, etcd and its peer at once, as a host whose network cable is pulled. Each node namespace routes only
/// 198.18.0.0/15 (via its veth), and the clients namespace has no route out: no packet leaves 198.18.0.0/15.
///
/// Faults are routes and link states: a blackhole route for the peer's address (node link down, each still reaches
/// etcd), a blackhole route for etcd's address (etcd unreachable from one node), the clients-side veth down (a node
/// cut off from everything). `tearDown` deletes the namespaces (which destroys the veths in them) and any veth left
/// in the root namespace by a half-finished setup; names carry the test process's PID and a per-run counter.
///
/// The `.sharedSegment` layout puts the same addresses on one Ethernet segment instead, as machines behind one
/// switch: a fourth namespace holds a bridge, and node a, node b and the clients namespace each have one veth to
/// it, all on 198.18.0.0/15 with no router (the clients' own address is `segmentClientsAddress`; etcd stays on
/// its loopback, reached by ARP, which Linux answers for any local address). That is where a service address can
/// move between the nodes by ARP alone (`AddressTakeoverTests`); the route-based faults are for the star only.
final class Topology: Sendable {
    /// How the namespaces are joined.
    enum Layout: Sendable {
        /// The clients namespace routes between one link per node.
        case routedStar
        /// One bridge, one veth from each namespace to it, no routing.
        case sharedSegment
    }

    /// The clients namespace's address on the shared segment.
    static let segmentClientsAddress = "198.18.0.1"
    /// Addresses for etcd members, one each (a single-member etcd uses the first): member `m` is `etcdAddress(m)`.
    static let etcdMembersLimit = 3
    static let clientPort: UInt16 = 6379
    static let channelPort: UInt16 = 7000
    static let etcdClientPort = 2379
    static let etcdPeerPort = 2380
    /// setns(2)'s flag for a network namespace (CLONE_NEWNET; Glibc's module map does not export it).
    static let newNetworkNamespaceFlag: CInt = 0x4000_0000
    private static let counter = Atomic<Int>(0)

    let ip: String
    let directory: String
    /// The namespaces: node a, node b, clients.
    let nodeNamespaces: [String]
    let clientsNamespace: String
    /// Each node's veth, inside its own namespace, and its peer end: inside the clients namespace (`.routedStar`) or
    /// a port of the bridge (`.sharedSegment`).
    let nodeVeths: [String]
    let clientVeths: [String]
    let layout: Layout
    /// The namespace holding the bridge (`.sharedSegment` only) and the clients namespace's veth to it.
    let segmentNamespace: String
    let clientsSegmentVeth: String
    private let created = Mutex<[String]>([])

    /// etcd member `member`'s address, on the clients namespace's loopback.
    static func etcdAddress(_ member: Int) -> String { "198.18.0.\(100 + member)" }
    /// Node `index`'s only address (client port and logging channel both bind it).
    static func nodeAddress(_ index: Int) -> String { "198.18.\(index + 1).2" }
    /// The clients namespace's address on node `index`'s link: that node's gateway.
    static func gatewayAddress(_ index: Int) -> String { "198.18.\(index + 1).1" }

    /// Creates the namespaces, veths, addresses and routes. Throws, loudly, when it cannot: not root, no `ip`.
    init(directory: String, layout: Layout = .routedStar) throws {
        guard geteuid() == 0 else {
            throw HarnessError(
                "NetworkTests need root: they create network namespaces and veth pairs (`ip netns add`). Run the "
                    + "suite as root (CI does); it never passes without its namespaces")
        }
        guard let ip = Harness.executable("ip") else {
            throw HarnessError(
                "NetworkTests need `ip` (iproute2) to create network namespaces: apt-get install -y iproute2 "
                    + "(.ci/run does this in CI); the suite never passes without its namespaces")
        }
        self.ip = ip
        self.directory = directory
        let run = Self.counter.add(1, ordering: .relaxed).newValue % 100
        let tag = "l\(getpid())r\(run)"
        nodeNamespaces = ["lockstep-\(tag)-a", "lockstep-\(tag)-b"]
        clientsNamespace = "lockstep-\(tag)-clients"
        nodeVeths = ["\(tag)n0", "\(tag)n1"]  // at most 2 + 7 + 3 + 2 = 14 characters: under IFNAMSIZ
        clientVeths = ["\(tag)c0", "\(tag)c1"]
        self.layout = layout
        segmentNamespace = "lockstep-\(tag)-lan"
        clientsSegmentVeth = "\(tag)cl"
        do {
            try setUp()
        } catch {
            tearDown()
            throw error
        }
    }

    private func setUp() throws {
        if layout == .sharedSegment { return try setUpSegment() }
        for namespace in nodeNamespaces + [clientsNamespace] {
            try ipCommand(["netns", "add", namespace])
            created.withLock { $0.append(namespace) }
            try ipCommand(["-n", namespace, "link", "set", "lo", "up"])
        }
        for index in 0..<2 {
            let node = nodeNamespaces[index]
            try ipCommand([
                "link", "add", "name", nodeVeths[index], "netns", node, "type", "veth", "peer", "name",
                clientVeths[index], "netns", clientsNamespace,
            ])
            try ipCommand(["-n", node, "addr", "add", Self.nodeAddress(index) + "/24", "dev", nodeVeths[index]])
            try ipCommand(["-n", node, "link", "set", nodeVeths[index], "up"])
            try ipCommand([
                "-n", clientsNamespace, "addr", "add", Self.gatewayAddress(index) + "/24", "dev", clientVeths[index],
            ])
            try ipCommand(["-n", clientsNamespace, "link", "set", clientVeths[index], "up"])
            try ipCommand(["-n", node, "route", "add", "198.18.0.0/15", "via", Self.gatewayAddress(index)])
        }
        for member in 0..<Self.etcdMembersLimit {
            try ipCommand(["-n", clientsNamespace, "addr", "add", Self.etcdAddress(member) + "/32", "dev", "lo"])
        }
        // Forwarding between the two node links, in the clients namespace only (a per-namespace setting).
        try ipCommand([
            "netns", "exec", clientsNamespace, "/bin/sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward",
        ])
    }

    private func setUpSegment() throws {
        for namespace in nodeNamespaces + [clientsNamespace, segmentNamespace] {
            try ipCommand(["netns", "add", namespace])
            created.withLock { $0.append(namespace) }
            try ipCommand(["-n", namespace, "link", "set", "lo", "up"])
        }
        try ipCommand(["-n", segmentNamespace, "link", "add", "name", "br0", "type", "bridge"])
        try ipCommand(["-n", segmentNamespace, "link", "set", "br0", "up"])
        // (namespace, its veth, the bridge port, its address)
        let members = (0..<2).map { (nodeNamespaces[$0], nodeVeths[$0], clientVeths[$0], Self.nodeAddress($0)) }
            + [(clientsNamespace, clientsSegmentVeth, "\(clientsSegmentVeth)p", Self.segmentClientsAddress)]
        for (namespace, veth, port, address) in members {
            try ipCommand([
                "link", "add", "name", veth, "netns", namespace, "type", "veth", "peer", "name", port, "netns",
                segmentNamespace,
            ])
            try ipCommand(["-n", segmentNamespace, "link", "set", port, "master", "br0"])
            try ipCommand(["-n", segmentNamespace, "link", "set", port, "up"])
            try ipCommand(["-n", namespace, "addr", "add", address + "/15", "dev", veth])
            try ipCommand(["-n", namespace, "link", "set", veth, "up"])
        }
        for member in 0..<Self.etcdMembersLimit {
            try ipCommand(["-n", clientsNamespace, "addr", "add", Self.etcdAddress(member) + "/32", "dev", "lo"])
        }
    }

    /// Runs `ip` with `arguments`, throwing with its output when it fails.
    func ipCommand(_ arguments: [String]) throws {
        let (ok, output) = try Harness.run(ip, arguments, in: directory)
        guard ok else { throw HarnessError("ip \(arguments.joined(separator: " ")) failed: \(output)") }
    }

    /// Deletes every namespace this topology created (the veths inside go with them) and any veth of ours a
    /// half-finished setup left in the root namespace. Every process inside must already be killed and reaped.
    func tearDown() {
        for namespace in created.withLock({ $0 }).reversed() {
            _ = try? Harness.run(ip, ["netns", "del", namespace], in: directory)
        }
        created.withLock { $0 = [] }
        for veth in nodeVeths + clientVeths + [clientsSegmentVeth] {
            // Teardown: "Cannot find device" is the normal answer, the veth having gone with its namespace.
            _ = try? Harness.run(ip, ["link", "del", veth], in: directory)
        }
    }

    /// The names of namespaces of ours that still exist (for the teardown check).
    func leftovers() -> [String] {
        let listed = (try? Harness.run(ip, ["netns", "list"], in: directory).output) ?? ""
        return (nodeNamespaces + [clientsNamespace, segmentNamespace]).filter { listed.contains($0) }
    }

    // MARK: Faults

    /// Both nodes drop packets for each other (a blackhole route on each side); each still reaches etcd.
    func setNodeLink(up: Bool) throws {
        for index in 0..<2 {
            try ipCommand([
                "-n", nodeNamespaces[index], "route", up ? "del" : "add", "blackhole", Self.nodeAddress(1 - index) + "/32",
            ])
        }
    }

    /// Node `index`'s only link, to the clients namespace, down (clients-side end; the node keeps its routes).
    func setClientLink(_ index: Int, up: Bool) throws {
        try ipCommand(["-n", clientsNamespace, "link", "set", clientVeths[index], up ? "up" : "down"])
    }

    /// Node `index` drops every packet for every etcd member's address; it still reaches clients and its peer.
    func setEtcdReachable(from index: Int, _ reachable: Bool) throws {
        for member in 0..<Self.etcdMembersLimit {
            try ipCommand([
                "-n", nodeNamespaces[index], "route", reachable ? "del" : "add", "blackhole",
                Self.etcdAddress(member) + "/32",
            ])
        }
    }

    // MARK: A slow link with netem

    /// Whether this kernel has netem, asked where it would be used: tries a netem qdisc on node a's veth in this
    /// topology's own namespace, then removes it. nil when it works, else why not (tc's own answer).
    func netemRefusal() -> String? {
        guard let tc = Harness.executable("tc") else { return "no tc (iproute2) installed" }
        let device = ["dev", nodeVeths[0], "root"]
        guard let (ok, output) = try? Harness.run(
            tc, ["-n", nodeNamespaces[0], "qdisc", "add"] + device + ["netem", "delay", "1ms"], in: directory)
        else { return "tc could not be started" }
        guard ok else { return output.split(whereSeparator: \.isNewline).joined(separator: " ") }
        // The probe's qdisc goes with the namespace anyway; removing it now keeps the link as the test sets it.
        _ = try? Harness.run(tc, ["-n", nodeNamespaces[0], "qdisc", "del"] + device, in: directory)
        return nil
    }

    /// netem on each node's own veth, egress: `oneWayDelay` and `lossPercent` on everything the node sends, so the
    /// channel between the nodes crosses it once each way. Replies to clients and requests to etcd cross it too
    /// (the star has no veth for node-to-node traffic alone, and filtering by address needs the prio qdisc, which a
    /// kernel without netem tends to lack as well).
    func setNetem(oneWayDelay: Duration, lossPercent: Double) throws {
        guard let tc = Harness.executable("tc") else { throw HarnessError("no tc (iproute2) installed") }
        for index in 0..<2 {
            let arguments = [
                "-n", nodeNamespaces[index], "qdisc", "add", "dev", nodeVeths[index], "root", "netem", "delay",
                "\(Int(oneWayDelay / .microseconds(1)))us", "loss", "\(lossPercent)%",
            ]
            let (ok, output) = try Harness.run(tc, arguments, in: directory)
            guard ok else { throw HarnessError("tc \(arguments.joined(separator: " ")) failed: \(output)") }
        }
    }

    // MARK: Running inside the clients namespace

    /// Runs `body` on a new thread that first entered the clients namespace with setns(2) (which moves only the
    /// calling thread); threads it spawns inherit the namespace. Returns its result or rethrows its error.
    func runInClients<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        let path = "/var/run/netns/\(clientsNamespace)"
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let thread = try PosixThread.spawn {
            let result: Result<T, any Error>
            do {
                try Self.enterNetworkNamespace(path)
                result = .success(try body())
            } catch {
                result = .failure(error)
            }
            outcome.withLock { $0 = result }
        }
        thread.join()
        guard let result = outcome.withLock({ $0 }) else { throw HarnessError("the clients thread left no result") }
        return try result.get()
    }

    private typealias SetNamespace = @convention(c) (CInt, CInt) -> CInt

    /// setns(2) on the calling thread, looked up with dlsym (Glibc's Swift module does not export it).
    static func enterNetworkNamespace(_ path: String) throws {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else { throw HarnessError("libc has no setns") }
        let setNamespace = unsafeBitCast(symbol, to: SetNamespace.self)
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SystemError(call: "open", errno: errno, context: path) }
        defer { close(descriptor) }
        guard setNamespace(descriptor, newNetworkNamespaceFlag) == 0 else {
            throw SystemError(call: "setns", errno: errno, context: path)
        }
    }
}
