import Testing

@testable import KeyValue
import Replication

/// PUBLISH as a log entry: it changes no state, its reply is the message, and the protocol turns that into each
/// subscriber's messages and Redis's delivery count.
@Suite("PUBLISH through the log")
struct PublishEntryTests {
    @Test("a PUBLISH is an entry in log order that changes nothing; subscribers of the channel and matching patterns get it")
    func publishIsAnEntry() {
        var node = ConnectedStore()
        node.send(1, "SUBSCRIBE", "news", "sport")
        node.send(2, "PSUBSCRIBE", "n*", "*s")
        node.send(3, "SET", "k", "v")
        let before = node.primary.store.digest()
        #expect(node.send(3, "PUBLISH", "news", "hello") == RESP.integer(3))
        #expect(node.send(3, "PUBLISH", "weather", "rain") == RESP.integer(0))
        #expect(node.send(3, "PUBLISH", "sports", "") == RESP.integer(1))
        #expect(node.pushed[1] == [RESP.array(RESP.bulk("message"), RESP.bulk("news"), RESP.bulk("hello"))])
        #expect(
            node.pushed[2] == [
                RESP.array(RESP.bulk("pmessage"), RESP.bulk("n*"), RESP.bulk("news"), RESP.bulk("hello"))
                    + RESP.array(RESP.bulk("pmessage"), RESP.bulk("*s"), RESP.bulk("news"), RESP.bulk("hello")),
                RESP.array(RESP.bulk("pmessage"), RESP.bulk("*s"), RESP.bulk("sports"), RESP.bulk("")),
            ])
        #expect(node.pushed[3] == nil)
        #expect(node.primary.store.digest() == before, "a message is no state")
        let published = node.log.filter { entry in
            guard case .command(let bytes, _) = entry, let arguments = try? KeyValueCommand.decode(bytes) else {
                return false
            }
            return ASCII.equals(arguments[0], "publish")
        }
        #expect(published.count == 3, "every PUBLISH is an entry, in order with the writes")
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("a RESP3 subscriber gets the message as a push frame")
    func resp3Push() {
        var node = ConnectedStore()
        #expect(node.send(1, "HELLO", "3").hasPrefix("%"))
        node.send(1, "SUBSCRIBE", "news")
        #expect(node.send(2, "PUBLISH", "news", "hi") == RESP.integer(1))
        #expect(node.pushed[1] == [">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"])
    }

    @Test("PUBLISH's arity, a backup's refusal, queueing inside MULTI, and PUBSUB's subcommands and errors")
    func errorsAndIntrospection() {
        var node = ConnectedStore()
        #expect(node.send(1, "PUBLISH", "news") == RESP.error("ERR wrong number of arguments for 'publish' command"))
        #expect(node.send(1, "PUBSUB", "NOPE") == RESP.error("ERR unknown subcommand 'NOPE'. Try PUBSUB HELP."))
        #expect(node.send(1, "PUBSUB", "NUMPAT", "x") == RESP.error("ERR unknown subcommand 'NUMPAT'. Try PUBSUB HELP."))
        node.send(2, "SUBSCRIBE", "a", "b")
        node.send(3, "SUBSCRIBE", "b")
        node.send(3, "PSUBSCRIBE", "x*")
        #expect(node.send(1, "PUBSUB", "CHANNELS") == RESP.array(RESP.bulk("a"), RESP.bulk("b")))
        #expect(node.send(1, "PUBSUB", "NUMSUB", "b", "c") == RESP.array(RESP.bulk("b"), ":2\r\n", RESP.bulk("c"), ":0\r\n"))
        #expect(node.send(1, "PUBSUB", "NUMPAT") == RESP.integer(1))
        #expect(node.send(1, "PUBSUB", "SHARDCHANNELS") == "*0\r\n")
        #expect(node.send(1, "MULTI") == RESP.ok)
        #expect(node.send(1, "PUBLISH", "a", "x") == RESP.queued)
        #expect(node.send(1, "EXEC") == RESP.array(RESP.integer(1)))
        node.status.role = .backup
        #expect(node.send(1, "PUBLISH", "a", "x").hasPrefix("-READONLY"))
    }
}

/// PUBLISH and PUBSUB queued inside MULTI, as Redis 7.0 runs them at EXEC: the messages leave with the transaction's
/// reply, in its order, and the EXEC array holds each PUBLISH's count of receivers and each PUBSUB's answer.
@Suite("PUBLISH and PUBSUB inside MULTI")
struct PublishInTransactionTests {
    static func message(_ channel: String, _ payload: String) -> String {
        RESP.array(RESP.bulk("message"), RESP.bulk(channel), RESP.bulk(payload))
    }

    @Test("EXEC delivers the queued messages in order and its array holds each PUBLISH's count, all in one entry")
    func execDeliversInOrder() {
        var node = ConnectedStore()
        node.send(1, "SUBSCRIBE", "news")
        node.send(2, "PSUBSCRIBE", "n*")
        #expect(node.send(3, "MULTI") == RESP.ok)
        #expect(node.send(3, "SET", "k", "v") == RESP.queued)
        #expect(node.send(3, "PUBLISH", "news", "one") == RESP.queued)
        #expect(node.send(3, "INCR", "n") == RESP.queued)
        #expect(node.send(3, "PUBLISH", "news", "two") == RESP.queued)
        #expect(node.send(3, "PUBLISH", "other", "x") == RESP.queued)
        #expect(node.send(3, "GET", "k") == RESP.queued)
        #expect(node.pushed.isEmpty, "nothing leaves before EXEC")
        #expect(node.log.isEmpty)
        #expect(
            node.send(3, "EXEC")
                == RESP.array(RESP.ok, RESP.integer(2), RESP.integer(1), RESP.integer(2), RESP.integer(0), RESP.bulk("v")))
        #expect(node.pushed[1] == [Self.message("news", "one"), Self.message("news", "two")])
        #expect(
            node.pushed[2] == [
                RESP.array(RESP.bulk("pmessage"), RESP.bulk("n*"), RESP.bulk("news"), RESP.bulk("one")),
                RESP.array(RESP.bulk("pmessage"), RESP.bulk("n*"), RESP.bulk("news"), RESP.bulk("two")),
            ])
        #expect(node.log.count == 1, "the messages travel in the EXEC's entry")
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("a DISCARDed PUBLISH, one in a transaction that a refusal or a WATCH aborted, delivers nothing")
    func abortedTransactionsPublishNothing() {
        var node = ConnectedStore()
        node.send(1, "SUBSCRIBE", "news")
        node.send(2, "MULTI")
        node.send(2, "PUBLISH", "news", "discarded")
        #expect(node.send(2, "DISCARD") == RESP.ok)
        node.send(2, "MULTI")
        node.send(2, "PUBLISH", "news", "refused")
        node.send(2, "NO-SUCH-COMMAND")
        #expect(node.send(2, "EXEC").hasPrefix("-EXECABORT"))
        node.send(2, "WATCH", "k")
        node.send(3, "SET", "k", "changed")
        node.send(2, "MULTI")
        node.send(2, "PUBLISH", "news", "watched")
        #expect(node.send(2, "EXEC") == RESP.nullArray)
        #expect(node.pushed[1] == nil)
        #expect(node.send(2, "PUBLISH", "news", "after") == RESP.integer(1))
        #expect(node.pushed[1] == [Self.message("news", "after")], "the subscriber was listening all along")
    }

    @Test("in RESP3 the EXEC array keeps every reply's shape with the counts written in; a RESP3 subscriber gets pushes")
    func resp3Shapes() {
        var node = ConnectedStore()
        #expect(node.send(1, "HELLO", "3").hasPrefix("%"))
        node.send(1, "SUBSCRIBE", "news")
        #expect(node.send(2, "HELLO", "3").hasPrefix("%"))
        node.send(2, "MULTI")
        node.send(2, "HSET", "h", "f", "v")
        node.send(2, "PUBLISH", "news", "hi")
        node.send(2, "HGETALL", "h")
        node.send(2, "GET", "missing")
        #expect(node.send(2, "EXEC") == "*4\r\n:1\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n_\r\n")
        #expect(node.pushed[1] == [">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"])
    }

    @Test("an EXEC whose push serves a waiter and whose PUBLISH reaches a subscriber answers all three")
    func servesWaitersAndSubscribers() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "0") == ConnectedStore.waiting)
        node.send(2, "SUBSCRIBE", "news")
        node.send(3, "MULTI")
        node.send(3, "RPUSH", "q", "a")
        node.send(3, "PUBLISH", "news", "pushed")
        #expect(node.send(3, "EXEC") == RESP.array(RESP.integer(1), RESP.integer(1)))
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("q"), RESP.bulk("a"))])
        #expect(node.pushed[2] == [Self.message("news", "pushed")])
    }

    @Test("PUBSUB inside MULTI answers from the subscriptions when EXEC's reply leaves; a bad subcommand aborts EXEC")
    func pubsubInsideMulti() {
        var node = ConnectedStore()
        node.send(1, "SUBSCRIBE", "a", "b")
        node.send(2, "SUBSCRIBE", "b")
        node.send(2, "PSUBSCRIBE", "x*")
        node.send(3, "MULTI")
        #expect(node.send(3, "PUBSUB", "NUMSUB", "b", "c") == RESP.queued)
        #expect(node.send(3, "PUBSUB", "CHANNELS") == RESP.queued)
        #expect(node.send(3, "PUBSUB", "NUMPAT") == RESP.queued)
        #expect(node.send(3, "PUBLISH", "b", "x") == RESP.queued)
        node.send(4, "SUBSCRIBE", "c")  // after the queueing, before EXEC: counted
        #expect(
            node.send(3, "EXEC")
                == RESP.array(
                    RESP.array(RESP.bulk("b"), RESP.integer(2), RESP.bulk("c"), RESP.integer(1)),
                    RESP.array(RESP.bulk("a"), RESP.bulk("b"), RESP.bulk("c")), RESP.integer(1), RESP.integer(2)))
        node.send(3, "MULTI")
        #expect(node.send(3, "PUBSUB", "NOPE") == RESP.error("ERR unknown subcommand 'NOPE'. Try PUBSUB HELP."))
        #expect(node.send(3, "EXEC").hasPrefix("-EXECABORT"))
        node.send(3, "MULTI")
        node.send(3, "PUBSUB", "HELP")
        #expect(node.send(3, "EXEC").hasPrefix("*1\r\n*14\r\n+PUBSUB <subcommand>"))
    }

    @Test("a backup refuses PUBLISH inside MULTI as a write, and the transaction aborts")
    func backupRefuses() {
        var node = ConnectedStore()
        node.status.role = .backup
        node.send(1, "MULTI")
        #expect(node.send(1, "PUBLISH", "news", "x").hasPrefix("-READONLY"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
    }
}
