import Glibc
import Posix
import Testing

/// Two `lockstep node` hosts in their own network namespaces, etcd and the clients in a third (see `Topology`),
/// under the fault suite's workload and checker: each fault must lose no acknowledged write and show no split
/// brain; unavailability is printed, never asserted (the machine is shared). Needs root and iproute2, and fails
/// saying so without them: it never passes empty.
@Suite("two hosts in network namespaces", .serialized)
struct NetworkTests {
    /// Runs one fault over an etcd of `etcdMembers` members, the node link slowed by `slowLink` if given, and records
    /// its figures; every violation is a test issue.
    func check(
        _ title: String, etcdMembers: Int = 1, slowLink: SlowLink? = nil,
        _ body: @escaping @Sendable (NetworkRun) throws -> Void
    ) throws {
        let outcome = try NetworkRun.run(title, etcdMembers: etcdMembers, slowLink: slowLink, body)
        print(outcome.text)
        print("NETWORK \(title): lost acknowledged writes \(outcome.lostAcknowledged), split brain "
            + "\(outcome.splitBrain), unavailability [\(outcome.windows.joined(separator: "; "))], "
            + "test took \(outcome.elapsed)")
        #expect(outcome.violations.isEmpty, "\(title): \(outcome.violations.joined(separator: "\n"))")
    }

    @Test("1. kill -9 of the primary: the backup takes over, the killed node restarts and rejoins")
    func killPrimary() throws {
        try check("kill -9 of the primary") { run in
            let (primary, _) = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            _ = run.markFault("kill -9 of the primary", formerPrimary: primary)
            try run.cluster.kill(primary)
            try run.waitForRecovery(deadline: .seconds(20))
            try run.cluster.start(primary)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }

    @Test("2. the link between the nodes down, both reaching etcd: exactly one serves, then they pair again")
    func nodeLinkDown() throws {
        try check("node link down") { run in
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            // Marked once the routes are in (an `ip` command takes milliseconds, in which the pair still acks).
            try run.topology.setNodeLink(up: false)
            let cut = run.markFault("node link down", formerPrimary: nil)
            let recovered = try run.waitForRecovery(deadline: .seconds(20))
            try run.requireProgress(200)
            let healed = Stopwatch.now
            // Once the failover is over, writes are acknowledged by one node only for as long as the link is down.
            let serving = run.acks(sentFrom: recovered, acknowledgedBefore: healed)
            if serving.count != 1 {
                run.extraViolations.append(
                    "with the node link down, \(serving.count) nodes acknowledged writes: \(serving) (cut at \(cut))")
            }
            try run.topology.setNodeLink(up: true)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }

    @Test("3. the primary cut off from clients and etcd: the other takes over, the old one releases nothing")
    func primaryCutOff() throws {
        try check("primary cut off from clients and etcd") { run in
            let (primary, _) = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            // Marked once the link is down (an `ip` command takes milliseconds, in which the pair still acks).
            try run.topology.setClientLink(primary, up: false)
            let cut = run.markFault("primary cut off", formerPrimary: primary)
            try run.waitForRecovery(deadline: .seconds(20))
            try run.requireProgress(200)
            try run.topology.setClientLink(primary, up: true)
            // The old primary learns it lost its epoch, drops its state and rejoins as backup.
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            let released = run.acks(sentFrom: cut, acknowledgedBefore: Stopwatch.now)[primary] ?? 0
            if released > 0 {
                run.extraViolations.append("the cut-off primary acknowledged \(released) writes sent after the cut")
            }
        }
    }

    @Test("4. etcd unreachable from the primary: it serves on protected; its backup killed, it releases nothing")
    func etcdUnreachableFromPrimary() throws {
        try check("etcd unreachable from the primary") { run in
            let (primary, backup) = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            try run.topology.setEtcdReachable(from: primary, false)
            // A protected primary needs no arbiter: the load goes on.
            try run.requireProgress(300)
            _ = run.markFault("backup killed while etcd unreachable from the primary", formerPrimary: nil)
            try run.cluster.kill(backup)
            let killed = Stopwatch.now
            // Without its backup the primary must ask the arbiter for the next epoch; it cannot reach it, so it
            // releases nothing until etcd is back.
            sleep(for: .seconds(3))
            let restored = Stopwatch.now
            try run.topology.setEtcdReachable(from: primary, true)
            let released = run.acks(sentFrom: killed, acknowledgedBefore: restored).values.reduce(0, +)
            if released > 0 {
                run.extraViolations.append(
                    "\(released) writes sent after the backup's kill were acknowledged while etcd was unreachable")
            }
            try run.waitForRecovery(deadline: .seconds(20))
            try run.cluster.start(backup)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }

    @Test("5. a three-member etcd loses the member the nodes try first, then the primary is killed: the backup takes over")
    func etcdMemberKilled() throws {
        try check("etcd member killed, then the primary", etcdMembers: 3) { run in
            let (primary, _) = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            // The first endpoint of every node's arbiter, and a follower: the cluster keeps its leader and quorum.
            let member = run.cluster.etcdOrder[0]
            try run.cluster.killEtcdMember(member)
            print("NETWORK etcd member killed: m\(member), first of \(run.cluster.arbiter)")
            try run.requireProgress(200)
            // The take of the next epoch must fail over from the dead endpoint to one of the two live members.
            _ = run.markFault("kill -9 of the primary, an etcd member down", formerPrimary: primary)
            try run.cluster.kill(primary)
            try run.waitForRecovery(deadline: .seconds(20))
            try run.cluster.start(primary)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }

    @Test("6. etcd unreachable from the backup, then the primary killed: nobody serves until etcd is back")
    func etcdUnreachableFromBackup() throws {
        try check("etcd unreachable from the backup, then the primary killed") { run in
            let (primary, backup) = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
            try run.topology.setEtcdReachable(from: backup, false)
            // A protected primary needs no arbiter: the load goes on.
            try run.requireProgress(200)
            _ = run.markFault("primary killed while etcd unreachable from the backup", formerPrimary: primary)
            try run.cluster.kill(primary)
            let killed = Stopwatch.now
            // The backup lost its primary and must take the next epoch before serving; it cannot reach etcd, so it
            // must not go live: no write sent meanwhile may be acknowledged by anyone.
            sleep(for: .seconds(3))
            let restored = Stopwatch.now
            let backupRole = run.cluster.info(backup)?["lockstep_role"] ?? "no answer"
            try run.topology.setEtcdReachable(from: backup, true)
            let released = run.acks(sentFrom: killed, acknowledgedBefore: restored).values.reduce(0, +)
            if released > 0 {
                run.extraViolations.append(
                    "\(released) writes sent after the primary's kill were acknowledged while etcd was unreachable")
            }
            if backupRole == "primary" {
                run.extraViolations.append("the backup said it was primary without reaching etcd")
            }
            try run.waitForRecovery(deadline: .seconds(20))
            try run.cluster.start(primary)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }

    /// The logging channel between the nodes slowed `SlowLink`'s 5 ms each way, and lossy, from before the nodes
    /// start. The run checks for netem in its own namespaces and prints which path it took: with netem, 5 ms delay
    /// and 1% packet loss on each node's veth (TCP retransmits what is lost); without it, a fault proxy per node in
    /// the clients namespace delays every chunk 5 ms and, since a TCP proxy cannot lose a packet, stands in for loss
    /// with what a loss costs above TCP: every 100th chunk held 40 ms more, the bytes behind it waiting too, as they
    /// would for a retransmission (see `SlowLink`). Every write is acknowledged only once the backup acked its entry,
    /// a round trip over the link: a median ack latency under that round trip means the delay was not applied, and
    /// fails the test. Then kill -9 of the primary over the same link.
    @Test("7. a slow, lossy link between the nodes: the pair stays protected, acks wait a round trip; kill -9 of the primary loses nothing")
    func slowLossyLink() throws {
        let link = SlowLink()
        try check("slow lossy link, then kill -9 of the primary", slowLink: link) { run in
            let (primary, _) = try run.cluster.waitForProtected(deadline: .seconds(30))
            let epoch = run.cluster.info(primary)?["lockstep_epoch"]
            let measuredFrom = Stopwatch.now
            try run.requireProgress(300)
            let latencies = run.ackLatencies(sentFrom: measuredFrom, to: Stopwatch.now)
            // The pair stayed protected through the slow link: the same primary, epoch and backup.
            let (stillPrimary, _) = try run.cluster.waitForProtected(deadline: .seconds(5))
            if stillPrimary != primary || run.cluster.info(primary)?["lockstep_epoch"] != epoch {
                run.extraViolations.append("the pair did not stay protected over the slow link: "
                    + "primary \(primary) at epoch \(epoch ?? "?") became \(stillPrimary)\n\(run.cluster.statusText())")
            }
            let median = latencies.isEmpty ? Duration.zero : latencies[latencies.count / 2]
            let p99 = latencies.isEmpty ? Duration.zero : latencies[latencies.count * 99 / 100]
            let stalled = run.cluster.proxyTotals.map(\.chunksStalled).reduce(0, +)
            print("NETWORK slow lossy link (\(run.slowLinkPath.map { "\($0)" } ?? "?")): ack latency p50 \(median), "
                + "p99 \(p99) over \(latencies.count) writes; configured round trip \(link.roundTrip)"
                + (run.cluster.proxyTotals.isEmpty ? "" : ", \(stalled) chunks stalled \(link.stall) more"))
            if latencies.isEmpty || median < link.roundTrip {
                run.extraViolations.append("ack latency p50 \(median) over \(latencies.count) writes is under the "
                    + "link's round trip \(link.roundTrip): the delay was not applied")
            }
            _ = run.markFault("kill -9 of the primary over the slow link", formerPrimary: primary)
            try run.cluster.kill(primary)
            try run.waitForRecovery(deadline: .seconds(20))
            try run.cluster.start(primary)
            _ = try run.cluster.waitForProtected(deadline: .seconds(30))
            try run.requireProgress(200)
        }
    }
}
