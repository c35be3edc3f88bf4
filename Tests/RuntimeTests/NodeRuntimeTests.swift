import Glibc
import KeyValue
import Node
import Posix
import Replication
import Runtime
import Testing

/// Two real runtimes in one process, on loopback, talking RESP to a blocking client: the wiring between sockets,
/// the core, the arbiter directory and the client protocol. The protocol's logic is proven by the simulation;
/// these prove the runtime performs it.
@Suite(.serialized)
struct NodeRuntimeTests {
    @Test("two nodes form a pair: one serves, the other protects it and refuses writes naming the primary")
    func pairForms() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }

        let caughtUp = pair.primary.events.contains {
            if case .roleChanged(.solo, .primary, _, .backupCaughtUp(pair.backup.name)) = $0 { true } else { false }
        }
        #expect(caughtUp, "the primary was not solo first, until its backup caught up")
        let primary = try RESPClient(pair.primary.clientAddress)
        #expect(try primary.command("SET", "greeting", "hello").isOK)
        #expect(try primary.command("GET", "greeting") == .bulk("hello"))

        let backup = try RESPClient(pair.backup.clientAddress)
        guard case .error(let refusal) = try backup.command("SET", "greeting", "bye") else {
            Issue.record("the backup accepted a write")
            return
        }
        #expect(refusal.hasPrefix("READONLY"))
        #expect(refusal.contains(pair.primary.clientAddress.description), "\(refusal)")
        #expect(try backup.command("GET", "greeting").description.hasPrefix("-READONLY"))

        guard case .array(let primaryRole?) = try primary.command("ROLE"),
            case .array(let backupRole?) = try backup.command("ROLE")
        else {
            Issue.record("ROLE did not answer arrays")
            return
        }
        #expect(primaryRole.first == .bulk("master"))
        #expect(backupRole.first == .bulk("slave"))
        #expect(backupRole.dropFirst().first == .bulk(pair.primary.clientAddress.host))
    }

    @Test("crashing the primary under writes: the backup goes live and holds every acknowledged write")
    func failoverAfterCrash() throws {
        var pair = try Pair.start()
        defer { pair.shutDown() }

        let writer = try Writer(address: pair.primary.clientAddress, prefix: "crash")
        #expect(Waiting.until(.seconds(10)) { writer.ackedCount >= 500 }, "writes did not flow")
        let crashedAt = monotonicNanoseconds()
        pair.primary.crash()
        let wentLive = Waiting.until(.seconds(5)) { pair.backup.status.isServing }
        let failoverMilliseconds = millisecondsSince(crashedAt)
        let acked = writer.stop()
        #expect(wentLive, "the backup did not go live within 5 s: \(pair.backup.status.role)")
        print("failover after crash: \(failoverMilliseconds) ms, \(acked.count) writes acknowledged before it")
        let silence = pair.backup.runtime.configuration.silenceTimeout
        #expect(failoverMilliseconds < silence.milliseconds + 1_000, "slower than silence timeout plus replay")
        #expect(pair.backup.status.epoch == 2)

        let survivor = try RESPClient(pair.backup.clientAddress)
        var missing: [Int] = []
        for index in acked where try survivor.command("GET", "crash:\(index)") != .bulk("value:\(index)") {
            missing.append(index)
        }
        #expect(missing.isEmpty, "acknowledged writes lost in the failover: \(missing.prefix(20))")
        pair.primary = pair.backup  // teardown stops the survivor
    }

    @Test("a silent primary is replaced after the silence timeout, loses the arbiter race and releases nothing")
    func failoverAfterSilence() throws {
        // The primary waits longer before presuming its backup dead, so the backup reaches the arbiter first.
        let pair = try ProxiedPair.start(primarySilence: .seconds(1))
        defer { pair.shutDown() }
        let (primary, backup, proxy) = (pair.primary, pair.backup, pair.proxy)

        let writer = try Writer(address: primary.clientAddress, prefix: "silence")
        #expect(Waiting.until(.seconds(10)) { writer.ackedCount >= 300 }, "writes did not flow")
        let frozenAt = monotonicNanoseconds()
        proxy.freeze()
        let wentLive = Waiting.until(.seconds(5)) { backup.status.isServing }
        let failoverMilliseconds = millisecondsSince(frozenAt)
        #expect(wentLive, "the backup did not go live: \(backup.status.role)")
        print("failover after the primary fell silent: \(failoverMilliseconds) ms "
            + "(silence timeout \(backup.runtime.configuration.silenceTimeout))")
        let silence = backup.runtime.configuration.silenceTimeout.milliseconds
        #expect(failoverMilliseconds >= silence * 0.9, "went live before the peer could be presumed dead")
        #expect(failoverMilliseconds < silence + 1_000)

        // The old primary finds epoch 2 taken: it drops the withheld writes (closing their connections, which
        // ends the writer) and never answers them.
        let stepped = Waiting.until(.seconds(5)) {
            primary.roleChanges.contains(.primaryStopped(.lostEpoch(2, winner: backup.name)))
        }
        #expect(stepped, "the old primary did not learn it lost the epoch")
        let acked = writer.stop()
        let discarded = primary.events.contains {
            if case .withheldRepliesDiscarded(_, .lostEpoch(2, _)) = $0 { true } else { false }
        }
        #expect(discarded, "withheld writes were not discarded")
        let survivor = try RESPClient(backup.clientAddress)
        var missing: [Int] = []
        for index in acked where try survivor.command("GET", "silence:\(index)") != .bulk("value:\(index)") {
            missing.append(index)
        }
        #expect(missing.isEmpty, "acknowledged writes lost: \(missing.prefix(20))")
        let rejoined = Waiting.until(.seconds(10)) { primary.role == .backup && backup.role == .primary }
        #expect(rejoined, "the old primary did not rejoin: \(primary.role)")
    }

    @Test("a restarted node joins the new primary as backup and ends with the same digest")
    func restartedNodeRejoins() throws {
        var pair = try Pair.start()
        defer { pair.shutDown() }

        let before = try RESPClient(pair.primary.clientAddress)
        for index in 0..<200 { #expect(try before.command("SET", "old:\(index)", "\(index)").isOK) }
        let crashedName = pair.primary.name
        pair.primary.crash()
        #expect(Waiting.until(.seconds(5)) { pair.backup.status.isServing }, "the backup did not go live")

        // Same name, new ports: the arbiter's record points it at the survivor.
        let survivor = pair.backup
        let restarted = try TestNode.start(name: crashedName, arbiterDirectory: pair.directory.path)
        pair.primary = survivor
        pair.backup = restarted
        let joined = Waiting.until(.seconds(10)) { restarted.role == .backup && survivor.role == .primary }
        #expect(joined, "no re-protection: \(crashedName) is \(restarted.role), survivor is \(survivor.role)")

        let client = try RESPClient(survivor.clientAddress)
        for index in 0..<200 { #expect(try client.command("SET", "new:\(index)", "\(index)").isOK) }
        #expect(try client.command("INCR", "counter") == .integer(1))
        let backupClient = try RESPClient(restarted.clientAddress)
        var digests: (RESPValue, RESPValue) = (.bulk(nil), .bulk(nil))
        let converged = try Waiting.until(.seconds(5)) {
            digests = (try client.command("DEBUG", "DIGEST"), try backupClient.command("DEBUG", "DIGEST"))
            return digests.0 == digests.1
        }
        #expect(converged, "digests differ: primary \(digests.0), backup \(digests.1)")
        if case .bulk(let digest?) = digests.0 { #expect(digest != String(repeating: "0", count: 16)) }
    }

    @Test("a requested stop hands over to the caught-up backup without waiting for the silence timeout")
    func stopHandsOver() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }

        let writer = try Writer(address: pair.primary.clientAddress, prefix: "handover")
        #expect(Waiting.until(.seconds(10)) { writer.ackedCount >= 300 }, "writes did not flow")
        let stoppedAt = monotonicNanoseconds()
        pair.primary.runtime.requestStop()
        let wentLive = Waiting.until(.seconds(5)) { pair.backup.status.isServing }
        let handoverMilliseconds = millisecondsSince(stoppedAt)
        let acked = writer.stop()
        #expect(wentLive, "the backup did not go live: \(pair.backup.status.role)")
        print("handover after requestStop: \(handoverMilliseconds) ms, \(acked.count) writes acknowledged")
        #expect(pair.primary.waitForExit(.seconds(5)), "the old primary did not exit")
        let outcome = pair.primary.outcome
        #expect(
            { if case .success(.handedOver(to: pair.backup.name, _)) = outcome { true } else { false } }(),
            "\(String(describing: outcome))")
        let wentLiveByHandover = pair.backup.roleChanges.contains {
            if case .primaryLost(.handedOver, grantedEpoch: 2) = $0 { true } else { false }
        }
        #expect(wentLiveByHandover, "the backup went live some other way: \(pair.backup.roleChanges)")
        #expect(handoverMilliseconds < pair.backup.runtime.configuration.silenceTimeout.milliseconds)

        let survivor = try RESPClient(pair.backup.clientAddress)
        var missing: [Int] = []
        for index in acked where try survivor.command("GET", "handover:\(index)") != .bulk("value:\(index)") {
            missing.append(index)
        }
        #expect(missing.isEmpty, "acknowledged writes lost in the handover: \(missing.prefix(20))")
    }

    @Test("pipelined requests arriving during a handover get their reply or a refusal, never a dropped connection")
    func handoverDrainsClients() throws {
        // A long quiet limit: the connection must stay open for the requests sent after the handover, however
        // slowly this test's thread gets to send them.
        let pair = try Pair.start {
            $0.clientDrainQuietLimit = .seconds(3)
            $0.exitLingerLimit = .seconds(5)
        }
        defer { pair.shutDown() }
        let newPrimary = pair.backup.clientAddress.description

        let client = try RESPClient(pair.primary.clientAddress)
        #expect(try client.command("SET", "drain:first", "x").isOK)
        // Given a pipeline in flight when the stop comes (more than a connection's 1,024 pending replies, so part
        // of it waits unread or backlogged): some of it is executed before the handover, the rest must be refused.
        let count = 3_000
        try client.sendRaw((0..<count).flatMap { Self.encode(["SET", "drain:\($0)", "v\($0)"]) })
        pair.primary.runtime.requestStop()
        #expect(Waiting.until(.seconds(5)) { pair.backup.status.isServing }, "the backup did not go live")
        // And requests sent once the backup serves, so surely while the old primary drains.
        try client.sendRaw(Self.encode(["SET", "drain:late", "x"]) + Self.encode(["PING"]))

        var acked: [Int] = []
        var refused: [Int] = []
        for index in 0..<count {
            switch try client.readReply() {
            case .simple("OK"): acked.append(index)
            case .error(let message) where message.hasPrefix("TRYAGAIN"): refused.append(index)
            case let other: Issue.record("SET \(index) answered \(other)")
            }
        }
        guard case .error(let late) = try client.readReply() else {
            Issue.record("a write sent after the handover was not refused")
            return
        }
        #expect(late.hasPrefix("TRYAGAIN") && late.contains(newPrimary), "\(late)")
        #expect(try client.readReply() == .simple("PONG"), "a local request during the drain was not answered")
        // Every refusal the runtime sent itself counts as an error reply, as INFO errorstats shows it.
        #expect(
            try client.command("INFO", "errorstats")
                == .bulk("# Errorstats\r\nerrorstat_TRYAGAIN:count=\(refused.count + 1)\r\n"))
        print("handover drain: \(acked.count) pipelined writes acknowledged, \(refused.count) refused; late: \(late)")
        client.close()
        // The client ended its connection, so the old primary need not wait for the linger deadline.
        #expect(pair.primary.waitForExit(.seconds(2)), "the old primary did not exit once its client left")
        #expect(pair.primary.status.counters["client_connections_dropped"] == 0, "a client connection was dropped")

        // Each refusal was true: the new primary holds exactly the acknowledged writes.
        let survivor = try RESPClient(pair.backup.clientAddress)
        #expect(try survivor.command("GET", "drain:late") == .bulk(nil))
        var wrong: [String] = []
        for index in acked where try survivor.command("GET", "drain:\(index)") != .bulk("v\(index)") {
            wrong.append("acked \(index) missing")
        }
        for index in refused where try survivor.command("GET", "drain:\(index)") != .bulk(nil) {
            wrong.append("refused \(index) present")
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(10))")
    }

    @Test("a client, channel or metrics port already in use is a typed error from init, before anything runs")
    func busyClientPort() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let holder = try TCP.listen(on: .loopback(port: 0))
        defer { try? holder.close() }  // teardown: nothing to report
        let busy = try TCP.localAddress(of: holder)

        var configuration = TestNode.configuration(name: "a")
        configuration.clientListenAddress = busy.description
        do {
            _ = try TestNode(configuration: configuration, arbiterDirectory: directory.path)
            Issue.record("init bound a port that is in use")
        } catch let error as RuntimeError {
            guard case .cannotListen(let role, let address, let cause) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            #expect(role == "client")
            #expect(address == busy.description)
            #expect(cause == SystemError(call: "bind", errno: EADDRINUSE))
            #expect(error.description.contains("already in use"), "\(error)")
        }

        configuration = TestNode.configuration(name: "a")
        configuration.channelListenAddress = busy.description
        #expect(throws: RuntimeError.self) { _ = try TestNode(configuration: configuration, arbiterDirectory: directory.path) }

        configuration = TestNode.configuration(name: "a")
        configuration.metricsListenAddress = busy.description
        do {
            _ = try TestNode(configuration: configuration, arbiterDirectory: directory.path)
            Issue.record("init bound a metrics port that is in use")
        } catch let error as RuntimeError {
            #expect(error == .cannotListen(role: "metrics", address: busy.description,
                                           SystemError(call: "bind", errno: EADDRINUSE)), "\(error)")
        }
    }

    @Test("malformed RESP gets an error and closes only that connection")
    func malformedRequestClosesOnlyItsConnection() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path)
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        let good = try RESPClient(node.clientAddress)
        #expect(try good.command("SET", "k", "1").isOK)
        let bad = try RESPClient(node.clientAddress)
        try bad.sendRaw(Array("*1\r\n$abc\r\n".utf8))
        #expect(try bad.readReply() == .error("ERR Protocol error: invalid bulk length"))
        #expect(bad.isClosedByServer(), "the connection stayed open after a protocol error")

        #expect(try good.command("GET", "k") == .bulk("1"))
        #expect(try good.command("INCR", "k") == .integer(2))
    }

    @Test("pipelined requests are answered in request order, local answers waiting behind replicated ones")
    func pipelinedRepliesKeepOrder() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }

        let client = try RESPClient(pair.primary.clientAddress)
        var pipeline: [UInt8] = []
        var expected: [RESPValue] = []
        for index in 0..<300 {
            pipeline += Self.encode(["SET", "p:\(index)", "\(index)"])
            pipeline += Self.encode(["PING", "\(index)"])
            pipeline += Self.encode(["GET", "p:\(index)"])
            expected += [.simple("OK"), .bulk("\(index)"), .bulk("\(index)")]
        }
        try client.sendRaw(pipeline)
        var replies: [RESPValue] = []
        for _ in expected { replies.append(try client.readReply()) }
        #expect(replies == expected)
    }

    @Test("INFO shows the runtime's counters, and batching shows in them")
    func infoShowsCounters() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }

        let client = try RESPClient(pair.primary.clientAddress)
        for index in 0..<50 { #expect(try client.command("SET", "c:\(index)", "x").isOK) }
        sleep(for: .milliseconds(5))  // counters in INFO may be a millisecond old
        guard case .bulk(let info?) = try client.command("INFO", "replication") else {
            Issue.record("INFO did not answer a bulk string")
            return
        }
        let counters = info.split(separator: "\r\n").filter {
            $0.hasPrefix("lockstep_channel_") || $0.hasPrefix("lockstep_client_") || $0.hasPrefix("lockstep_acks_")
        }
        let names = counters.map { String($0.prefix { $0 != ":" }) }
        #expect(names == names.sorted(), "counters are not rendered sorted by name")
        #expect(info.contains("lockstep_client_commands:50"), "\(info)")
        let status = pair.primary.status
        #expect((status.counters["channel_entries_sent"] ?? 0) >= 50)
        #expect((status.counters["acks_received"] ?? 0) > 0)
        #expect((status.counters["channel_writes"] ?? 0) > 0)
    }

    @Test("a tiny unacked log pauses intake, yet every pipelined command from many clients is answered in order")
    func backpressureKeepsOrder() throws {
        let pair = try Pair.start { configuration in
            configuration.node.primaryLimits.unackedEntriesLimit = 8
            configuration.node.primaryLimits.intakeBatchLimit = 4
            configuration.clientPendingRepliesLimit = 16
        }
        defer { pair.shutDown() }

        let clients = try (0..<4).map { _ in try RESPClient(pair.primary.clientAddress) }
        for (number, client) in clients.enumerated() {
            var pipeline: [UInt8] = []
            for index in 0..<250 {
                pipeline += Self.encode(["INCR", "n:\(number)"])
                if index % 10 == 0 { pipeline += Self.encode(["PING"]) }
            }
            try client.sendRaw(pipeline)
        }
        for (number, client) in clients.enumerated() {
            var value: Int64 = 0
            for index in 0..<250 {
                value += 1
                let reply = try client.readReply()
                #expect(reply == .integer(value), "client \(number), INCR \(index)")
                if index % 10 == 0 { #expect(try client.readReply() == .simple("PONG")) }
            }
        }
        // The status is published at most a millisecond apart, so the last batches may show up a moment later.
        _ = Waiting.until(.seconds(2)) { pair.primary.status.counters["client_commands"] == 1_000 }
        let counters = pair.primary.status.counters
        #expect((counters["intake_pauses"] ?? 0) > 0, "the unacked log never filled: \(counters)")
        #expect((counters["client_commands"] ?? 0) == 1_000)
        let batches = counters["client_batches"] ?? 0
        #expect(batches >= 250, "batches of more than intakeBatchLimit (4) commands: \(batches) for 1000")
    }

    @Test("a client past the connection limit is told so, in Redis's words, and closed; the others keep working")
    func connectionLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path) {
            $0.clientConnectionsLimit = 2
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        let first = try RESPClient(node.clientAddress)
        let second = try RESPClient(node.clientAddress)
        #expect(try first.command("PING") == .simple("PONG"))
        #expect(try second.command("PING") == .simple("PONG"))
        let third = try RESPClient(node.clientAddress)
        guard case .error(let refusal) = try third.readReply() else {
            Issue.record("the third connection was not refused")
            return
        }
        #expect(refusal == "ERR max number of clients reached", "\(refusal)")
        #expect(third.isClosedByServer())
        #expect(try first.command("SET", "k", "v").isOK)
        second.close()
        let replacement = Waiting.until(.seconds(5)) {
            guard let client = try? RESPClient(node.clientAddress) else { return false }
            return (try? client.command("GET", "k")) == .bulk("v")
        }
        #expect(replacement, "a freed connection slot was not reused")
    }

    @Test("a client that does not read its replies is disconnected at the output limit")
    func slowClientIsDisconnected() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path) {
            $0.clientOutputBytesLimit = 64 << 10
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        let writer = try RESPClient(node.clientAddress)
        let value = String(repeating: "x", count: 60_000)
        #expect(try writer.command("SET", "big", value).isOK)
        // Never reads: 400 GETs of 60 kB is 24 MB, far past what socket buffers hold plus the 64 KiB limit.
        let reader = try RESPClient(node.clientAddress)
        try reader.sendRaw((0..<400).flatMap { _ in Self.encode(["GET", "big"]) })
        let dropped = Waiting.until(.seconds(5)) { (node.status.counters["client_connections_dropped"] ?? 0) > 0 }
        #expect(dropped, "the slow client was never disconnected")
        let reason = node.events.lazy.compactMap { if case .clientClosed(_, let reason) = $0 { reason } else { nil } }.first
        #expect({ if case .outputUnread = reason { true } else { false } }(), "\(String(describing: reason))")
        #expect(try writer.command("GET", "big") == .bulk(value))
    }

    static func encode(_ arguments: [String]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
        }
        return bytes
    }
}
