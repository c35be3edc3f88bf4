import KeyValue
import Runtime
import Testing

extension NodeRuntimeTests {
    @Test("a connection listening for notices is never closed as idle, as Redis spares Pub/Sub clients")
    func listenerIsNotIdle() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path) {
            $0.clientIdleTimeout = .seconds(1)
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        // Given a quiet subscriber and a quiet plain client,
        let listener = try RESPClient(node.clientAddress, timeout: .seconds(1))
        let idle = try RESPClient(node.clientAddress, timeout: .seconds(1))
        #expect(
            try listener.command("SUBSCRIBE", "+switch-master")
                == .array([.bulk("subscribe"), .bulk("+switch-master"), .integer(1)]))
        #expect(try idle.command("PING") == .simple("PONG"))

        // when the idle timeout passes for both (one sweep a second: the plain one goes within 2 s),
        let clock = ContinuousClock()
        let start = clock.now
        var isIdleClosed = false
        while clock.now - start < .seconds(6), !isIdleClosed {
            isIdleClosed = idle.isClosedByServer()
        }
        #expect(isIdleClosed, "the idle client was never closed")
        // then the subscriber, as quiet, is still open and still in subscribed mode,
        #expect(!listener.isClosedByServer(), "the subscriber was closed as idle")
        #expect(try listener.command("PING") == .array([.bulk("pong"), .bulk("")]))
        // and once it unsubscribes it is an ordinary client again, closed when idle.
        let unsubscribed = try listener.command("UNSUBSCRIBE")
        #expect(unsubscribed == .array([.bulk("unsubscribe"), .bulk("+switch-master"), .integer(0)]))
        let unsubscribedAt = clock.now
        var isListenerClosed = false
        while clock.now - unsubscribedAt < .seconds(6), !isListenerClosed {
            isListenerClosed = listener.isClosedByServer()
        }
        #expect(isListenerClosed, "the unsubscribed client was never closed as idle")
    }
}
