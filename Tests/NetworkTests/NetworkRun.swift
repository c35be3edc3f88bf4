import Glibc
import Posix

/// One network fault test, end to end: topology, etcd, both nodes, a protected pair, the workload and role monitor
/// (all in the clients namespace), the fault (the test's `body`), then the checker over the whole history.
/// With a `SlowLink`, the node-to-node channel is slow and lossy from before the nodes start: netem when this
/// kernel has it, checked in the run's own namespaces, else fault proxies; the run prints which. Everything started
/// is torn down on every path: processes by PID and proxies, then the namespaces (netem's qdiscs go with them).
final class NetworkRun: @unchecked Sendable {
    let title: String
    let topology: Topology
    let cluster: NetCluster
    let shape = WorkloadShape()
    private(set) var workload: Workload!
    private(set) var monitor: RoleMonitor!
    private(set) var faults: [FaultMark] = []
    /// Failures the test's own checks found, beyond the checker's.
    var extraViolations: [String] = []
    /// How the link between the nodes was slowed; nil on a run without a `SlowLink`.
    let slowLinkPath: SlowLink.Path?

    private init(title: String, topology: Topology, cluster: NetCluster, slowLinkPath: SlowLink.Path?) {
        self.title = title
        self.topology = topology
        self.cluster = cluster
        self.slowLinkPath = slowLinkPath
    }

    /// What a run ends with: the checker's report, its violations plus the test's own, and how long it took.
    struct Outcome: Sendable {
        var text: String
        var violations: [String]
        var lostAcknowledged: Int
        var splitBrain: Int
        var windows: [String]
        var elapsed: Duration
    }

    static func run(
        _ title: String, etcdMembers: Int, slowLink: SlowLink? = nil,
        _ body: @escaping @Sendable (NetworkRun) throws -> Void
    ) throws -> Outcome {
        let started = Stopwatch.now
        let directory = try Harness.temporaryDirectory("run")
        defer { Harness.removeTree(directory) }
        let topology = try Topology(directory: directory)
        defer {
            topology.tearDown()
            let left = topology.leftovers()
            if !left.isEmpty { print("NetworkTests: namespaces left after teardown: \(left)") }
        }
        let cluster = try NetCluster(topology: topology, directory: directory)
        defer { cluster.shutDown() }
        let slowLinkPath = try slowLink.map { try slowDown(topology, $0, title: title) }
        let run = NetworkRun(title: title, topology: topology, cluster: cluster, slowLinkPath: slowLinkPath)
        var outcome = try topology.runInClients {
            if let slowLink, case .faultProxy = slowLinkPath { try cluster.startChannelProxies(slowLink.proxyMode) }
            return try run.execute(etcdMembers: etcdMembers, body)
        }
        outcome.elapsed = Stopwatch.now - started
        return outcome
    }

    /// netem on the node link if this kernel has it, checked in `topology`'s own namespace; else the path through
    /// fault proxies, which `execute`'s caller starts. Says loudly which.
    private static func slowDown(_ topology: Topology, _ slowLink: SlowLink, title: String) throws -> SlowLink.Path {
        let path: SlowLink.Path
        if let refusal = topology.netemRefusal() {
            path = .faultProxy(netemRefusal: refusal)
        } else {
            try topology.setNetem(oneWayDelay: slowLink.oneWayDelay, lossPercent: slowLink.lossPercent)
            path = .netem
        }
        print("NETWORK \(title): the link between the nodes is slowed by \(path)")
        return path
    }

    private func execute(etcdMembers: Int, _ body: (NetworkRun) throws -> Void) throws -> Outcome {
        try cluster.startEtcd(members: etcdMembers)
        for index in 0..<2 { try cluster.start(index) }
        _ = try cluster.waitForProtected(deadline: .seconds(30))
        monitor = try RoleMonitor(addresses: cluster.clients)
        workload = try Workload(addresses: cluster.clients, shape: shape)
        do {
            try body(self)
        } catch {
            _ = workload.stop()
            _ = monitor.stop()
            throw error
        }
        let history = workload.stop()
        let samples = monitor.stop()
        _ = try? cluster.waitForProtected(deadline: .seconds(15))  // the digest check reports a missing backup
        let final = try cluster.finalState(shape: shape)
        let report = Checker.check(history: history, final: final, samples: samples, faults: faults)
        let violations = report.violations + extraViolations
        let windows = report.unavailability.map { "\($0.label): \($0.window.map { "\($0)" } ?? "never recovered")" }
        return Outcome(
            text: "=== \(title) ===\n\(report)\n", violations: violations.isEmpty
                ? [] : violations + ["\(cluster.statusText())\n\(cluster.logTails())"],
            lostAcknowledged: report.lostAcknowledged.count, splitBrain: report.splitBrain.count, windows: windows,
            elapsed: .zero)
    }

    /// Notes a fault the test is about to cause; `formerPrimary` is the node whose acks do not end the window.
    func markFault(_ label: String, formerPrimary: Int?) -> ContinuousClock.Instant {
        let now = Stopwatch.now
        faults.append(FaultMark(label: label, at: now, formerPrimary: formerPrimary))
        return now
    }

    /// Waits for an acknowledged write sent after the last fault to a node other than its former primary.
    /// Returns when that write finished.
    @discardableResult
    func waitForRecovery(deadline: Duration) throws -> ContinuousClock.Instant {
        guard let fault = faults.last else { return Stopwatch.now }
        var finished: ContinuousClock.Instant?
        _ = waitUntil(deadline) {
            finished = workload.history().first {
                $0.outcome == .acknowledged && $0.sentAt >= fault.at && $0.node != fault.formerPrimary
            }?.finishedAt
            return finished != nil
        }
        guard let finished else {
            throw HarnessError("no write acknowledged within \(deadline) after \(fault.label)\n"
                + "\(cluster.statusText())\n\(cluster.logTails())")
        }
        return finished
    }

    /// Requires `count` more acknowledged writes within `deadline`.
    func requireProgress(_ count: Int, deadline: Duration = .seconds(20)) throws {
        guard workload.waitForProgress(count, deadline: deadline) else {
            throw HarnessError("fewer than \(count) writes acknowledged in \(deadline)\n\(cluster.statusText())\n"
                + "\(cluster.logTails())")
        }
    }

    /// How long each operation sent in [from, to) took to be acknowledged, shortest first.
    func ackLatencies(sentFrom from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> [Duration] {
        workload.history().filter { $0.outcome == .acknowledged && $0.sentAt >= from && $0.sentAt < to }
            .map { $0.finishedAt - $0.sentAt }.sorted()
    }

    /// Acknowledged operations sent at or after `from` whose reply came before `to`, per node.
    func acks(sentFrom from: ContinuousClock.Instant, acknowledgedBefore to: ContinuousClock.Instant) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        // By when the reply came, not only when the write left: a write sent just before the window closes may be
        // released rightly a moment after (once the arbiter answers), and that is no ack inside the window.
        for operation in workload.history()
        where operation.outcome == .acknowledged && operation.sentAt >= from && operation.finishedAt < to {
            counts[operation.node, default: 0] += 1
        }
        return counts
    }
}
