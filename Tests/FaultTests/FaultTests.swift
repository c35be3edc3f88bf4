import Glibc
@testable import LockstepCLI
import Posix
import Testing

/// Real `lockstep node` processes on loopback, faults injected under load, judged by `Checker`.
///
/// CI runs a few cycles of each fault; `LOCKSTEP_SOAK=1 swift test --filter FaultTests` runs many. Serialized:
/// two clusters at once would only measure each other's noise on two cores.
@Suite("fault injection over real processes", .serialized)
struct FaultTests {
    /// kill -9 cycles in the CI and soak profiles.
    static let killCycles = FaultHarness.isSoak ? 300 : 8
    /// SIGTERM (planned switchover) cycles in the CI and soak profiles.
    static let switchoverCycles = FaultHarness.isSoak ? 100 : 4

    /// One-way channel latency in the kill tests. On bare loopback a killed process's kernel still delivers every
    /// byte it wrote, so a crash never loses a frame and a broken output rule would go unseen; through the proxy,
    /// frames in flight when a node dies are lost with it, as with a crashed machine.
    static let channelLatency = Duration.milliseconds(2)

    @Test("kill -9 of the primary under load, cycle after cycle, loses no acknowledged write")
    func killPrimaryCycles() throws {
        let cluster = try Cluster(label: "kill-primary")
        defer { cluster.shutDown() }
        _ = try cluster.waitForProtected(deadline: .seconds(15))
        for node in cluster.nodes { node.proxy.set(.delay(Self.channelLatency)) }
        let run = try LoadRun("kill -9 of the primary x\(Self.killCycles)", cluster: cluster)
        try run.requireProgress(300)
        var rejoins: [Duration] = []
        for cycle in 1...Self.killCycles {
            // The restarted node must have rejoined as a caught-up backup before the next kill.
            let (primary, _) = try cluster.waitForProtected(deadline: .seconds(20))
            try run.requireProgress(200)
            run.markFault("kill -9 primary \(cluster.nodes[primary].name) (cycle \(cycle))", formerPrimary: primary)
            try cluster.kill(primary)
            try run.waitForRecovery(deadline: .seconds(10))
            let restartedAt = Stopwatch.now
            try cluster.start(primary)
            _ = try cluster.waitForProtected(deadline: .seconds(20))
            rejoins.append(Stopwatch.now - restartedAt)
        }
        let rejoinText = rejoins.map { "\($0)" }.joined(separator: ", ")
        print("kill -9 primary: each restarted node was a caught-up backup again after \(rejoinText)")
        _ = try cluster.waitForProtected(deadline: .seconds(20))
        try run.requireProgress(200)
        try run.finish()
    }

    @Test("kill -9 of the backup under load: the primary goes on solo and the backup rejoins")
    func killBackup() throws {
        let cluster = try Cluster(label: "kill-backup")
        defer { cluster.shutDown() }
        _ = try cluster.waitForProtected(deadline: .seconds(15))
        for node in cluster.nodes { node.proxy.set(.delay(Self.channelLatency)) }
        let run = try LoadRun("kill -9 of the backup x2", cluster: cluster)
        for cycle in 1...2 {
            let (primary, backup) = try cluster.waitForProtected(deadline: .seconds(20))
            try run.requireProgress(300)
            run.markFault("kill -9 backup \(cluster.nodes[backup].name) (cycle \(cycle))", formerPrimary: nil)
            try cluster.kill(backup)
            try run.waitForRecovery(deadline: .seconds(10))
            #expect(cluster.primaryIndex() == primary, "the primary should have gone on solo")
            try cluster.start(backup)
        }
        _ = try cluster.waitForProtected(deadline: .seconds(20))
        try run.requireProgress(200)
        try run.finish()
    }

    @Test("a partition of the logging channel: exactly one node serves, the other rejoins after healing")
    func channelPartition() throws {
        let cluster = try Cluster(label: "partition")
        defer { cluster.shutDown() }
        let (primary, _) = try cluster.waitForProtected(deadline: .seconds(15))
        let run = try LoadRun("logging-channel partition (blackhole both ways, 2 s)", cluster: cluster)
        try run.requireProgress(300)
        run.markFault("channel partition", formerPrimary: nil)
        let partitionedAt = Stopwatch.now
        for node in cluster.nodes { node.proxy.set(.blackhole) }
        try run.waitForRecovery(deadline: .seconds(10))
        sleep(for: .seconds(2))
        // Exactly one node serves: every write sent after the partition began was acknowledged by one node.
        let servingNodes = Set(
            run.workload.history().filter { $0.outcome == .acknowledged && $0.sentAt > partitionedAt }.map(\.node))
        let infos = cluster.nodes.indices.map { cluster.info($0) }
        let masters = infos.filter { $0?["role"] == "master" }.count
        print("partition: nodes acknowledging writes sent after the cut: \(servingNodes.sorted()); "
            + "nodes reporting master now: \(masters) (the former primary was \(cluster.nodes[primary].name))")
        #expect(servingNodes.count == 1, "\(cluster.statusText())")
        #expect(masters == 1, "\(cluster.statusText())")
        for node in cluster.nodes { node.proxy.set(.pass) }
        let (after, _) = try cluster.waitForProtected(deadline: .seconds(20))
        #expect(servingNodes == [after], "the node that served through the partition stays primary after healing")
        try run.requireProgress(200)
        try run.finish()
    }

    @Test("one-way loss and a delaying channel: no acknowledged write lost, the pair ends protected")
    func oneWayLossAndDelay() throws {
        let cluster = try Cluster(label: "one-way")
        defer { cluster.shutDown() }
        let (primary, _) = try cluster.waitForProtected(deadline: .seconds(15))
        let run = try LoadRun("one-way loss of acks (1 s), then 20 ms delay (2 s)", cluster: cluster)
        try run.requireProgress(300)
        // The backup dials the primary's proxy, so "forward" through it carries the backup's acks.
        run.markFault("acks dropped one way", formerPrimary: nil)
        cluster.nodes[primary].proxy.set(.dropForward)
        try run.waitForRecovery(deadline: .seconds(10))
        sleep(for: .seconds(1))
        for node in cluster.nodes { node.proxy.set(.pass) }
        let (next, _) = try cluster.waitForProtected(deadline: .seconds(20))
        for node in cluster.nodes { node.proxy.set(.delay(.milliseconds(20))) }
        let before = run.workload.acknowledgedCount
        sleep(for: .seconds(2))
        let delayedAcks = run.workload.acknowledgedCount - before
        print("one-way: after healing node \(cluster.nodes[next].name) is primary; "
            + "\(delayedAcks) writes acknowledged in 2 s through a 20 ms delay")
        #expect(delayedAcks > 0)
        for node in cluster.nodes { node.proxy.set(.pass) }
        try run.requireProgress(200)
        try run.finish()
    }

    @Test("corrupt frames on the logging channel are detected and the pair re-protects")
    func corruptFrames() throws {
        let cluster = try Cluster(label: "bit-flips")
        defer { cluster.shutDown() }
        _ = try cluster.waitForProtected(deadline: .seconds(15))
        let run = try LoadRun("flipped bits on the logging channel (1.5 s)", cluster: cluster)
        try run.requireProgress(300)
        run.markFault("bit flips begin", formerPrimary: nil)
        for node in cluster.nodes { node.proxy.set(.flipBits(everyBytes: 4_000)) }
        sleep(for: .milliseconds(1_500))
        for node in cluster.nodes { node.proxy.set(.pass) }
        let flipped = cluster.nodes.map(\.proxy.totals.bitsFlipped).reduce(0, +)
        _ = try cluster.waitForProtected(deadline: .seconds(20))
        try run.requireProgress(200)
        try run.finish()
        // Each node counts the channels it closed over an invalid frame stream (ChannelCloseReason.decodeFailed).
        let detections = cluster.nodes.indices.map {
            Int(cluster.info($0)?["lockstep_channel_closes_decode_failed"] ?? "0") ?? 0
        }
        print("corrupt: \(flipped) bits flipped; channels closed over a corrupt stream, by node: \(detections)")
        #expect(flipped > 0)
        #expect(detections.reduce(0, +) > 0, "no node closed a channel over a corrupt frame\n\(cluster.logTails())")
    }

    @Test("bad client input on extra connections under load leaves the workload untouched")
    func badClientInput() throws {
        let cluster = try Cluster(label: "bad-input")
        defer { cluster.shutDown() }
        let (primary, backup) = try cluster.waitForProtected(deadline: .seconds(15))
        let run = try LoadRun("bad client input under load", cluster: cluster)
        try run.requireProgress(200)
        let inputs: [(String, [UInt8])] = [
            ("garbage", Array("\u{1}\u{2}hello\r\n\r\n*x\r\n$$$\r\n".utf8) + (0..<255).map { UInt8($0) }),
            ("oversized bulk", Array("*2\r\n$3\r\nGET\r\n$2147483647\r\n".utf8)),
            ("oversized array", Array("*99999999999\r\n".utf8)),
            ("huge inline line", [UInt8](repeating: UInt8(ascii: "a"), count: 1 << 20)),
            ("half request", Array("*3\r\n$6\r\nAPPEND\r\n$3\r\nfau".utf8)),
            ("negative length", Array("*1\r\n$-5\r\n".utf8)),
        ]
        var outcomes: [String] = []
        var idle: [RESPClient] = []
        for round in 0..<3 {
            for (name, bytes) in inputs {
                for target in [primary, backup] {
                    // The timeout bounds the connect, the send and the wait for a first reply.
                    guard let connection = try? RESPClient(address: cluster.nodes[target].client,
                        timeout: .milliseconds(500)) else { outcomes.append("\(name): connect failed"); continue }
                    let sent = (try? connection.sendRaw(bytes)) != nil
                    if name == "half request" {
                        idle.append(connection)  // left hanging on purpose while the load goes on
                        continue
                    }
                    let reply = (try? connection.readReply())?.description
                    if round == 0 && target == primary {
                        let shown = reply.map { String($0.prefix(70)) } ?? "none/closed"
                        outcomes.append("\(name): sent=\(sent) first reply=\(shown)")
                    }
                }
            }
            try run.requireProgress(100)
        }
        print("bad input answers:\n  " + outcomes.joined(separator: "\n  "))
        let (report, _) = try run.finish()
        #expect(report.failed == 0 && report.unknown == 0, "bad input disturbed the workload")
        #expect(cluster.nodes.allSatisfy { $0.current?.exitStatus == nil }, "a node exited")
        idle.forEach { $0.close() }
    }

    @Test("SIGTERM of the primary hands over: no failed, no unknown operation and no lost ack")
    func plannedSwitchover() throws {
        let cluster = try Cluster(label: "sigterm")
        defer { cluster.shutDown() }
        _ = try cluster.waitForProtected(deadline: .seconds(15))
        let run = try LoadRun("SIGTERM of the primary (planned switchover) x\(Self.switchoverCycles)", cluster: cluster)
        var statuses: [String] = []
        for cycle in 1...Self.switchoverCycles {
            let (primary, _) = try cluster.waitForProtected(deadline: .seconds(20))
            try run.requireProgress(300)
            run.markFault("SIGTERM primary \(cluster.nodes[primary].name) (cycle \(cycle))", formerPrimary: primary)
            let process = try #require(cluster.nodes[primary].current)
            try process.signal(SIGTERM)
            try run.waitForRecovery(deadline: .seconds(10))
            let status = try process.wait(timeout: .seconds(10))
            statuses.append("\(cluster.nodes[primary].name): \(status.map(\.description) ?? "still running")")
            #expect(status == .exited(code: 0), "a SIGTERMed primary should exit 0\n\(cluster.logTails())")
            try cluster.start(primary)
        }
        _ = try cluster.waitForProtected(deadline: .seconds(20))
        try run.requireProgress(200)
        let (report, history) = try run.finish()
        // The stopping primary drains its clients: what it never executed it refuses (TRYAGAIN), and the workload
        // retries exactly those on the new primary; nothing is cut off with its outcome unknown.
        let retried = history.filter { $0.attempts > 1 }
        print("switchover: stopped primaries \(statuses.joined(separator: ", ")); attempted \(report.attempted), "
            + "acked \(report.acknowledged), unknown \(report.unknown), failed \(report.failed), "
            + "lost acks \(report.lostAcknowledged.count); operations retried after a refusal: \(retried.count) "
            + "(at most \(retried.map(\.attempts).max() ?? 1) sends)")
        #expect(report.failed == 0, "\(report.failureReasons)\n\(cluster.logTails())")
        #expect(report.unknown == 0, "\(report.failureReasons)\n\(cluster.logTails())")
        #expect(report.lostAcknowledged.isEmpty)
    }

    @Test("arbiter faults: a missing directory, a corrupt record or stale records keep every node from going live")
    func arbiterFaults() throws {
        // A missing directory: each node refuses to start and says why.
        let missing = try Cluster(label: "arbiter-missing", createArbiter: false)
        defer { missing.shutDown() }
        let exits = missing.nodes.map { try? $0.current?.wait(timeout: .seconds(10)) }
        let missingLog = FaultHarness.readFile(missing.logPath(0))
        print("arbiter missing: nodes ended with \(exits.map { $0?.description ?? "still running" }); log: "
            + missingLog.split(separator: "\n").suffix(1).joined())
        #expect(exits.allSatisfy { $0 == .exited(code: 1) }, "\(missing.logTails())")
        #expect(!missingLog.isEmpty, "a node refused to start without saying why")

        // A corrupt record for epoch 1: nobody may go live on it.
        let corrupt = try Cluster(label: "arbiter-bad-record", startNodes: false)
        defer { corrupt.shutDown() }
        try FaultHarness.writeFile(corrupt.arbiterDirectory + "/epoch-00000000000000000001", "not a record\u{0}\u{7f}")
        for index in corrupt.nodes.indices { try corrupt.start(index) }
        let wentLive = FaultHarness.waitUntil(.seconds(3)) { corrupt.primaryIndex() != nil }
        // Each node counts the arbiter's answers by error kind (ArbiterError.corruptRecord).
        let corruptAnswers = corrupt.nodes.indices.map {
            Int(corrupt.info($0)?["lockstep_arbiter_errors_corrupt_record"] ?? "0") ?? 0
        }
        print("arbiter corrupt record: a node went live: \(wentLive); corrupt-record answers by node: "
            + "\(corruptAnswers); status:\n\(corrupt.statusText())")
        #expect(!wentLive, "\(corrupt.logTails())")
        #expect(corruptAnswers.allSatisfy { $0 > 0 }, "a node never met the corrupt record\n\(corrupt.logTails())")

        // Stale records: both nodes of a used cluster die and restart over its arbiter. Their in-memory state is
        // gone, so neither may take an epoch by itself: both wait, and say so.
        let stale = try Cluster(label: "arbiter-stale")
        defer { stale.shutDown() }
        _ = try stale.waitForProtected(deadline: .seconds(15))
        for index in stale.nodes.indices { try stale.kill(index) }
        for index in stale.nodes.indices { try stale.start(index) }
        let staleWentLive = FaultHarness.waitUntil(.seconds(3)) { stale.primaryIndex() != nil }
        print("arbiter stale records: a restarted node went live: \(staleWentLive); status:\n\(stale.statusText())")
        #expect(!staleWentLive, "\(stale.logTails())")
    }
}
