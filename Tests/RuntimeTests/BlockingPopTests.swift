import Glibc
import KeyValue
import Posix
import Runtime
import Testing

/// Blocking pops on a real pair: a waiting connection is answered from another client's entry, parsed no further while
/// it waits, and its wait ends in the log after its timeout or its close, so no element goes to a client that left.
@Suite(.serialized)
struct BlockingPopTests {
    /// Waits until both nodes report one digest.
    static func expectDigestsAgree(_ pair: Pair, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let primary = try RESPClient(pair.primary.clientAddress)
        let backup = try RESPClient(pair.backup.clientAddress)
        var digests: (RESPValue, RESPValue) = (.bulk(nil), .bulk(nil))
        let converged = try Waiting.until(.seconds(5)) {
            digests = (try primary.command("DEBUG", "DIGEST"), try backup.command("DEBUG", "DIGEST"))
            return digests.0 == digests.1
        }
        #expect(converged, "digests differ: primary \(digests.0), backup \(digests.1)", sourceLocation: sourceLocation)
    }

    /// Waits until the primary's store holds `count` waiting connections (INFO's `blocked_clients`), so that a test
    /// acts on the wait itself rather than on a guess of how long the pair takes under load.
    static func expectBlockedClients(
        _ count: Int, via client: RESPClient, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var info = ""
        let reached = try Waiting.until(.seconds(5)) {
            if case .bulk(let text?) = try client.command("INFO", "clients") { info = text }
            return info.contains("blocked_clients:\(count)\r\n")
        }
        #expect(reached, "blocked_clients never reached \(count): \(info)", sourceLocation: sourceLocation)
    }

    @Test("a BLPOP waits until another client's RPUSH serves it; what its connection sent behind it waits its turn")
    func servedByAnotherClient() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let waiter = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let pusher = try RESPClient(pair.primary.clientAddress)
        // Redis runs no command of a blocked client: neither the RPUSH sent with the BLPOP nor the one sent once it
        // waits may serve their own connection's BLPOP.
        try waiter.sendRaw(Array("*3\r\n$5\r\nBLPOP\r\n$1\r\nq\r\n$1\r\n0\r\n*3\r\n$5\r\nRPUSH\r\n$1\r\nq\r\n$4\r\nmine\r\n".utf8))
        sleep(for: .milliseconds(200))
        try waiter.send(["RPUSH", "q", "later"])
        sleep(for: .milliseconds(200))
        #expect(try pusher.command("LLEN", "q") == .integer(0), "the waiter's RPUSH ran while it waited")
        #expect(try pusher.command("RPUSH", "q", "theirs") == .integer(1))
        #expect(try waiter.readReply() == .array([.bulk("q"), .bulk("theirs")]))
        #expect(try waiter.readReply() == .integer(1), "its RPUSHes ran once it was answered, in order")
        #expect(try waiter.readReply() == .integer(2))
        #expect(try pusher.command("LRANGE", "q", "0", "-1") == .array([.bulk("mine"), .bulk("later")]))
        try Self.expectDigestsAgree(pair)
    }

    @Test("a timeout answers a null after it has passed; a close ends the wait, and a later push stays in the list")
    func timeoutAndClose() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let waiter = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let pusher = try RESPClient(pair.primary.clientAddress)
        let start = ContinuousClock.now
        #expect(try waiter.command("BLPOP", "q", "0.2") == .array(nil))
        #expect(ContinuousClock.now - start >= .milliseconds(200))
        #expect(try pusher.command("RPUSH", "q", "kept") == .integer(1))
        #expect(try pusher.command("LLEN", "q") == .integer(1), "a timed-out waiter took an element")

        let leaving = try RESPClient(pair.primary.clientAddress)
        try leaving.send(["BLPOP", "r", "0"])
        try Self.expectBlockedClients(1, via: pusher)
        leaving.close()
        // The wait ends in the log once the primary notices the close; a push before that would serve the closed
        // connection, in Redis as here.
        try Self.expectBlockedClients(0, via: pusher)
        #expect(try pusher.command("RPUSH", "r", "kept") == .integer(1))
        #expect(try pusher.command("LLEN", "r") == .integer(1), "an element went to a connection that had closed")
        try Self.expectDigestsAgree(pair)
    }

    @Test("DEBUG SLEEP delays its own connection's +OK on a real pair while another connection is answered at once")
    func debugSleepDelaysOneConnection() throws {
        let pair = try Pair.start()
        defer { pair.shutDown() }
        let sleeper = try RESPClient(pair.primary.clientAddress, timeout: .seconds(5))
        let other = try RESPClient(pair.primary.clientAddress)
        let start = ContinuousClock.now
        try sleeper.send(["DEBUG", "SLEEP", "1"])
        try Self.expectBlockedClients(1, via: other)
        // The loop goes on: another client's write is replicated and answered while the sleeper waits.
        #expect(try other.command("SET", "k", "v") == .simple("OK"))
        #expect(ContinuousClock.now - start < .milliseconds(900), "another client waited for the sleep")
        #expect(try sleeper.readReply() == .simple("OK"))
        #expect(ContinuousClock.now - start >= .seconds(1), "the sleep ended early")
        #expect(try sleeper.command("DEBUG", "SLEEP", "0") == .simple("OK"))
        try Self.expectDigestsAgree(pair)
    }
}
