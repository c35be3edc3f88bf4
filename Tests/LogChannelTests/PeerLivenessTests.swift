import LogChannel
import Testing

@Suite("Peer liveness")
struct PeerLivenessTests {
    static let start = Instant(nanoseconds: 1_000_000_000)

    static func liveness() -> PeerLiveness {
        PeerLiveness(heartbeatInterval: .milliseconds(100), silenceTimeout: .milliseconds(500), now: start)
    }

    @Test("a heartbeat falls due one interval after the last send, not before")
    func heartbeatDue() {
        var liveness = Self.liveness()
        #expect(!liveness.heartbeatDue(at: Self.start + .milliseconds(99)))
        #expect(liveness.heartbeatDue(at: Self.start + .milliseconds(100)))
        liveness.noteSent(at: Self.start + .milliseconds(80))
        #expect(!liveness.heartbeatDue(at: Self.start + .milliseconds(179)))
        #expect(liveness.heartbeatDue(at: Self.start + .milliseconds(180)))
    }

    @Test("the peer is silent once nothing arrived for the timeout, and anything received resets it")
    func silence() {
        var liveness = Self.liveness()
        #expect(!liveness.isPeerSilent(at: Self.start + .milliseconds(499)))
        #expect(liveness.isPeerSilent(at: Self.start + .milliseconds(500)))
        liveness.noteReceived(at: Self.start + .milliseconds(300))
        #expect(!liveness.isPeerSilent(at: Self.start + .milliseconds(799)))
        #expect(liveness.silence(at: Self.start + .milliseconds(800)) == .milliseconds(500))
    }

    @Test("a busy notice holds off silence for its length plus the timeout, and a shorter one later shortens nothing")
    func excusedSilence() {
        var liveness = Self.liveness()
        // Given a notice of 2 s at 100 ms
        liveness.excuseSilence(for: .seconds(2), at: Self.start + .milliseconds(100))
        // Then the peer is silent only a timeout after the excuse ends, and the timer looks no sooner than that
        #expect(!liveness.isPeerSilent(at: Self.start + .milliseconds(2_599)))
        #expect(liveness.isPeerSilent(at: Self.start + .milliseconds(2_600)))
        liveness.noteSent(at: Self.start + .seconds(5))
        #expect(liveness.nextDeadline == Self.start + .milliseconds(2_600))
        // And a shorter notice afterwards does not cut the first one short
        liveness.excuseSilence(for: .milliseconds(10), at: Self.start + .milliseconds(200))
        #expect(!liveness.isPeerSilent(at: Self.start + .milliseconds(2_599)))
    }

    @Test("the next deadline is the earlier of the heartbeat and the silence deadline, and never moves back")
    func nextDeadline() {
        var liveness = Self.liveness()
        #expect(liveness.nextDeadline == Self.start + .milliseconds(100))
        liveness.noteSent(at: Self.start + .milliseconds(450))
        #expect(liveness.nextDeadline == Self.start + .milliseconds(500), "silence comes first now")
        liveness.noteSent(at: Self.start)  // a stale reading must not move the clock back
        #expect(liveness.lastSent == Self.start + .milliseconds(450))
    }
}
