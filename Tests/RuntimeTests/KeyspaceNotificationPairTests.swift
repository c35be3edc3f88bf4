import KeyValue
import Posix
import Runtime
import Testing

/// Keyspace notifications on a real pair: CONFIG SET on the primary turns them on, and each leaves to the primary's
/// subscribers like a PUBLISH's message, once the backup has acked the entry that caused it.
@Suite(.serialized)
struct KeyspaceNotificationPairTests {
    @Test("a subscriber on the primary receives __keyevent@0__:set after another client's SET")
    func setIsNotified() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let subscriber = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let writer = try RESPClient(pair.primary.clientAddress)
        #expect(try writer.command("CONFIG", "SET", "notify-keyspace-events", "KEA").isOK)
        #expect(
            try writer.command("CONFIG", "GET", "notify-keyspace-events")
                == .array([.bulk("notify-keyspace-events"), .bulk("AKE")]))
        #expect(
            try subscriber.command("SUBSCRIBE", "__keyevent@0__:set")
                == .array([.bulk("subscribe"), .bulk("__keyevent@0__:set"), .integer(1)]))
        _ = try subscriber.command("PSUBSCRIBE", "__keyspace@0__:*")
        #expect(try writer.command("SET", "foo", "bar").isOK, "the writer's reply is its own, untouched")
        #expect(try subscriber.readReply() == .array([.bulk("pmessage"), .bulk("__keyspace@0__:*"),
                                                      .bulk("__keyspace@0__:foo"), .bulk("set")]))
        #expect(try subscriber.readReply() == .array([.bulk("message"), .bulk("__keyevent@0__:set"), .bulk("foo")]))
        #expect(try writer.command("GET", "foo") == .bulk("bar"))
    }

    @Test("a key the background sweep expires is notified expired though no client touches it again")
    func backgroundExpiryIsNotified() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let subscriber = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let writer = try RESPClient(pair.primary.clientAddress)
        #expect(try writer.command("CONFIG", "SET", "notify-keyspace-events", "Ex").isOK)
        _ = try subscriber.command("PSUBSCRIBE", "*")
        #expect(try writer.command("PSETEX", "foo", "100", "1").isOK)
        #expect(
            try subscriber.readReply()
                == .array([.bulk("pmessage"), .bulk("*"), .bulk("__keyevent@0__:expired"), .bulk("foo")]))
    }

    @Test("a write's notification, and the sweep's, wait for the backup's ack of their entries, then leave")
    func notificationsWaitForTheAck() throws {
        // Timeouts long enough that a freeze of a second or two is no failure.
        let pair = try ProxiedPair.start(primarySilence: .seconds(20), backupSilence: .seconds(20))
        defer { pair.shutDown() }
        let (primary, backup, proxy) = (pair.primary, pair.backup, pair.proxy)
        let subscriber = try RESPClient(primary.clientAddress, timeout: .seconds(1))
        let writer = try RESPClient(primary.clientAddress, timeout: .seconds(1))
        #expect(try writer.command("CONFIG", "SET", "notify-keyspace-events", "E$x").isOK)
        _ = try subscriber.command("PSUBSCRIBE", "__keyevent@0__:*")
        func event(_ name: String, _ key: String) -> RESPValue {
            .array([.bulk("pmessage"), .bulk("__keyevent@0__:*"), .bulk("__keyevent@0__:\(name)"), .bulk(key)])
        }

        proxy.freeze()
        // A pump already inside `recv` forwards what arrives during its 20 ms timeout: let both see the flag.
        sleep(for: .milliseconds(100))
        try writer.send(["SET", "k", "held"])
        #expect(throws: RESPClient.Failure.self) { try subscriber.readReply() }
        #expect(throws: RESPClient.Failure.self) { try writer.readReply() }
        proxy.thaw()
        #expect(try subscriber.readReply() == event("set", "k"))
        #expect(try writer.readReply().isOK)

        #expect(try writer.command("PSETEX", "foo", "100", "1").isOK)
        #expect(try subscriber.readReply() == event("set", "foo"))
        proxy.freeze()
        sleep(for: .milliseconds(100))
        // The key expires and the sweep deletes it meanwhile; its tick's entry cannot be acked.
        #expect(throws: RESPClient.Failure.self) { try subscriber.readReply() }
        proxy.thaw()
        #expect(try subscriber.readReply() == event("expired", "foo"))
        #expect(primary.role == .primary && backup.role == .backup, "the freeze caused a failover")
    }
}
