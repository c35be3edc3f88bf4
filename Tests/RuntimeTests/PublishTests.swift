import KeyValue
import Posix
import Runtime
import Testing

/// PUBLISH on a real pair: the message goes through the log and leaves, to every subscriber and as the publisher's
/// reply, only when the backup has acked its entry.
@Suite(.serialized)
struct PublishTests {
    @Test("PUBLISH reaches channel and pattern subscribers with Redis's count; PUBSUB sees them; the backup refuses it")
    func publishReachesSubscribers() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let channel = try RESPClient(pair.primary.clientAddress)
        let pattern = try RESPClient(pair.primary.clientAddress)
        let both = try RESPClient(pair.primary.clientAddress)
        let publisher = try RESPClient(pair.primary.clientAddress)
        #expect(try channel.command("SUBSCRIBE", "news") == .array([.bulk("subscribe"), .bulk("news"), .integer(1)]))
        #expect(try pattern.command("PSUBSCRIBE", "n*") == .array([.bulk("psubscribe"), .bulk("n*"), .integer(1)]))
        _ = try both.command("SUBSCRIBE", "news")
        _ = try both.command("PSUBSCRIBE", "ne*")

        #expect(try publisher.command("PUBLISH", "news", "hello") == .integer(4), "one, one, and two for `both`")
        #expect(try channel.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("hello")]))
        #expect(try pattern.readReply() == .array([.bulk("pmessage"), .bulk("n*"), .bulk("news"), .bulk("hello")]))
        #expect(try both.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("hello")]))
        #expect(try both.readReply() == .array([.bulk("pmessage"), .bulk("ne*"), .bulk("news"), .bulk("hello")]))
        #expect(try publisher.command("PUBLISH", "other", "x") == .integer(0))

        #expect(try publisher.command("PUBSUB", "CHANNELS") == .array([.bulk("news")]))
        #expect(try publisher.command("PUBSUB", "CHANNELS", "x*") == .array([]))
        #expect(
            try publisher.command("PUBSUB", "NUMSUB", "news", "other")
                == .array([.bulk("news"), .integer(2), .bulk("other"), .integer(0)]))
        #expect(try publisher.command("PUBSUB", "NUMPAT") == .integer(2))

        let backup = try RESPClient(pair.backup.clientAddress)
        #expect(try backup.command("PUBLISH", "news", "x").description.hasPrefix("-READONLY"))
    }

    @Test("PUBLISHes inside MULTI reach a subscriber in order, and a waiter is served, by one EXEC holding the counts")
    func publishInsideTransaction() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let subscriber = try RESPClient(pair.primary.clientAddress)
        let waiter = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let publisher = try RESPClient(pair.primary.clientAddress)
        _ = try subscriber.command("SUBSCRIBE", "news")
        try waiter.send(["BLPOP", "q", "0"])
        let isWaiting = try Waiting.until(.seconds(5)) {
            try publisher.command("CLIENT", "LIST").description.contains("flags=b")
        }
        #expect(isWaiting, "the BLPOP never waited")
        #expect(try publisher.command("MULTI").isOK)
        #expect(try publisher.command("PUBLISH", "news", "one") == .simple("QUEUED"))
        #expect(try publisher.command("RPUSH", "q", "v") == .simple("QUEUED"))
        #expect(try publisher.command("PUBLISH", "news", "two") == .simple("QUEUED"))
        #expect(try publisher.command("PUBSUB", "NUMSUB", "news") == .simple("QUEUED"))
        #expect(
            try publisher.command("EXEC")
                == .array([.integer(1), .integer(1), .integer(1), .array([.bulk("news"), .integer(1)])]))
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("one")]))
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("two")]))
        #expect(try waiter.readReply() == .array([.bulk("q"), .bulk("v")]))

        #expect(try publisher.command("MULTI").isOK)
        _ = try publisher.command("PUBLISH", "news", "discarded")
        #expect(try publisher.command("DISCARD").isOK)
        #expect(try publisher.command("PUBLISH", "news", "three") == .integer(1))
        #expect(
            try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("three")]),
            "the DISCARDed message never left")
    }

    @Test("a message and the PUBLISH reply wait for the backup's ack, then leave")
    func messageWaitsForTheAck() throws {
        // Timeouts long enough that a freeze of a second or two is no failure.
        let pair = try ProxiedPair.start(primarySilence: .seconds(20), backupSilence: .seconds(20))
        defer { pair.shutDown() }
        let (primary, backup, proxy) = (pair.primary, pair.backup, pair.proxy)

        let subscriber = try RESPClient(primary.clientAddress, timeout: .seconds(1))
        let publisher = try RESPClient(primary.clientAddress, timeout: .seconds(1))
        _ = try subscriber.command("SUBSCRIBE", "news")
        proxy.freeze()
        // A pump already inside `recv` forwards what arrives during its 20 ms timeout: let both see the flag.
        sleep(for: .milliseconds(100))
        try publisher.send(["PUBLISH", "news", "held"])
        // Nothing for a second: neither the message nor the reply may leave before the ack.
        #expect(throws: RESPClient.Failure.self) { try subscriber.readReply() }
        #expect(throws: RESPClient.Failure.self) { try publisher.readReply() }
        proxy.thaw()
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("news"), .bulk("held")]))
        #expect(try publisher.readReply() == .integer(1))
        #expect(primary.role == .primary && backup.role == .backup, "the freeze caused a failover")
    }
}
