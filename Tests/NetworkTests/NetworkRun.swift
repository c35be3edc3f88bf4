import Glibc
import Posix

/// One network fault test, end to end: topology, etcd, both nodes, a protected pair, the workload and role monitor
/// (all in the clients namespace), the fault (the test's `body`), then the checker over the whole history.
/// Everything started is torn down on every path: processes by PID, then the namespaces.
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

    private init(title: String, topology: Topology, cluster: NetCluster) {
        self.title = title
        self.topology = topology
        self.cluster = cluster
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
        _ title: String, etcdMembers: Int, _ body: @escaping @Sendable (NetworkRun) throws -> Void
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
        let run = NetworkRun(title: title, topology: topology, cluster: cluster)
        var outcome = try topology.runInClients { try run.execute(etcdMembers: etcdMembers, body) }
        outcome.elapsed = Stopwatch.now - started
        return outcome
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

    /// Acknowledged operations sent in [from, to) (and finished before `to`), per node.
    func acks(sentFrom from: ContinuousClock.Instant, to: ContinuousClock.Instant) -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for operation in workload.history()
        where operation.outcome == .acknowledged && operation.sentAt >= from && operation.sentAt < to {
            counts[operation.node, default: 0] += 1
        }
        return counts
    }
}
