import Testing
@testable import KeyValue
import Replication

/// MONITOR's feed as Redis 7.0 documents it: one line per request, arguments quoted and escaped, without passwords
/// or administrative commands.
@Suite("MONITOR")
struct MonitorTests {
    /// The feed's lines without their timestamps.
    static func lines(_ node: ConnectedStore) -> [String] {
        guard let feed = node.wire.takeFeed() else { return [] }
        return text(feed).split(separator: "\r\n").map { line in
            String(line.drop { $0 != " " }.dropFirst())
        }
    }

    @Test("nothing is built until a connection monitors; then every request shows, quoted and escaped, once")
    func feed() {
        var node = ConnectedStore()
        node.send(2, "SET", "before", "x")
        #expect(node.wire.takeFeed() == nil)
        #expect(node.send(1, "MONITOR") == RESP.ok)
        node.send(2, "SET", "k", "a b\n\"q\"\u{1}")
        node.send(3, "GET", "k")
        node.send(2, "MULTI")
        node.send(2, "INCR", "n")
        node.send(2, "EXEC")
        #expect(Self.lines(node) == [
            "[0 id=2] \"SET\" \"k\" \"a b\\n\\\"q\\\"\\x01\"", "[0 id=3] \"GET\" \"k\"", "[0 id=2] \"MULTI\"",
            "[0 id=2] \"INCR\" \"n\"", "[0 id=2] \"EXEC\"",
        ])
        #expect(node.wire.takeFeed() == nil, "taken once")
    }

    @Test("a line starts with the time in seconds and microseconds")
    func timestamp() {
        var node = ConnectedStore()
        node.send(1, "MONITOR")
        node.send(2, "PING")
        let line = text(node.wire.takeFeed() ?? [])
        let stamp = line.dropFirst().prefix { $0 != " " }
        #expect(line.hasPrefix("+"))
        #expect(stamp.split(separator: ".").map(\.count).last == 6)
        #expect(Double(stamp).map { $0 > 1_700_000_000 } == true)
    }

    @Test("AUTH, HELLO, CONFIG, CLIENT, SLOWLOG, DEBUG and MONITOR stay out of the feed")
    func sensitiveCommandsHidden() {
        var node = ConnectedStore()
        node.send(1, "MONITOR")
        node.send(2, "AUTH", "secret")
        node.send(2, "HELLO", "2", "AUTH", "default", "secret")
        node.send(2, "CONFIG", "GET", "save")
        node.send(2, "CLIENT", "SETNAME", "x")
        node.send(2, "SLOWLOG", "LEN")
        node.send(2, "DEBUG", "DIGEST")
        node.send(2, "MONITOR")
        #expect(Self.lines(node).isEmpty)
    }

    @Test("an unknown command or a wrong number of arguments stays out of the feed: Redis refuses it before it runs")
    func refusedCommandsHidden() {
        var node = ConnectedStore()
        node.send(1, "MONITOR")
        node.send(2, "MULTI")
        node.send(2, "SYNTAX", "ERROR")
        node.send(2, "GET")
        node.send(2, "PING", "a", "b")
        node.send(2, "EXEC")
        #expect(Self.lines(node).map { $0.split(separator: "] ").last ?? "" } == ["\"MULTI\"", "\"EXEC\""])
    }

    @Test("past its byte bound the feed drops lines and says how many")
    func bounded() {
        var node = ConnectedStore()
        node.send(1, "MONITOR")
        let value = String(repeating: "v", count: 60_000)
        for _ in 0..<20 { node.send(2, "ECHO", value) }
        let feed = node.wire.takeFeed() ?? []
        #expect(feed.count <= MonitorFeed.bytesLimit + 100)
        #expect(text(feed).hasSuffix("+(3 requests not shown: the monitors fell behind)\r\n"))
    }

    @Test("MONITOR is refused inside MULTI")
    func refusedInsideTransaction() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "MONITOR") == RESP.error("ERR Command not allowed inside a transaction"))
    }
}
