import KeyValue
import Runtime
import Testing

extension NodeRuntimeTests {
    @Test("an idle client is closed after the idle timeout; a client that keeps talking stays")
    func idleClientIsClosed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path) {
            $0.clientIdleTimeout = .seconds(1)
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        let idle = try RESPClient(node.clientAddress, timeout: .seconds(1))
        let talker = try RESPClient(node.clientAddress)
        #expect(try idle.command("PING") == .simple("PONG"))
        let clock = ContinuousClock()
        let start = clock.now
        var isIdleClosed = false
        // One sweep a second: closed between 1 and 2 s after its last request; 6 s is the generous deadline.
        while clock.now - start < .seconds(6), !isIdleClosed {
            #expect(try talker.command("PING") == .simple("PONG"))
            isIdleClosed = idle.isClosedByServer()
        }
        print("idle client closed after \(clock.now - start) (timeout 1 s, sweep every second)")
        #expect(isIdleClosed, "the idle client was never closed")
        #expect(try talker.command("SET", "k", "v").isOK, "the talking client was closed too")
        #expect((node.status.counters["client_connections_idle_closed"] ?? 0) >= 1)
    }

    @Test("a client whose unparsed bytes outgrow the query buffer limit is refused and closed")
    func queryBufferOverflowIsClosed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // Requests of at most 1 MiB of arguments, so the least query buffer the runtime accepts is a few MiB.
        let wire = KeyValueClientProtocol(
            parserLimits: RESPParser.Limits(
                argumentsLimit: 65_536, bulkBytesLimit: 1 << 20, inlineBytesLimit: 64 << 10, requestBytesLimit: 1 << 20))
        let limit = wire.replicatedBytesLimit + (64 << 10)
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path, protocol: wire) {
            $0.clientReadBufferBytes = 64 << 10
            $0.clientQueryBufferBytesLimit = limit  // the least the runtime accepts
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")

        // Within every parser bound (60,000 arguments, 960,000 bytes of them), but 1.38 MB of RESP: framing counts.
        var request = Array("*60000\r\n".utf8)
        let argument = Array("$16\r\n0123456789abcdef\r\n".utf8)
        for _ in 0..<60_000 { request += argument }
        #expect(request.count > limit)
        let greedy = try RESPClient(node.clientAddress)
        try? greedy.sendRaw(request)  // the node may close (and reset) the connection before it has all of it
        #expect(Waiting.until(.seconds(5)) {
            node.events.contains {
                if case .clientClosed(_, .refused(.queryBufferOverflowed(_, limit))) = $0 { true } else { false }
            }
        }, "the connection was not refused at the query buffer limit")
        let other = try RESPClient(node.clientAddress)
        #expect(try other.command("SET", "k", "v").isOK, "the node stopped serving others")
    }
}
