import Glibc
@testable import LockstepCLI
import Posix
import Synchronization
import Testing

extension NetworkTests {
    /// Service address takeover (issue 18, part 2) between two `lockstep node` hosts on one Ethernet segment
    /// (`Topology`'s `.sharedSegment`: a bridge, the two nodes, and a clients namespace that also holds etcd, the same
    /// etcd arbiter the other network tests use). Both nodes listen on 0.0.0.0, announce their own addresses, and are
    /// started with `--service-address 198.18.0.10/15 --service-device <their veth>` and an `--on-role-change` hook. The clients
    /// know only the service address: the fault suite's workload given that one address, `redis-cli`, and a watcher
    /// that asks INFO through it every 50 ms. No discovery: whatever answers at the address is what they use.
    ///
    /// Five times over: kill -9 of the primary; the address must move to the new primary, the clients namespace's
    /// neighbour entry must follow its MAC (gratuitous ARP), the clients must reach it at the same address, and the
    /// killed node, restarted as the harness does, must have removed its stale copy before it answers anything. At the
    /// end the checker must find no acknowledged write lost, and every INFO answered through the address must come
    /// from a node that said it was primary or solo. A second test stops the primary with SIGTERM instead: the live
    /// process takes the address off itself as it hands over.
    @Suite("service address takeover on one Ethernet segment", .serialized)
    struct AddressTakeoverTests {
        static let serviceHost = "198.18.0.10"
        static let servicePrefix = "198.18.0.10/15"
        static let failovers = 5

        @Test(
            "kill -9 of the primary five times: the address, the clients' neighbour entry and the clients follow the new primary; nothing acknowledged is lost; the restarted node never answers on the address",
            .timeLimit(.minutes(3)))
        func killPrimaryFiveTimes() throws {
            try Self.check(title: "kill -9 five times", takeovers: Self.failovers) { run, workload, faults in
                for round in 1...Self.failovers {
                    try run.failover(round: round, workload: workload, faults: &faults)
                }
            }
        }

        @Test(
            "a planned stop (SIGTERM) hands over: the stopping primary takes the address off itself before it exits, the new primary holds it",
            .timeLimit(.minutes(2)))
        func plannedStop() throws {
            // The backup hears of the handover as its primary's loss: one backup -> solo (primary_lost) in the hook.
            try Self.check(title: "planned stop", takeovers: 1) { run, workload, faults in
                try run.handover(workload: workload, faults: &faults)
            }
        }

        /// Sets up the segment, etcd and both nodes with the address and a hook, runs `body` inside the clients
        /// namespace under load, then the checker; `takeovers` is how many backup -> solo (primary_lost) changes the
        /// hook must have recorded.
        static func check(
            title: String, takeovers expectedTakeovers: Int,
            _ body: @escaping @Sendable (TakeoverRun, Workload, inout [FaultMark]) throws -> Void
        ) throws {
            let started = Stopwatch.now
            let directory = try Harness.temporaryDirectory("takeover")
            defer { Harness.removeTree(directory) }
            let topology = try Topology(directory: directory, layout: .sharedSegment)
            defer {
                topology.tearDown()
                let left = topology.leftovers()
                if !left.isEmpty { print("AddressTakeoverTests: namespaces left after teardown: \(left)") }
            }
            let cluster = try NetCluster(topology: topology, directory: directory)
            defer { cluster.shutDown() }
            let hookLog = directory + "/role-changes.log"
            cluster.clientListenHost = "0.0.0.0"
            for index in 0..<2 {
                cluster.extraNodeArguments[index] = [
                    "--service-address", servicePrefix, "--service-device", topology.nodeVeths[index],
                    "--on-role-change",
                    #"echo "$LOCKSTEP_NODE $LOCKSTEP_PREVIOUS_ROLE $LOCKSTEP_ROLE $LOCKSTEP_EPOCH $LOCKSTEP_REASON" >> "#
                        + hookLog,
                ]
            }
            let run = try TakeoverRun(topology: topology, cluster: cluster, directory: directory)
            let violations = try topology.runInClients { try run.execute(body) }
            let hookLines = Harness.readFile(hookLog).split(separator: "\n")
            let takeovers = hookLines.filter { $0.hasSuffix("primary_lost") && $0.contains(" backup solo ") }
            print("TAKEOVER \(title): role-change hook lines: \(hookLines.count), of them backup -> solo (primary_lost): "
                + "\(takeovers.count)")
            var all = violations
            if takeovers.count != expectedTakeovers {
                all.append("the --on-role-change hook recorded \(takeovers.count) takeovers (backup -> solo, "
                    + "primary_lost), not \(expectedTakeovers):\n\(hookLines.joined(separator: "\n"))")
            }
            print("TAKEOVER \(title): test took \(Stopwatch.now - started)")
            #expect(all.isEmpty, "\(all.joined(separator: "\n"))\n\(cluster.statusText())\n\(cluster.logTails())")
        }
    }
}

/// The body of the takeover test, inside the clients namespace: load, kills, checks, the checker.
final class TakeoverRun: @unchecked Sendable {  // used from the one test thread; the watcher has its own state
    typealias Takeover = NetworkTests.AddressTakeoverTests
    let topology: Topology
    let cluster: NetCluster
    let view: IPView
    let service: SocketAddress
    let redisCLI: String
    var violations: [String] = []
    /// Restarts of each node after a kill, each over a stale copy of the address.
    private var restarts = [0, 0]

    init(topology: Topology, cluster: NetCluster, directory: String) throws {
        self.topology = topology
        self.cluster = cluster
        view = IPView(ip: topology.ip, directory: directory)
        service = try SocketAddress(parsing: "\(Takeover.serviceHost):\(Topology.clientPort)")
        guard let redisCLI = Harness.executable("redis-cli") else {
            throw HarnessError("redis-cli is not installed: apt-get install -y redis-tools (.ci/run does)")
        }
        self.redisCLI = redisCLI
    }

    func execute(_ body: (TakeoverRun, Workload, inout [FaultMark]) throws -> Void) throws -> [String] {
        try cluster.startEtcd(members: 1)
        for index in 0..<2 { try cluster.start(index) }
        _ = try cluster.waitForProtected(deadline: .seconds(30))
        let watcher = try AddressWatcher(service: service)
        let workload = try Workload(addresses: [service])
        var faults: [FaultMark] = []
        do {
            try body(self, workload, &faults)
        } catch {
            _ = workload.stop()
            _ = watcher.stop()
            throw error
        }
        guard workload.waitForProgress(100, deadline: .seconds(20)) else {
            throw HarnessError("no progress after the last failover\n\(cluster.statusText())")
        }
        let history = workload.stop()
        // The watcher asks every 50 ms, but a short run on a loaded machine may end before it has asked the new
        // primary: give it a few more seconds to hear every node (the check below still requires both).
        _ = waitUntil(.seconds(5)) { watcher.nodesHeard.isSuperset(of: cluster.names) }
        let answers = watcher.stop()
        _ = try? cluster.waitForProtected(deadline: .seconds(15))  // the digest check reports a missing backup
        let final = try cluster.finalState(shape: workload.shape)
        let report = Checker.check(history: history, final: final, faults: faults)
        print("=== service address takeover ===\n\(report)")
        violations += report.violations
        let wrong = answers.filter { $0.role != "primary" && $0.role != "solo" }
        let names = Dictionary(grouping: answers, by: \.node).mapValues(\.count)
        print("TAKEOVER INFO answers through \(service.host): \(answers.count), by node \(names.sorted { $0.key < $1.key })")
        if Set(answers.map(\.node)) != Set(cluster.names) {
            violations.append("INFO through the address was answered by \(names.keys.sorted()), not by both nodes in turn")
        }
        if let first = wrong.first {
            violations.append("\(wrong.count) INFO answers through the service address came from a node that was not "
                + "live, e.g. \(first.node) as \(first.role)")
        }
        return violations
    }

    /// One kill of the primary and every check around it.
    func failover(round: Int, workload: Workload, faults: inout [FaultMark]) throws {
        let (primary, backup) = try cluster.waitForProtected(deadline: .seconds(30))
        let (primaryName, backupName) = (cluster.names[primary], cluster.names[backup])
        let primaryMAC = try mac(primary), backupMAC = try mac(backup)
        guard workload.waitForProgress(100, deadline: .seconds(20)) else {
            throw HarnessError("round \(round): fewer than 100 writes acknowledged through the service address\n"
                + "\(cluster.statusText())\n\(cluster.logTails())")
        }
        try expectAddress(on: primary, true, "round \(round): before the kill, the primary \(primaryName)")
        try expectAddress(on: backup, false, "round \(round): before the kill, the backup \(backupName)")
        if try view.neighbour(in: topology.clientsNamespace, service.host) != primaryMAC {
            violations.append("round \(round): the clients' neighbour entry for \(service.host) is not the primary "
                + "\(primaryName)'s MAC \(primaryMAC) before the kill")
        }

        let killedAt = Stopwatch.now
        faults.append(FaultMark(label: "kill -9 of \(primaryName), round \(round)", at: killedAt, formerPrimary: nil))
        try cluster.kill(primary)
        var firstAck: ContinuousClock.Instant?
        _ = waitUntil(.seconds(20)) {
            firstAck = workload.history().first { $0.outcome == .acknowledged && $0.sentAt >= killedAt }?.finishedAt
            return firstAck != nil
        }
        guard let firstAck else {
            throw HarnessError("round \(round): no write acknowledged through \(service.host) within 20 s of the "
                + "kill\n\(cluster.statusText())\n\(cluster.logTails())")
        }
        var neighbourMoved: ContinuousClock.Instant?
        _ = try waitUntil(.seconds(5)) {
            guard try view.neighbour(in: topology.clientsNamespace, service.host) == backupMAC else { return false }
            neighbourMoved = Stopwatch.now
            return true
        }
        print("TAKEOVER round \(round): kill -9 of \(primaryName) to first ack through \(service.host): "
            + "\(firstAck - killedAt); neighbour entry on \(backupName)'s MAC \(backupMAC) "
            + (neighbourMoved.map { "seen \($0 - killedAt) after the kill" } ?? "NOT within 5 s"))
        if neighbourMoved == nil {
            let now = (try? view.neighbour(in: topology.clientsNamespace, service.host)) ?? nil
            violations.append("round \(round): the clients' neighbour entry for \(service.host) did not move to the new "
                + "primary \(backupName)'s MAC \(backupMAC) (it is \(now ?? "absent"); the old one was \(primaryMAC))")
        }
        try expectAddress(on: backup, true, "round \(round): after the kill, the new primary \(backupName)")

        // redis-cli, knowing only the address, reaches the new primary and writes through it.
        let info = try redis(["INFO", "server"])
        if !info.contains("lockstep_node_name:\(backupName)") {
            violations.append("round \(round): redis-cli INFO through \(service.host) did not reach \(backupName): \(info)")
        }
        let key = "takeover:round:\(round)"
        let set = try redis(["SET", key, backupName])
        let get = try redis(["GET", key])
        if set != "OK" || get != backupName {
            violations.append("round \(round): redis-cli SET/GET \(key) through \(service.host) answered \(set) / \(get)")
        }

        // kill -9 leaves the address on the dead node's device (nothing ran to remove it): the stale copy.
        try expectAddress(on: primary, true, "round \(round): after the kill, the dead \(primaryName)'s device")

        // The killed node restarts as the harness does; it removes that copy before it listens (and says so), so
        // by the time it answers at its own address the service address must be off its device.
        try cluster.start(primary)
        let answered = waitUntil(.seconds(20)) { cluster.info(primary) != nil }
        guard answered else {
            throw HarnessError("round \(round): the restarted \(primaryName) never answered\n\(cluster.logTails())")
        }
        try expectAddress(on: primary, false, "round \(round): the restarted \(primaryName), once it answers")
        restarts[primary] += 1
        let removals = Harness.readFile(cluster.logPath(primary)).split(separator: "\n")
            .filter { $0.contains("was left from an earlier run; removed before listening") }.count
        if removals != restarts[primary] {
            violations.append("round \(round): \(primaryName) restarted \(restarts[primary]) times over a stale copy "
                + "but logged removing it before listening \(removals) times")
        }
    }

    /// SIGTERM to the primary: it hands over to its caught-up backup and exits 0, having taken the address off
    /// its device itself (no restart is needed to clean up, unlike after a kill); the new primary holds it and the
    /// clients' neighbour entry follows.
    func handover(workload: Workload, faults: inout [FaultMark]) throws {
        let (primary, backup) = try cluster.waitForProtected(deadline: .seconds(30))
        let (primaryName, backupName) = (cluster.names[primary], cluster.names[backup])
        let backupMAC = try mac(backup)
        guard workload.waitForProgress(100, deadline: .seconds(20)) else {
            throw HarnessError("fewer than 100 writes acknowledged through the service address\n\(cluster.statusText())")
        }
        let stoppedAt = Stopwatch.now
        faults.append(FaultMark(label: "SIGTERM to \(primaryName)", at: stoppedAt, formerPrimary: nil))
        let status = try cluster.stop(primary)
        if status != .exited(code: 0) {
            violations.append("the stopped primary \(primaryName) ended \(status.map { "\($0)" } ?? "only by SIGKILL")")
        }
        // The process is gone and was not restarted: only its own removal can have taken the address off.
        try expectAddress(on: primary, false, "after its planned stop, \(primaryName)")
        let moved = try waitUntil(.seconds(5)) {
            try view.neighbour(in: topology.clientsNamespace, service.host) == backupMAC
        }
        if !moved {
            violations.append("after the handover the clients' neighbour entry did not move to \(backupName)'s MAC")
        }
        try expectAddress(on: backup, true, "after the handover, the new primary \(backupName)")
        guard workload.waitForProgress(100, deadline: .seconds(20)) else {
            throw HarnessError("no progress after the handover\n\(cluster.statusText())\n\(cluster.logTails())")
        }
        let info = try redis(["INFO", "server"])
        if !info.contains("lockstep_node_name:\(backupName)") {
            violations.append("redis-cli INFO through \(service.host) did not reach \(backupName) after the handover")
        }
        print("TAKEOVER planned stop of \(primaryName): clients on \(backupName) through \(service.host)")
        try cluster.start(primary)
    }

    private func mac(_ index: Int) throws -> String {
        try view.hardwareAddress(in: topology.nodeNamespaces[index], device: topology.nodeVeths[index])
    }

    private func expectAddress(on index: Int, _ isExpected: Bool, _ what: String) throws {
        let addresses = try view.addresses(in: topology.nodeNamespaces[index], device: topology.nodeVeths[index])
        if addresses.contains(Takeover.servicePrefix) != isExpected {
            violations.append("\(what) \(isExpected ? "does not hold" : "holds") \(Takeover.servicePrefix): "
                + "\(addresses)")
        }
    }

    /// `redis-cli -h SERVICE -p 6379 ARGUMENTS...` in the clients namespace: its output, trimmed.
    private func redis(_ arguments: [String]) throws -> String {
        let (ok, output) = try Harness.run(
            topology.ip,
            ["netns", "exec", topology.clientsNamespace, redisCLI, "-h", service.host, "-p", String(service.port)]
                + arguments, in: cluster.directory, deadline: .seconds(10))
        guard ok else { throw HarnessError("redis-cli \(arguments.joined(separator: " ")) failed: \(output)") }
        return String(output.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}

/// Asks INFO through the service address every `interval` on its own thread (which inherits the clients
/// namespace), recording which node answered and in what role.
final class AddressWatcher: Sendable {
    struct Answer: Sendable {
        var node: String
        var role: String
        var at: ContinuousClock.Instant
    }

    static let interval = Duration.milliseconds(50)
    private let answers = Mutex<[Answer]>([])
    private let isStopRequested = Atomic<Bool>(false)
    private let thread = Mutex<PosixThread?>(nil)

    init(service: SocketAddress) throws {
        let spawned = try PosixThread.spawn { [self] in
            while !isStopRequested.load(ordering: .relaxed) {
                if let info = RESPClient.info(service, timeout: .milliseconds(300)) {
                    let answer = Answer(
                        node: info["lockstep_node_name"] ?? "?", role: info["lockstep_role"] ?? "?", at: Stopwatch.now)
                    // Bounded by the test's length: one small record per 50 ms.
                    answers.withLock { $0.append(answer) }
                }
                sleep(for: Self.interval)
            }
        }
        thread.withLock { $0 = spawned }
    }

    /// The nodes that have answered so far.
    var nodesHeard: Set<String> {
        answers.withLock { Set($0.map(\.node)) }
    }

    func stop() -> [Answer] {
        isStopRequested.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
        return answers.withLock { $0 }
    }
}
