import LogChannel
import Replication

/// Session clients: each opens a session, numbers its appends, and resends every unacknowledged one with the same
/// number whenever its connection fails, as the real client library does; the session table must apply each once.
///
/// A connection fails when its node crashes or drops its withheld replies, when the node refuses a request (it is
/// not the primary), when the oldest request waits longer than `requestTimeout`, and now and then for no reason
/// (`connectionDropOneIn`), which sends requests twice to one primary. The client then abandons the connection
/// (replies on it are ignored from then on, though what it carried may still be applied), connects again to the
/// other node (or the same one, after a drop), and resends its unacknowledged requests in order before anything new.
extension PairSimulation {
    struct SessionClient {
        /// The most requests a session client has unacknowledged: its resend window, within the table's.
        static var windowLimit: Int { 8 }
        /// How long the oldest request may wait before the client gives up on the connection: well past a round trip
        /// under backpressure, short of a failover (the silence limit and the arbiter), so clients leave a primary
        /// that is waiting for its epoch and resend elsewhere while it still holds their requests.
        static var requestTimeout: Duration { .milliseconds(120) }
        /// Timeouts in a row double the next one up to this many times: a primary slowed by backpressure must not
        /// drown in resends of requests it already holds (each resend is an entry too).
        static var timeoutDoublingsLimit: Int { 4 }
        /// One reply in this many is followed by a dropped connection.
        static var connectionDropOneIn: UInt64 { 64 }

        struct Request {
            var number: UInt64
            var key: Int
            var token: UInt64
            /// When it was last sent, on the current connection.
            var sentAt: Instant
        }

        /// Requests unacknowledged at most (1 to `windowLimit`, seeded).
        var window: Int
        var session: UInt64?
        var nextNumber: UInt64 = 1
        /// Sent, not acknowledged, in number order; all of them in flight on the current connection.
        var unacked: [Request] = []
        var target = 0
        /// Which connection is current; bumped on every reconnection.
        var generation = 0
        var isConnected = false
        /// When the open in flight on the current connection was sent.
        var openSentAt: Instant?
        /// Tags of the requests sent on the current connection and not yet answered.
        var tags: [UInt64] = []
        /// When the last request sent on the current connection reaches its node: one connection keeps order.
        var lastArrival = Instant.zero
        /// The connection whose timeout check is scheduled, if any.
        var timeoutGeneration: Int?
        /// Connections given up by timeout since the last acknowledgement.
        var timeoutsInARow = 0

        /// How long the oldest request may wait now: `requestTimeout`, doubled for each timeout in a row.
        var timeout: Duration { SessionClient.requestTimeout * (1 << min(timeoutsInARow, SessionClient.timeoutDoublingsLimit)) }
        /// No new requests: only the unacknowledged ones are resent until acknowledged (`drainSessionClients`).
        var isDraining = false
    }

    /// The session client and request (nil: the open) a tag was sent for.
    struct SessionTag {
        var client: Int
        var number: UInt64?
    }

    /// Limits the simulation's sessions open with: the defaults, with the window of the clients (which keeps the
    /// table dropping replies), and an idle timeout of five minutes of recorded time, which no run comes near: the
    /// recorded clock advances at most a millisecond per read, and a run reads it some thousands of times.
    static var sessionLimits: SessionLimits {
        SessionLimits(
            window: SessionClient.windowLimit, sessionsLimit: SessionLimits.defaults.sessionsLimit,
            replyBytesLimit: SessionLimits.defaults.replyBytesLimit, idleTimeoutMilliseconds: 300_000)
    }

    mutating func startSessionClient(_ client: Int) {
        schedule(.sessionConnect(client, generation: 0), after: .milliseconds(5) + .microseconds(Int64(client) * 700))
    }
}

/// The session clients' requests and replies: the token log's session appends (`TokenLog+Sessions`).
extension Simulation {
    /// No new session requests from now on; the unacknowledged ones are resent until acknowledged.
    mutating func drainSessionClients() {
        for client in sessionClients.indices { sessionClients[client].isDraining = true }
    }

    /// Whether every session request has been acknowledged or given up as unknown.
    var sessionClientsDrained: Bool { sessionClients.allSatisfy { $0.unacked.isEmpty } }

    /// Connects on connection `generation`: opens the session if there is none, else resends every unacknowledged
    /// request with its number, then fills the window.
    mutating func sessionConnect(_ client: Int, generation: Int) {
        guard clientsActive, sessionClients[client].generation == generation, !sessionClients[client].isConnected
        else { return }
        let target = sessionClients[client].target
        guard nodes[target].isUp else {
            sessionClients[client].target = 1 - target   // connection refused: try the other node
            schedule(.sessionConnect(client, generation: generation), after: .milliseconds(3))
            return
        }
        sessionClients[client].isConnected = true
        sessionClients[client].lastArrival = now
        guard sessionClients[client].session != nil else {
            sendOpen(client)
            return
        }
        for index in sessionClients[client].unacked.indices {
            sessionResends += 1
            sendRequest(client, at: index)
        }
        fillWindow(client)
    }

    /// Sends a new request if the client has a session and room in its window.
    mutating func sessionSend(_ client: Int) {
        let state = sessionClients[client]
        guard clientsActive, !state.isDraining, state.isConnected, let session = state.session,
            state.unacked.count < state.window
        else { return }
        let token = nextTag
        nextTag += 1
        let key = Int(random.next() % UInt64(TokenLog.keyCount))
        let number = state.nextNumber
        sessionClients[client].nextNumber += 1
        workload.writtenTokens.insert(token)
        workload.sessionTokens.insert(token)
        workload.linearizability.invoked(
            .sessionAppend(key: key, session: session, number: number, token: token), tag: token, at: now)
        sessionClients[client].unacked.append(SessionClient.Request(number: number, key: key, token: token, sentAt: now))
        sendRequest(client, at: sessionClients[client].unacked.count - 1)
    }

    /// A reply reached a session client; false if `tag` is not a session client's current request.
    mutating func sessionReplied(_ tag: UInt64, with reply: [UInt8]) -> Bool {
        guard let sent = takeSessionTag(tag) else { return false }
        let client = sent.client
        guard let number = sent.number else {
            sessionClients[client].openSentAt = nil
            guard case .opened(let session)? = TokenLog.Answer(decoding: reply) else {
                report(.exactlyOnce, "session client \(client)'s open was answered with \(reply.count) other bytes")
                return true
            }
            sessionClients[client].session = session
            sessionClients[client].nextNumber = 1
            fillWindow(client)
            return true
        }
        guard let index = sessionClients[client].unacked.firstIndex(where: { $0.number == number }) else { return true }
        let request = sessionClients[client].unacked[index]
        let session = sessionClients[client].session ?? 0
        switch TokenLog.Answer(decoding: reply) {
        case .appended?:
            sessionClients[client].unacked.remove(at: index)
            sessionClients[client].timeoutsInARow = 0
            workload.acked.append(request.token)
            if let complaint = workload.linearizability.responded(tag: request.token, with: reply, at: now) {
                report(.linearizability, complaint)
            }
            if random.next() % SessionClient.connectionDropOneIn == 0 {
                reconnect(client, switching: false)
            } else {
                let thinking = Int64(sessionClients[client].window) * Int64(2_000 + random.next() % 6_000)
                schedule(.sessionSend(client), after: .microseconds(thinking))
            }
        case .noSession?:
            // The session is gone from the history: none of its unacknowledged requests can be told applied or not.
            workload.sessionOutcomesUnknown += sessionClients[client].unacked.map(\.token)
            sessionClients[client].unacked = []
            sessionClients[client].session = nil
            reconnect(client, switching: false)
        case .stale?:
            workload.sessionOutcomesUnknown.append(request.token)
            sessionClients[client].unacked.remove(at: index)
            schedule(.sessionSend(client), after: .milliseconds(1))
        case .gap(let expected)?:
            // The client never skips a number and resends from its oldest unacknowledged, so the history that released
            // this reply lacks a request the client saw acknowledged.
            report(.exactlyOnce, "session \(session) answered request \(number) with a gap (expected \(expected))")
            sessionClients[client].unacked.remove(at: index)
        default:
            report(.exactlyOnce, "session \(session) answered request \(number) with \(reply.count) other bytes")
            sessionClients[client].unacked.remove(at: index)
        }
        return true
    }

    /// A node refused a session client's request: it connects to the other node and resends; false if `tag` is not a
    /// session client's current request.
    mutating func sessionRejected(_ tag: UInt64) -> Bool {
        guard let sent = takeSessionTag(tag) else { return false }
        reconnect(sent.client, switching: true)
        return true
    }

    /// Node `index` died or dropped its withheld replies: the session clients connected to it connect elsewhere.
    mutating func loseSessionConnections(at index: Int) {
        for client in sessionClients.indices
        where sessionClients[client].isConnected && sessionClients[client].target == index {
            reconnect(client, switching: true)
        }
    }

    /// The timeout check of connection `generation`: gives up on it if the oldest request has waited too long.
    mutating func sessionTimeout(_ client: Int, generation: Int) {
        guard sessionClients[client].generation == generation, sessionClients[client].timeoutGeneration == generation
        else { return }
        sessionClients[client].timeoutGeneration = nil
        let state = sessionClients[client]
        guard let oldest = [state.openSentAt, state.unacked.first?.sentAt].compactMap({ $0 }).min() else { return }
        if now.since(oldest) >= state.timeout {
            sessionTimeouts += 1
            sessionClients[client].timeoutsInARow += 1
            reconnect(client, switching: true)
        } else {
            sessionClients[client].timeoutGeneration = generation
            schedule(.sessionTimeout(client, generation: generation), after: (oldest + state.timeout).since(now))
        }
    }

    // MARK: Connection

    /// Abandons the current connection, whose replies are ignored from now on, and connects again shortly, to the
    /// other node if `switching`.
    private mutating func reconnect(_ client: Int, switching: Bool) {
        guard sessionClients[client].isConnected else { return }   // a connection is already being made
        for tag in sessionClients[client].tags { sessionTags[tag] = nil }
        sessionClients[client].tags = []
        sessionClients[client].isConnected = false
        sessionClients[client].openSentAt = nil
        sessionClients[client].generation += 1
        if switching { sessionClients[client].target = 1 - sessionClients[client].target }
        schedule(
            .sessionConnect(client, generation: sessionClients[client].generation),
            after: .microseconds(Int64(3_000 + random.next() % 3_000)))
    }

    private mutating func fillWindow(_ client: Int) {
        let room = sessionClients[client].window - sessionClients[client].unacked.count
        for slot in 0..<max(room, 0) { schedule(.sessionSend(client), after: .microseconds(Int64(slot) * 300)) }
    }

    private mutating func sendOpen(_ client: Int) {
        sessionClients[client].openSentAt = now
        send(.openSession(sessionLimitsOpened), number: nil, by: client)
    }

    /// Sends (or resends) the unacknowledged request at `index`, with its number, on the current connection.
    private mutating func sendRequest(_ client: Int, at index: Int) {
        let request = sessionClients[client].unacked[index]
        sessionClients[client].unacked[index].sentAt = now
        let command = TokenLog.Command.sessionAppend(
            key: request.key, session: sessionClients[client].session!, number: request.number, token: request.token)
        send(command, number: request.number, by: client)
    }

    private mutating func send(_ command: TokenLog.Command, number: UInt64?, by client: Int) {
        let tag = nextTag
        nextTag += 1
        sessionTags[tag] = SessionTag(client: client, number: number)
        sessionClients[client].tags.append(tag)
        let target = sessionClients[client].target
        let at = max(now + latency(), sessionClients[client].lastArrival)
        sessionClients[client].lastArrival = at
        queue.push(.node(target, incarnation: nodes[target].incarnation,
                         .commandsArrived([ClientCommand(tag: tag, bytes: command.encoded)])), at: at)
        if sessionClients[client].timeoutGeneration != sessionClients[client].generation {
            sessionClients[client].timeoutGeneration = sessionClients[client].generation
            schedule(.sessionTimeout(client, generation: sessionClients[client].generation), after: sessionClients[client].timeout)
        }
    }

    /// Forgets `tag`: who sent it, if it is a session client's current request.
    private mutating func takeSessionTag(_ tag: UInt64) -> SessionTag? {
        guard let sent = sessionTags.removeValue(forKey: tag) else { return nil }
        sessionClients[sent.client].tags.removeAll { $0 == tag }
        return sent
    }
}
