/// When to send a heartbeat and when to presume the peer dead, for one channel: pure arithmetic on `Instant`s.
///
/// Free of I/O and clocks so the simulator can drive it with virtual time and the TCP transport with
/// CLOCK_MONOTONIC, and both judge silence by the same rule (DESIGN, failure detection). Anything received counts
/// as a sign of life, heartbeats and entries alike; anything written counts as speaking.
///
/// `silenceTimeout` should be several `heartbeatInterval`s, so a peer that misses one heartbeat (a GC-free but
/// busy loop, a scheduling hiccup) is not declared dead.
public struct PeerLiveness: Sendable, Equatable {
    /// Send a heartbeat once nothing was sent for this long.
    public var heartbeatInterval: Duration
    /// Presume the peer dead once nothing was received for this long.
    public var silenceTimeout: Duration
    /// When something was last sent; only moves forward.
    public private(set) var lastSent: Instant
    /// When something was last received; only moves forward.
    public private(set) var lastReceived: Instant
    /// Until when the peer said it would be busy (`Frame.busy`): no silence before it counts. Only moves forward.
    public private(set) var excusedUntil: Instant = .zero

    /// Starts both clocks at `now`: a new channel owes the peer a heartbeat after one interval, and gives the peer
    /// one full timeout to say anything.
    public init(heartbeatInterval: Duration, silenceTimeout: Duration, now: Instant) {
        precondition(heartbeatInterval > .zero, "a zero heartbeat interval would send heartbeats in a busy loop")
        precondition(silenceTimeout > .zero, "a zero silence timeout would declare every peer dead")
        self.heartbeatInterval = heartbeatInterval
        self.silenceTimeout = silenceTimeout
        lastSent = now
        lastReceived = now
    }

    /// Records that something was written at `now`, postponing the next heartbeat.
    public mutating func noteSent(at now: Instant) { lastSent = max(lastSent, now) }

    /// Records that something arrived at `now`, postponing the silence timeout.
    public mutating func noteReceived(at now: Instant) { lastReceived = max(lastReceived, now) }

    /// Records that the peer announced, at `now`, a step that may keep it silent for `duration`: it is presumed
    /// dead only once that much time and a full `silenceTimeout` after it have passed without a byte.
    public mutating func excuseSilence(for duration: Duration, at now: Instant) {
        excusedUntil = max(excusedUntil, now + duration)
    }

    /// Whether nothing was sent for `heartbeatInterval`.
    public func heartbeatDue(at now: Instant) -> Bool { now.since(lastSent) >= heartbeatInterval }

    /// Whether nothing was received for `silenceTimeout`.
    public func isPeerSilent(at now: Instant) -> Bool { now >= silenceDeadline }

    /// When the peer becomes silent if nothing arrives: a timeout after the last byte or after its excuse ends.
    private var silenceDeadline: Instant { max(lastReceived, excusedUntil) + silenceTimeout }

    /// How long the peer has been silent.
    public func silence(at now: Instant) -> Duration { now.since(lastReceived) }

    /// The earliest instant at which a heartbeat falls due or the peer becomes silent, whichever comes first:
    /// when a driver should look again. Both only move later as traffic flows, so a driver may wake at a stale
    /// deadline, find nothing due, and simply ask again.
    public var nextDeadline: Instant { min(lastSent + heartbeatInterval, silenceDeadline) }
}
