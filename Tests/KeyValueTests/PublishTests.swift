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

    @Test("PUBLISH's arity, a backup's refusal, MULTI's refusal, and PUBSUB's subcommands and errors")
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
        #expect(node.send(1, "PUBLISH", "a", "x").hasPrefix("-ERR PUBLISH inside MULTI is not supported yet"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
        node.status.role = .backup
        #expect(node.send(1, "PUBLISH", "a", "x").hasPrefix("-READONLY"))
    }
}
