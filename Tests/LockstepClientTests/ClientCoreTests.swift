@testable import LockstepClient
import Posix
import Testing

@Suite("client core: sessions, resends and deadlines")
struct ClientCoreTests {
    @Test("requests are pipelined as SESSION EXEC with numbers 1, 2, 3 in one session")
    func numbersRequestsInOneSession() {
        var client = CoreHarness()
        client.handle(.started)
        #expect(client.connects == [CoreHarness.a])
        client.submit(1, "INCR", "c")
        client.submit(2, "APPEND", "s", "x")
        client.submit(3, "GET", "c")
        #expect(client.acceptAsPrimary(session: 9) == [
            exec(9, 1, "INCR", "c"), exec(9, 2, "APPEND", "s", "x"), exec(9, 3, "GET", "c"),
        ])
        client.reply(integer: 1)
        client.reply(integer: 1)
        client.reply(.bulkString(Array("1".utf8)))
        #expect(client.reply(of: 1) == .integer(1))
        #expect(client.reply(of: 3) == .bulkString(Array("1".utf8)))
        client.submit(4, "INCR", "c")
        #expect(client.takeSent() == [exec(9, 4, "INCR", "c")])
    }

    @Test("after a dropped connection every unanswered request is resent in the same session, in number order")
    func resendsInSameSession() {
        var client = CoreHarness()
        client.handle(.started)
        for id in 1...4 { client.submit(RequestID(id), "INCR", "c") }
        _ = client.acceptAsPrimary(session: 9)
        client.reply(integer: 1)  // request 1 answered; 2, 3, 4 in flight
        client.handle(.connectionFailed(.lost))
        #expect(client.disconnects == 1)
        client.submit(5, "INCR", "c")
        client.advance(by: .milliseconds(10))
        #expect(client.connects == [CoreHarness.a, CoreHarness.b])
        // The new primary is asked no new session: the same one continues, unanswered numbers first.
        #expect(client.acceptAsPrimary(session: 77) == [
            exec(9, 2, "INCR", "c"), exec(9, 3, "INCR", "c"), exec(9, 4, "INCR", "c"), exec(9, 5, "INCR", "c"),
        ])
        for value in 2...5 { client.reply(integer: Int64(value)) }
        #expect((1...5).map { client.reply(of: RequestID($0)) } == (1...5).map { .integer(Int64($0)) })
    }

    @Test("READONLY naming the primary sends the client there at once, resending in the same session")
    func followsReadOnly() {
        let c = SocketAddress.loopback(port: 7005)
        var client = CoreHarness()
        client.handle(.started)
        client.submit(1, "SET", "k", "v")
        _ = client.acceptAsPrimary(session: 3)
        client.reply(error: "READONLY You can't write against a backup; the primary is at 127.0.0.1:7005")
        #expect(client.connects == [CoreHarness.a, c])
        #expect(client.acceptAsPrimary() == [exec(3, 1, "SET", "k", "v")])
        client.reply(.simpleString("OK"))
        #expect(client.reply(of: 1) == .simpleString("OK"))
    }

    @Test("a backup's Sentinel answer names the primary, which is tried next")
    func followsSentinel() {
        var client = CoreHarness()
        client.handle(.started)
        client.handle(.connected)
        _ = client.takeSent()
        client.reply(CoreHarness.slaveRole)
        client.reply(.array([.bulkString(Array("127.0.0.1".utf8)), .bulkString(Array("7009".utf8))]))
        #expect(client.connects == [CoreHarness.a, .loopback(port: 7009)])
    }

    @Test("the password goes first on every connection")
    func authenticates() {
        var client = CoreHarness { $0.password = "secret" }
        client.handle(.started)
        client.handle(.connected)
        #expect(client.takeSent().first == ["AUTH", "secret"])
        client.reply(error: "WRONGPASS invalid username-password pair or user is disabled.")
        #expect(client.disconnects == 1)
    }

    @Test("no more than the window is in flight; the rest waits for answers")
    func windowBound() {
        var client = CoreHarness { $0.requestsInFlightLimit = 2 }
        client.handle(.started)
        for id in 1...3 { client.submit(RequestID(id), "INCR", "c") }
        #expect(client.acceptAsPrimary(session: 1) == [exec(1, 1, "INCR", "c"), exec(1, 2, "INCR", "c")])
        client.reply(integer: 1)
        #expect(client.takeSent() == [exec(1, 3, "INCR", "c")])
    }

    @Test("past the pending bound a request is refused at once, and never sent")
    func queueBound() {
        var client = CoreHarness { $0.pendingRequestsLimit = 2 }
        for id in 1...3 { client.submit(RequestID(id), "INCR", "c") }
        #expect(client.error(of: 3) == .queueFull(limit: 2))
        #expect(client.error(of: 1) == nil)
    }

    @Test("NOSESSION for requests sent only on this connection moves them to a new session")
    func expiredSessionIsReopened() {
        var client = CoreHarness()
        client.handle(.started)
        client.submit(1, "INCR", "c")
        client.submit(2, "INCR", "c")
        _ = client.acceptAsPrimary(session: 4)
        client.reply(error: "NOSESSION session 4 is unknown or expired")
        #expect(client.takeSent() == [["SESSION", "OPEN"]])
        client.reply(error: "NOSESSION session 4 is unknown or expired")  // request 2's echo: dropped
        client.reply(integer: 5)
        #expect(client.takeSent() == [exec(5, 1, "INCR", "c"), exec(5, 2, "INCR", "c")])
        client.reply(integer: 1)
        client.reply(integer: 2)
        #expect(client.reply(of: 1) == .integer(1))
        #expect(client.reply(of: 2) == .integer(2))
    }

    @Test("NOSESSION for a request sent before a connection was lost: outcome unknown, never sent in a new session")
    func lostSessionAfterResendIsUnknown() {
        var client = CoreHarness()
        client.handle(.started)
        client.submit(1, "INCR", "c")
        _ = client.acceptAsPrimary(session: 4)
        client.handle(.connectionFailed(.lost))
        client.submit(2, "INCR", "c")
        client.advance(by: .milliseconds(10))
        #expect(client.acceptAsPrimary() == [exec(4, 1, "INCR", "c"), exec(4, 2, "INCR", "c")])
        client.reply(error: "NOSESSION session 4 is unknown or expired")
        #expect(client.error(of: 1) == .outcomeUnknown(.sessionLost))
        client.reply(error: "NOSESSION session 4 is unknown or expired")
        client.reply(integer: 6)
        // Request 2 was first sent on the live connection, after request 1 met NOSESSION: never applied, so it moves.
        #expect(client.takeSent() == [["SESSION", "OPEN"], exec(6, 1, "INCR", "c")])
        #expect(client.error(of: 2) == nil)
    }

    @Test("a request past its deadline in flight is reported unknown but still resent, keeping the numbers whole")
    func timedOutInFlightStaysInSession() {
        var client = CoreHarness { $0.requestTimeout = .seconds(1); $0.replySilenceTimeout = .seconds(5) }
        client.handle(.started)
        client.submit(1, "INCR", "c")
        _ = client.acceptAsPrimary(session: 2)
        client.advance(by: .milliseconds(1_500))
        #expect(client.error(of: 1) == .outcomeUnknown(.timedOut))
        client.submit(2, "INCR", "c")
        #expect(client.takeSent() == [exec(2, 2, "INCR", "c")])
        client.handle(.connectionFailed(.lost))
        client.advance(by: .milliseconds(10))
        #expect(client.acceptAsPrimary() == [exec(2, 1, "INCR", "c"), exec(2, 2, "INCR", "c")])
        client.reply(integer: 1)
        client.reply(integer: 2)
        #expect(client.reply(of: 2) == .integer(2))
    }

    @Test("a request that waited past its deadline unsent was never applied")
    func timedOutUnsent() {
        var client = CoreHarness { $0.requestTimeout = .milliseconds(200) }
        client.submit(1, "INCR", "c")
        client.advance(by: .milliseconds(250))
        #expect(client.error(of: 1) == .timedOutUnsent)
        #expect(client.error(of: 1)?.mayHaveBeenApplied == false)
    }

    @Test("with no node answering, requests fail with the last failure once the reconnect deadline passes")
    func reconnectDeadline() {
        var client = CoreHarness { $0.reconnectTimeout = .seconds(1) }
        client.submit(1, "INCR", "c")
        var refusals = 0
        while client.outcomes[1] == nil, client.now < .seconds(5) {
            if client.core.link.address != nil {
                client.handle(.connectionFailed(.connectFailed("ECONNREFUSED")))
                refusals += 1
            }
            client.advance(by: .milliseconds(1))
        }
        #expect(client.now >= .seconds(1) && client.now < .milliseconds(1_010))
        #expect(refusals > 4, "the client kept trying, with backoff")
        guard case .noPrimary(let failure?)? = client.error(of: 1), case .connectFailed = failure else {
            Issue.record("expected noPrimary with the connect failure, got \(String(describing: client.outcomes[1]))")
            return
        }
        #expect(client.core.link == .idle)
    }

    @Test("a primary silent past the reply deadline is left for another, the requests resent")
    func silentPrimary() {
        var client = CoreHarness { $0.replySilenceTimeout = .milliseconds(500) }
        client.handle(.started)
        client.submit(1, "INCR", "c")
        _ = client.acceptAsPrimary(session: 1)
        client.advance(by: .milliseconds(600))
        #expect(client.disconnects == 1)
        #expect(client.connects.count == 2)
        #expect(client.acceptAsPrimary() == [exec(1, 1, "INCR", "c")])
    }

    @Test("a refusal promising nothing was done makes the client back off and resend, never fail the caller")
    func refusalIsRetried() {
        var client = CoreHarness()
        client.handle(.started)
        client.submit(1, "INCR", "c")
        _ = client.acceptAsPrimary(session: 1)
        client.reply(error: "TRYAGAIN the node is going live; the command was not executed")
        client.advance(by: .milliseconds(10))
        #expect(client.acceptAsPrimary() == [exec(1, 1, "INCR", "c")])
        client.reply(integer: 1)
        #expect(client.reply(of: 1) == .integer(1))
    }

    @Test("cancelled before sending: never applied; cancelled in flight: unknown")
    func cancellation() {
        var client = CoreHarness()
        client.submit(1, "INCR", "c")
        client.handle(.requestCancelled(1))
        #expect(client.error(of: 1) == .cancelledUnsent)
        client.submit(2, "INCR", "c")
        _ = client.acceptAsPrimary(session: 1)
        client.handle(.requestCancelled(2))
        #expect(client.error(of: 2) == .outcomeUnknown(.cancelled))
    }

    @Test("close waits for requests in flight, then closes the session")
    func closeEndsSession() {
        var client = CoreHarness()
        client.handle(.started)
        client.submit(1, "INCR", "c")
        _ = client.acceptAsPrimary(session: 8)
        client.handle(.closeRequested)
        client.submit(2, "INCR", "c")
        #expect(client.error(of: 2) == .closed)
        #expect(client.takeSent().isEmpty)
        client.reply(integer: 1)
        #expect(client.takeSent() == [["SESSION", "CLOSE", "8"]])
        #expect(!client.isFinished)
        client.reply(.simpleString("OK"))
        #expect(client.isFinished)
        #expect(client.reply(of: 1) == .integer(1))
    }
}
