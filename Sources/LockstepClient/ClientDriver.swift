import Posix

/// The client's I/O thread: one `EventLoop`, at most one connection, and the core it feeds.
///
/// Callers never block: they hand requests over with `EventLoop.execute`, and the loop thread alone does the
/// syscalls (non-blocking connect, read, write) and keeps the timer. Each round, whatever the core asked to send
/// leaves in one write per connection.
final class ClientDriver: @unchecked Sendable {  // unchecked: everything but `loop` and `callers` is loop-thread state
    /// Bytes read per `read` call.
    static let readChunkBytes = 64 << 10
    /// Reads per readiness event, so one chatty connection cannot hold the thread; level-triggered epoll returns.
    static let readsPerEventLimit = 16

    let loop: EventLoop
    let callers: CallerRegistry
    private var core: ClientCore
    private let origin = monotonicNanoseconds()
    private var connection: Connection?
    private var timer: (id: EventLoop.TimerID, at: Duration)?
    /// Events raised while an earlier one is being handled (a connect that completes at once), handled in order.
    private var queuedEvents: [ClientEvent] = []
    private var isHandling = false
    private var readChunk = [UInt8](repeating: 0, count: readChunkBytes)
    private let replyBytesLimit: Int
    /// Whether the core settled every request it was given before the loop stopped (`finishClose`).
    private var isSettled = false

    /// One TCP connection to a node, and what is still to be written on it.
    private final class Connection {
        var registration: EventLoop.Registration?
        var isConnecting: Bool
        var outgoing: [UInt8] = []
        var sentCount = 0
        var isFlushQueued = false
        var decoder: RESPReplyDecoder

        init(isConnecting: Bool, replyBytesLimit: Int) {
            self.isConnecting = isConnecting
            decoder = RESPReplyDecoder(replyBytesLimit: replyBytesLimit)
        }
    }

    init(loop: EventLoop, core: ClientCore, callers: CallerRegistry) {
        self.loop = loop
        self.core = core
        self.callers = callers
        replyBytesLimit = core.configuration.replyBytesLimit
    }

    /// Runs the loop on the calling thread until the client finishes, then answers anyone left and releases it all.
    func run() {
        guard loop.execute({ [self] in handle(.started) }) else { return callers.finish(leftover: .closed) }
        do throws(SystemError) {
            try loop.run()
        } catch {
            // epoll_wait failing is a bug, not an operating condition; the callers still hear, below.
        }
        // After a settled close, a caller still registered handed its request over too late for the core: never
        // sent. Otherwise (the loop failed) its request may have been in flight.
        callers.finish(leftover: isSettled ? .closed : .outcomeUnknown(.closed))
        connection = nil
        loop.shutdown()
    }

    // MARK: Events

    func submit(_ id: RequestID, _ command: RESPCommand) { handle(.requestSubmitted(id, command)) }
    func cancel(_ id: RequestID) { handle(.requestCancelled(id)) }
    func close() { handle(.closeRequested) }

    private var now: Duration { .nanoseconds(Int64(monotonicNanoseconds() &- origin)) }

    private func handle(_ event: ClientEvent) {
        queuedEvents.append(event)
        guard !isHandling else { return }
        isHandling = true
        while !queuedEvents.isEmpty {
            let next = queuedEvents.removeFirst()
            for action in core.handle(next, at: now) { perform(action) }
        }
        isHandling = false
        rearmTimer()
    }

    private func perform(_ action: ClientAction) {
        switch action {
        case .connect(let address):
            connect(to: address)
        case .send(let bytes):
            guard let connection else { return }
            connection.outgoing += bytes
            queueFlush(connection)
        case .disconnect:
            if let registration = connection?.registration { loop.close(registration) }
            connection = nil
        case .complete(let id, let result):
            callers.complete(id, result)
        case .finishClose:
            isSettled = true
            if let timer { loop.cancel(timer.id) }
            timer = nil
            loop.stop()
        }
    }

    private func rearmTimer() {
        let wanted = core.nextWakeup
        guard timer?.at != wanted else { return }
        if let timer { loop.cancel(timer.id) }
        timer = nil
        guard let wanted else { return }
        let deadline = origin &+ UInt64(max(0, wanted.nanoseconds))
        let id = loop.schedule(at: deadline) { [unowned self] in
            timer = nil
            handle(.timerFired)
        }
        timer = (id, wanted)
    }

    // MARK: The connection

    private func connect(to address: SocketAddress) {
        let progress: TCP.ConnectProgress
        do {
            progress = try TCP.connect(to: address)
        } catch {
            return handle(.connectionFailed(.connectFailed(error.description)))
        }
        let isConnecting: Bool
        if case .inProgress = progress { isConnecting = true } else { isConnecting = false }
        let connection = Connection(isConnecting: isConnecting, replyBytesLimit: replyBytesLimit)
        do {
            connection.registration = try loop.register(
                progress.descriptor, interest: isConnecting ? .writable : .readable
            ) { [unowned self, unowned connection] events in
                ready(connection, events)
            }
        } catch {
            try? progress.descriptor.close()  // the registration error is the one worth reporting
            return handle(.connectionFailed(.connectFailed(error.description)))
        }
        self.connection = connection
        if !isConnecting { handle(.connected) }
    }

    private func ready(_ connection: Connection, _ events: EventLoop.Events) {
        guard self.connection === connection, let registration = connection.registration else { return }
        if connection.isConnecting {
            do throws(SystemError) {
                guard let descriptor = loop.descriptor(of: registration) else { return }
                try TCP.completeConnect(descriptor)
                connection.isConnecting = false
                try loop.setInterest(connection.outgoing.isEmpty ? .readable : [.readable, .writable], for: registration)
            } catch {
                return handle(.connectionFailed(.connectFailed(error.description)))
            }
            return handle(.connected)
        }
        if events.contains(.writable) { flush(connection) }
        if self.connection === connection, !events.isDisjoint(with: [.readable, .hangup, .error]) {
            read(connection)
        }
    }

    private func read(_ connection: Connection) {
        guard let registration = connection.registration, let descriptor = loop.descriptor(of: registration) else {
            return
        }
        for _ in 0..<Self.readsPerEventLimit {
            let result = readChunk.withUnsafeMutableBytes { chunk in
                Result { () throws(SystemError) in try descriptor.read(into: chunk) }
            }
            guard case .success(let count) = result, count != 0 else { return handle(.connectionFailed(.lost)) }
            guard let count else { return }
            connection.decoder.append(readChunk[..<count])
            while self.connection === connection {
                let reply: RESPReply?
                do {
                    reply = try connection.decoder.next()
                } catch {
                    return handle(.connectionFailed(.undecodable(error)))
                }
                guard let reply else { break }
                handle(.replyArrived(reply))
            }
            guard self.connection === connection else { return }
        }
    }

    private func queueFlush(_ connection: Connection) {
        guard !connection.isFlushQueued, !connection.isConnecting else { return }
        connection.isFlushQueued = true
        loop.runAfterRound { [unowned self] in
            connection.isFlushQueued = false
            flush(connection)
        }
    }

    private func flush(_ connection: Connection) {
        guard self.connection === connection, !connection.isConnecting, let registration = connection.registration,
            let descriptor = loop.descriptor(of: registration)
        else { return }
        while connection.sentCount < connection.outgoing.count {
            let offset = connection.sentCount
            let result = connection.outgoing.withUnsafeBytes { bytes in
                Result { () throws(SystemError) in try descriptor.send(UnsafeRawBufferPointer(rebasing: bytes[offset...])) }
            }
            switch result {
            case .failure:
                return handle(.connectionFailed(.lost))
            case .success(nil):
                // Full socket buffer: writability brings us back.
                try? loop.setInterest([.readable, .writable], for: registration)  // failing means the socket is gone; the read says so
                return
            case .success(let sent?):
                connection.sentCount += sent
            }
        }
        connection.outgoing.removeAll(keepingCapacity: true)
        connection.sentCount = 0
        try? loop.setInterest(.readable, for: registration)  // failing means the socket is gone; the read says so
    }
}
