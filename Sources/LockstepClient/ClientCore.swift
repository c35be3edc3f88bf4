import Posix

/// The client's decisions, free of I/O: where to connect, what to send, when to resend, what each caller hears.
///
/// Like the node's protocol cores it takes one event with the time and returns actions; the I/O thread
/// (`ClientDriver`) turns sockets and timers into events and performs the actions, and tests drive it directly.
///
/// The rule it keeps: a request, once numbered in a session, is only ever sent again under the same (session,
/// number), in number order, so the server applies it at most once; and a caller hears either the reply, or a
/// typed error saying whether the request may have been applied. A dropped connection, a refusal or a node that is
/// not primary sends the core looking for the primary (a named primary first, then the addresses in turn, with
/// backoff) and then resending every unanswered request; the caller sees only latency, unless `reconnectTimeout`
/// passes first.
struct ClientCore {
    /// Where the connection stands.
    enum Link: Equatable {
        /// No connection and no reason for one: nothing waits.
        case idle
        /// Pausing before the next attempt.
        case pausing(until: Duration)
        /// TCP connect under way.
        case connecting(SocketAddress, deadline: Duration)
        /// AUTH, ROLE and SENTINEL sent; `isPrimary` is known once ROLE has answered.
        case handshaking(SocketAddress, deadline: Duration, isPrimary: Bool)
        /// SESSION OPEN sent on a primary.
        case openingSession(SocketAddress, deadline: Duration)
        /// Requests flow.
        case ready(SocketAddress)
        /// SESSION CLOSE sent; the client is closing.
        case closingSession(SocketAddress, deadline: Duration)
        /// Closed for good.
        case closed
    }

    let configuration: LockstepClientConfiguration
    /// The addresses given at start, tried in turn when no node has named the primary.
    let seeds: [SocketAddress]
    /// Deliver `.timerFired` no later than this.
    private(set) var nextWakeup: Duration?
    private(set) var link: Link = .idle
    private(set) var window = SessionWindow()
    private(set) var pending = PendingRequests()
    private var expected = ExpectedReplies()
    /// A node named as primary by a refusal or by Sentinel: the next attempt goes there.
    private var namedPrimary: SocketAddress?
    private var nextSeedIndex = 0
    private var consecutiveFailures = 0
    /// Since when the client has had work and no primary; `reconnectTimeout` counts from here.
    private var unavailableSince: Duration?
    private var lastFailure: ConnectionFailure?
    /// The last reply, or the moment requests began to be outstanding: `replySilenceTimeout` counts from here.
    private var lastHeardAt: Duration = .zero
    private var isClosing = false
    private var backoff: ReconnectBackoff
    private var actions: [ClientAction] = []

    /// A core for these seed addresses (at least one); `seed` drives the backoff's jitter.
    init(configuration: LockstepClientConfiguration, seeds: [SocketAddress], seed: UInt64) {
        precondition(!seeds.isEmpty, "a client needs at least one address")
        self.configuration = configuration
        self.seeds = seeds
        backoff = ReconnectBackoff(
            initial: configuration.reconnectBackoffInitial, limit: configuration.reconnectBackoffLimit, seed: seed)
    }

    /// Takes one event at `now` (time since any fixed origin) and returns what to do, in order.
    mutating func handle(_ event: ClientEvent, at now: Duration) -> [ClientAction] {
        switch event {
        case .started:
            if link == .idle, !isClosing { search(now) }
        case .requestSubmitted(let id, let command):
            submit(id, command, now)
        case .requestCancelled(let id):
            cancel(id)
        case .connected:
            connected(now)
        case .connectionFailed(let problem):
            guard let address = link.address else { break }
            switch problem {
            case .connectFailed(let reason): fail(.connectFailed(address: address.description, reason: reason), now)
            case .lost: fail(.connectionLost(address: address.description), now)
            case .undecodable(let error):
                fail(.protocolViolation(address: address.description, problem: error.description), now)
            }
        case .replyArrived(let reply):
            replyArrived(reply, now)
        case .timerFired:
            timerFired(now)
        case .closeRequested:
            close(now)
        }
        nextWakeup = wakeup()
        defer { actions.removeAll(keepingCapacity: true) }
        return actions
    }

    // MARK: Requests

    private mutating func submit(_ id: RequestID, _ command: RESPCommand, _ now: Duration) {
        guard !isClosing else { return actions.append(.complete(id, .failure(.closed))) }
        guard pending.count < configuration.pendingRequestsLimit else {
            return actions.append(.complete(id, .failure(.queueFull(limit: configuration.pendingRequestsLimit))))
        }
        pending.append(PendingRequest(id: id, command: command, deadline: now + configuration.requestTimeout))
        if link == .idle { search(now) } else { sendPending(now) }
    }

    private mutating func cancel(_ id: RequestID) {
        if pending.remove(id) {
            actions.append(.complete(id, .failure(.cancelledUnsent)))
        } else if window.detachCaller(id) {
            actions.append(.complete(id, .failure(.outcomeUnknown(.cancelled))))
        }
    }

    /// Numbers and sends waiting requests while the window has room.
    private mutating func sendPending(_ now: Duration) {
        guard case .ready = link, let session = window.session else { return }
        if window.isEmpty { lastHeardAt = now }
        var bytes: [UInt8] = []
        while window.count < configuration.requestsInFlightLimit, let request = pending.popFirst() {
            let number = window.add(InFlightRequest(id: request.id, command: request.command, deadline: request.deadline))
            request.command.sessionExecution(session: session, number: number, into: &bytes)
            expected.append(.execution(session: session, number: number))
        }
        if !bytes.isEmpty { actions.append(.send(bytes)) }
    }

    // MARK: Finding the primary

    /// Starts looking for the primary; `reconnectTimeout` counts from the first time since the last success.
    private mutating func search(_ now: Duration) {
        if unavailableSince == nil { unavailableSince = now }
        attempt(now)
    }

    private mutating func attempt(_ now: Duration) {
        let address: SocketAddress
        if let named = namedPrimary {
            address = named
            namedPrimary = nil
        } else {
            address = seeds[nextSeedIndex % seeds.count]
            nextSeedIndex = (nextSeedIndex + 1) % seeds.count
        }
        link = .connecting(address, deadline: now + configuration.connectTimeout)
        actions.append(.connect(address))
    }

    /// Asks who serves, on one round trip: AUTH if configured, ROLE, and Sentinel's answer in case it is not this node.
    private mutating func connected(_ now: Duration) {
        guard case .connecting(let address, let deadline) = link else { return }
        link = .handshaking(address, deadline: deadline, isPrimary: false)
        var bytes: [UInt8] = []
        if let password = configuration.password {
            RESPCommand.encode(["AUTH", password], into: &bytes)
            expected.append(.authentication)
        }
        RESPCommand.encode(["ROLE"], into: &bytes)
        expected.append(.role)
        RESPCommand.encode(["SENTINEL", "get-master-addr-by-name", configuration.serviceName], into: &bytes)
        expected.append(.sentinel)
        actions.append(.send(bytes))
    }

    private mutating func openSession(on address: SocketAddress, _ now: Duration) {
        link = .openingSession(address, deadline: now + configuration.connectTimeout)
        var bytes: [UInt8] = []
        RESPCommand.encode(["SESSION", "OPEN"], into: &bytes)
        expected.append(.sessionOpen)
        actions.append(.send(bytes))
    }

    /// The primary has a session for us: resend every unanswered request in number order, then the waiting ones.
    private mutating func becomeReady(_ address: SocketAddress, _ now: Duration) {
        link = .ready(address)
        consecutiveFailures = 0
        unavailableSince = nil
        lastHeardAt = now
        guard let session = window.session else { return }
        var bytes: [UInt8] = []
        for (number, request) in window.unanswered {
            request.command.sessionExecution(session: session, number: number, into: &bytes)
            expected.append(.execution(session: session, number: number))
        }
        if !bytes.isEmpty { actions.append(.send(bytes)) }
        sendPending(now)
        closeIfSettled(now)
    }

    /// Drops the connection and plans the next attempt: at once to a newly named primary, otherwise after a pause.
    private mutating func fail(_ failure: ConnectionFailure, _ now: Duration, naming primary: SocketAddress? = nil) {
        let address = link.address
        let wasReady = link.isReady
        actions.append(.disconnect)
        expected.removeAll()
        window.noteConnectionLost()
        lastFailure = failure
        if let primary, primary != address { namedPrimary = primary }
        if isClosing, window.callerCount == 0 { return finish() }
        guard !wasReady || !pending.isEmpty || !window.isEmpty else {
            // Nothing waits: stay disconnected until a request comes (the session lives on in the server). A search
            // under way goes on, so that the first request finds the primary known.
            link = .idle
            unavailableSince = nil
            consecutiveFailures = 0
            return
        }
        if unavailableSince == nil { unavailableSince = now }
        consecutiveFailures += 1
        // One hop to a named primary at once; hops beyond the addresses known pause like any failure, so two nodes
        // naming each other (a stale view) cannot spin the client.
        if namedPrimary != nil, consecutiveFailures <= seeds.count + 1 {
            attempt(now)
        } else {
            link = .pausing(until: now + backoff.delay(afterFailures: consecutiveFailures))
        }
    }

    /// No primary within `reconnectTimeout`: every caller hears, the session is abandoned, the client goes idle
    /// (a later request starts a new search).
    private mutating func giveUp(_ now: Duration) {
        if link.address != nil { actions.append(.disconnect) }
        expected.removeAll()
        let failure = lastFailure
        for request in window.abandon() {
            if let id = request.id { actions.append(.complete(id, .failure(.outcomeUnknown(.noPrimary(lastFailure: failure))))) }
        }
        for request in pending.removeAll() {
            actions.append(.complete(request.id, .failure(.noPrimary(lastFailure: failure))))
        }
        link = .idle
        unavailableSince = nil
        consecutiveFailures = 0
        namedPrimary = nil
        if isClosing { finish() }
    }

    // MARK: Replies

    private mutating func replyArrived(_ reply: RESPReply, _ now: Duration) {
        guard let address = link.address else { return }
        guard let expectation = expected.popFirst() else {
            return fail(.protocolViolation(address: address.description, problem: "a reply to nothing: \(reply)"), now)
        }
        lastHeardAt = now
        switch expectation {
        case .authentication:
            if case .error(let text) = reply {
                fail(.authenticationFailed(address: address.description, reply: text), now)
            }
        case .role:
            guard case .handshaking(_, let deadline, _) = link else { return }
            if SessionReply(reply) == .authenticationFailed {
                return fail(.authenticationFailed(address: address.description, reply: reply.text ?? ""), now)
            }
            link = .handshaking(address, deadline: deadline, isPrimary: SessionReply.isPrimaryRole(reply))
        case .sentinel:
            guard case .handshaking(_, _, let isPrimary) = link else { return }
            guard isPrimary else {
                return fail(.notPrimary(address: address.description), now, naming: SessionReply.sentinelPrimary(reply))
            }
            if window.session == nil { openSession(on: address, now) } else { becomeReady(address, now) }
        case .sessionOpen:
            guard case .openingSession = link else { return }
            if case .integer(let session) = reply, session > 0 {
                window.open(session)
                return becomeReady(address, now)
            }
            rejected(reply, by: address, now)
        case .sessionClose:
            finish()
        case .execution(let session, let number):
            executionReplied(reply, session: session, number: number, address: address, now)
        }
    }

    private mutating func executionReplied(
        _ reply: RESPReply, session: Int64, number: UInt64, address: SocketAddress, _ now: Duration
    ) {
        // A reply for a session given up since, or a number already settled, is an echo: drop it.
        guard session == window.session, window[number] != nil else { return }
        switch SessionReply(reply) {
        case .reply:
            if let id = window.acknowledge(number)?.id { actions.append(.complete(id, .success(reply))) }
            sendPending(now)
            closeIfSettled(now)
        case .numberStale:
            if let id = window.acknowledge(number)?.id {
                actions.append(.complete(id, .failure(.outcomeUnknown(.numberStale))))
            }
            sendPending(now)
            closeIfSettled(now)
        case .noSession:
            sessionLost(on: address, now)
        case .numberGap:
            for request in window.abandon() {
                if let id = request.id { actions.append(.complete(id, .failure(.outcomeUnknown(.numberGap)))) }
            }
            reopen(on: address, now)
        case .refusal, .authenticationFailed:
            rejected(reply, by: address, now)
        }
    }

    /// `-NOSESSION`: requests sent only on this connection were not applied (the server processes a connection's
    /// requests in order, and the session was already gone) and go to a new session; any sent on a lost connection
    /// may have been applied before the session went, so their callers hear the outcome is unknown.
    private mutating func sessionLost(on address: SocketAddress, _ now: Duration) {
        var requeued: [PendingRequest] = []
        for request in window.abandon() {
            guard let id = request.id else { continue }
            if request.wasSentOnLostConnection {
                actions.append(.complete(id, .failure(.outcomeUnknown(.sessionLost))))
            } else {
                requeued.append(PendingRequest(id: id, command: request.command, deadline: request.deadline))
            }
        }
        pending.prepend(requeued)
        reopen(on: address, now)
    }

    /// A new session on the same connection, unless nothing needs one.
    private mutating func reopen(on address: SocketAddress, _ now: Duration) {
        if isClosing, pending.isEmpty { return closeIfSettled(now) }
        openSession(on: address, now)
    }

    /// A refusal (go to the named primary), a failed AUTH, or something unexpected: a failed attempt.
    private mutating func rejected(_ reply: RESPReply, by address: SocketAddress, _ now: Duration) {
        let text = reply.text ?? reply.description
        switch SessionReply(reply) {
        case .refusal(let primary):
            fail(.refused(address: address.description, reply: text), now, naming: primary)
        case .authenticationFailed:
            fail(.authenticationFailed(address: address.description, reply: text), now)
        default:
            fail(.protocolViolation(address: address.description, problem: "unexpected reply \(reply)"), now)
        }
    }

    // MARK: Time

    private mutating func timerFired(_ now: Duration) {
        while let request = pending.first(), request.deadline <= now {
            _ = pending.popFirst()
            actions.append(.complete(request.id, .failure(.timedOutUnsent)))
        }
        for id in window.detachCallers(dueBy: now) {
            actions.append(.complete(id, .failure(.outcomeUnknown(.timedOut))))
        }
        if let since = unavailableSince, since + configuration.reconnectTimeout <= now, !link.isReady {
            return giveUp(now)
        }
        switch link {
        case .pausing(let until) where until <= now:
            attempt(now)
        case .connecting(let address, let deadline) where deadline <= now,
            .handshaking(let address, let deadline, _) where deadline <= now,
            .openingSession(let address, let deadline) where deadline <= now:
            fail(.timedOut(address: address.description), now)
        case .ready(let address) where !window.isEmpty && lastHeardAt + configuration.replySilenceTimeout <= now:
            fail(.timedOut(address: address.description), now)
        case .closingSession(_, let deadline) where deadline <= now:
            finish()
        default:
            break
        }
        closeIfSettled(now)
    }

    private func wakeup() -> Duration? {
        var earliest: Duration?
        func consider(_ time: Duration?) {
            guard let time else { return }
            earliest = min(earliest ?? time, time)
        }
        var pendingCopy = pending
        consider(pendingCopy.first()?.deadline)
        consider(window.earliestCallerDeadline)
        if !link.isReady, link != .idle, link != .closed {
            consider(unavailableSince.map { $0 + configuration.reconnectTimeout })
        }
        switch link {
        case .pausing(let until): consider(until)
        case .connecting(_, let deadline), .handshaking(_, let deadline, _), .openingSession(_, let deadline),
            .closingSession(_, let deadline):
            consider(deadline)
        case .ready where !window.isEmpty: consider(lastHeardAt + configuration.replySilenceTimeout)
        default: break
        }
        return earliest
    }

    // MARK: Closing

    /// No new requests; waiting ones hear `.closed`; in-flight ones run to their outcome, then the session closes.
    private mutating func close(_ now: Duration) {
        guard !isClosing else { return }
        isClosing = true
        for request in pending.removeAll() { actions.append(.complete(request.id, .failure(.closed))) }
        closeIfSettled(now)
    }

    private mutating func closeIfSettled(_ now: Duration) {
        guard isClosing, window.callerCount == 0, pending.isEmpty else { return }
        switch link {
        case .ready(let address):
            guard let session = window.session else { return finish() }
            var bytes: [UInt8] = []
            RESPCommand.encode(["SESSION", "CLOSE", String(session)], into: &bytes)
            expected.append(.sessionClose)
            actions.append(.send(bytes))
            link = .closingSession(address, deadline: now + configuration.connectTimeout)
        case .closingSession, .closed:
            break
        default:
            finish()
        }
    }

    private mutating func finish() {
        guard link != .closed else { return }
        if link.address != nil { actions.append(.disconnect) }
        expected.removeAll()
        for request in window.abandon() {
            if let id = request.id { actions.append(.complete(id, .failure(.outcomeUnknown(.closed)))) }
        }
        for request in pending.removeAll() { actions.append(.complete(request.id, .failure(.closed))) }
        link = .closed
        actions.append(.finishClose)
    }
}

extension ClientCore.Link {
    /// The node of the open or opening connection.
    var address: SocketAddress? {
        switch self {
        case .connecting(let address, _), .handshaking(let address, _, _), .openingSession(let address, _),
            .ready(let address), .closingSession(let address, _):
            address
        case .idle, .pausing, .closed:
            nil
        }
    }

    var isReady: Bool {
        if case .ready = self { return true }
        return false
    }
}
