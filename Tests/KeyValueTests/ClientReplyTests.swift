import Testing

@testable import KeyValue
import Replication

/// CLIENT REPLY ON|OFF|SKIP: the commands run as always, on both nodes; only their replies are not sent.
@Suite("CLIENT REPLY")
struct ClientReplyTests {
    @Test("OFF silences every reply until ON, while writes still go through the log and the backup agrees")
    func offAndOn() {
        var node = ConnectedStore()
        #expect(node.send(1, "CLIENT", "REPLY", "OFF") == "")
        #expect(node.send(1, "SET", "k", "v") == "")
        #expect(node.send(1, "INCR", "n") == "")
        #expect(node.send(1, "PING") == "")
        #expect(node.send(1, "GET", "nope") == "")
        #expect(node.send(1, "CLIENT", "REPLY", "OFF") == "")
        #expect(node.send(1, "CLIENT", "REPLY", "ON") == RESP.ok)
        #expect(node.send(1, "GET", "k") == RESP.bulk("v"))
        #expect(node.send(2, "GET", "n") == RESP.bulk("1"), "the silenced INCR ran")
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("SKIP silences the next request's reply only; a subscriber still gets its confirmations and messages")
    func skipAndPushes() {
        var node = ConnectedStore()
        #expect(node.send(1, "CLIENT", "REPLY", "SKIP") == "")
        #expect(node.send(1, "SET", "k", "v") == "")
        #expect(node.send(1, "GET", "k") == RESP.bulk("v"))
        #expect(node.send(3, "HELLO", "3").hasPrefix("%"))
        #expect(node.send(3, "CLIENT", "REPLY", "OFF") == "")
        #expect(node.send(3, "SUBSCRIBE", "news").hasPrefix(">3"), "a push is sent whatever CLIENT REPLY says")
        #expect(node.send(2, "PUBLISH", "news", "hi") == RESP.integer(1))
        #expect(node.pushed[3]?.count == 1)
    }

    @Test("OFF silences a PUBLISH's count and an EXEC's reply, while their messages still go out")
    func offSilencesPublish() {
        var node = ConnectedStore()
        node.send(1, "SUBSCRIBE", "news")
        #expect(node.send(2, "CLIENT", "REPLY", "OFF") == "")
        #expect(node.send(2, "PUBLISH", "news", "one") == "")
        node.send(2, "MULTI")
        node.send(2, "PUBLISH", "news", "two")
        #expect(node.send(2, "EXEC") == "")
        #expect(node.pushed[1]?.count == 2)
        #expect(node.send(2, "CLIENT", "REPLY", "ON") == RESP.ok)
        #expect(node.send(2, "PUBLISH", "news", "three") == RESP.integer(1))
    }

    @Test("CLIENT REPLY's errors: a reason other than ON, OFF or SKIP, the arity, and inside MULTI")
    func errors() {
        var node = ConnectedStore()
        #expect(node.send(1, "CLIENT", "REPLY", "MAYBE") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "CLIENT", "REPLY") == RESP.error("ERR wrong number of arguments for 'client|reply' command"))
        #expect(node.send(1, "PING") == "+PONG\r\n")
    }
}
