import Glibc
import Posix
import Testing

/// Two `lockstep node` hosts in their own network namespaces, etcd and the clients in a third (see `Topology`),
/// under the fault suite's workload and checker: each fault must lose no acknowledged write and show no split
/// brain; unavailability is printed, never asserted (the machine is shared). Needs root and iproute2, and fails
/// saying so without them: it never passes empty.
@Suite("two hosts in network namespaces", .serialized)
struct NetworkTests {
    /// Runs one fault over an etcd of `etcdMembers` members and records its figures; every violation is a test issue.
    func check(
        _ title: String, etcdMembers: Int = 1, _ body: @escaping @Sendable (NetworkRun) throws -> Void
    ) throws {
        let outcome = try NetworkRun.run(title, etcdMembers: etcdMembers, body)
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
            let serving = run.acks(sentFrom: recovered, to: healed)
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
            let released = run.acks(sentFrom: cut, to: Stopwatch.now)[primary] ?? 0
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
            let released = run.acks(sentFrom: killed, to: restored).values.reduce(0, +)
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
            let released = run.acks(sentFrom: killed, to: restored).values.reduce(0, +)
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
}
