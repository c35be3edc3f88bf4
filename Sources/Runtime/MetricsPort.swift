import Posix
import Replication

/// The node's Prometheus endpoint: an HTTP/1.1 listener on the node's own event loop, answering `GET /metrics`.
///
/// It lives on the loop because what it shows is the loop's: the status requests are routed by
/// (`StatusPublisher.routingStatus`) and the runtime's counters, read where they are kept, with no lock and no copy
/// of the replicated state. So its work must stay small and bounded, whoever connects:
///
/// - at most `RuntimeConfiguration.metricsConnectionsLimit` connections at once; more are answered 503 and closed;
/// - at most `metricsRequestHeadBytesLimit` bytes of request head held per connection (431 past it), no body (413);
/// - one request per connection (`Connection: close`); bytes after it are read and dropped, never buffered;
/// - one deadline per connection, `metricsRequestDeadline` from its accept to its close: a client that sends its
///   request a byte at a time (a slowloris), or does not read its response, is closed when it passes.
///
/// Rendering reads a status and a few dozen counters, so its cost does not grow with the state; the response is a
/// few kilobytes, written at once or as the socket takes it.
final class MetricsPort {
    /// One metrics connection, from accept to close.
    final class Connection {
        let registration: EventLoop.Registration
        /// Request bytes so far; at most `headBytesLimit` plus one read.
        var input: [UInt8] = []
        /// The response not yet taken by the kernel, from `outputOffset` on.
        var output: [UInt8] = []
        var outputOffset = 0
        /// A response is queued: later bytes are dropped, and the connection closes once the client does.
        var hasResponded = false
        var deadline: EventLoop.TimerID?
        var isClosed = false

        init(registration: EventLoop.Registration) {
            self.registration = registration
        }
    }

    /// Bytes taken from a metrics socket per read; a request head fits in one or two.
    static var readBufferBytes: Int { 4 << 10 }

    /// Where the listener is bound (port 0 resolved).
    let address: SocketAddress
    private let loop: EventLoop
    private let log: @Sendable (RuntimeEvent) -> Void
    private let counters: CounterStore
    private let publisher: StatusPublisher
    private let password: MetricsPassword?
    private let deadline: Duration
    private let headBytesLimit: Int
    private let connectionsLimit: Int
    /// Client connections open now; the client port owns them, so the driver sets this once.
    var openClientConnections: () -> Int = { 0 }

    private var listener: EventLoop.Registration?
    /// Keyed by registration; at most `connectionsLimit` entries.
    private var connections: [EventLoop.Registration: Connection] = [:]
    private let readBuffer: UnsafeMutableRawBufferPointer

    /// Takes the bound `listener` (see `EventLoop.listen(on:addressText:role:)`) and starts watching it; closes it on failure.
    init(
        listener socket: FileDescriptor, address: SocketAddress, configuration: RuntimeConfiguration,
        publisher: StatusPublisher, counters: CounterStore, loop: EventLoop,
        log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) {
        self.address = address
        self.loop = loop
        self.log = log
        self.counters = counters
        self.publisher = publisher
        password = MetricsPassword(configuration.metricsPassword)
        deadline = configuration.metricsRequestDeadline
        headBytesLimit = RuntimeConfiguration.metricsRequestHeadBytesLimit
        connectionsLimit = RuntimeConfiguration.metricsConnectionsLimit
        readBuffer = .allocate(byteCount: Self.readBufferBytes, alignment: 16)
        do {
            listener = try loop.register(socket, interest: .readable) { [weak self] _ in self?.accept() }
        } catch {
            try? socket.close()  // the registration error is the one worth reporting
            readBuffer.deallocate()
            throw .eventLoopFailed(error)
        }
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Accepting

    private func accept() {
        guard let listener else { return }
        loop.acceptPending(on: listener, role: "metrics", log: log) { socket in
            guard connections.count < connectionsLimit else {
                let response = MetricsResponse.refusal(.tooManyConnections(limit: connectionsLimit))
                response.bytes.withUnsafeBytes { _ = try? socket.send($0) }  // best effort: closed either way
                try? socket.close()  // nothing is left to tell
                countRefusal(.tooManyConnections(limit: connectionsLimit))
                return
            }
            adopt(socket)
        }
    }

    private func adopt(_ socket: FileDescriptor) {
        var adopted: Connection?
        let registration: EventLoop.Registration
        do {
            registration = try loop.register(socket, interest: .readable) { [weak self] events in
                guard let self, let connection = adopted else { return }
                handle(events, on: connection)
            }
        } catch {
            try? socket.close()  // the registration error is the one worth logging
            log(.acceptFailed(role: "metrics", error))
            return
        }
        let connection = Connection(registration: registration)
        adopted = connection
        connections[registration] = connection
        connection.deadline = loop.schedule(after: deadline) { [weak self, weak connection] in
            guard let self, let connection else { return }
            connection.deadline = nil
            deadlinePassed(connection)
        }
    }

    // MARK: One exchange

    private func handle(_ events: EventLoop.Events, on connection: Connection) {
        guard !connection.isClosed else { return }
        if events.contains(.writable) { flush(connection) }
        if !connection.isClosed, !events.isDisjoint(with: [.readable, .hangup, .error]) { read(connection) }
    }

    private func read(_ connection: Connection) {
        guard let descriptor = loop.descriptor(of: connection.registration) else { return }
        let count: Int?
        do {
            count = try descriptor.read(into: readBuffer)
        } catch {
            close(connection)  // a reset: nobody to answer
            return
        }
        guard let count else { return }
        if count == 0 {
            // A client that shut its side after the request still reads: finish writing, then close (`flush`
            // watches for this end of stream again once it is done).
            if connection.outputOffset < connection.output.count {
                watch(connection, .writable)
                return
            }
            // The client is done: after a response that is the end; before one, it gave up and there is no one
            // to answer (a half-closed client cannot be told apart from a gone one cheaply, and neither needs one).
            close(connection)
            return
        }
        if connection.hasResponded { return }  // dropped: one request per connection
        connection.input.append(contentsOf: UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
        let parsed: Result<MetricsRequest, MetricsRequestError>
        do {
            guard let request = try MetricsRequest.parse(connection.input, headBytesLimit: headBytesLimit) else {
                return  // more to come, within the deadline
            }
            parsed = .success(request)
        } catch {
            parsed = .failure(error)
        }
        let response = MetricsResponse.answer(parsed, password: password) { render() }
        if let refusal = response.refusal {
            countRefusal(refusal)
        } else {
            counters.values.metricsScrapes += 1
        }
        respond(connection, with: response.bytes)
    }

    /// The exposition of what the loop knows now.
    private func render() -> String {
        MetricsExposition.render(
            MetricsExposition.Snapshot(
                status: publisher.routingStatus.status, counters: publisher.currentCounters(),
                openClientConnections: openClientConnections()))
    }

    private func respond(_ connection: Connection, with bytes: [UInt8]) {
        connection.hasResponded = true
        connection.input = []
        connection.output = bytes
        connection.outputOffset = 0
        flush(connection)
    }

    /// Writes what the socket takes; once all is written, sends FIN and waits for the client's (reading and
    /// dropping anything it still sends, so that closing never resets a response still on its way).
    private func flush(_ connection: Connection) {
        guard let descriptor = loop.descriptor(of: connection.registration) else { return }
        while connection.outputOffset < connection.output.count {
            let written: Int?
            do {
                written = try connection.output.withUnsafeBytes { bytes throws(SystemError) in
                    try descriptor.send(UnsafeRawBufferPointer(rebasing: bytes[connection.outputOffset...]))
                }
            } catch {
                close(connection)  // the client is gone
                return
            }
            guard let written else {
                watch(connection, [.readable, .writable])
                return
            }
            connection.outputOffset += written
        }
        connection.output = []
        connection.outputOffset = 0
        do {
            try TCP.shutdownWrites(descriptor)
        } catch {
            close(connection)  // the client is gone
            return
        }
        watch(connection, .readable)
    }

    private func watch(_ connection: Connection, _ interest: EventLoop.Interest) {
        do {
            try loop.setInterest(interest, for: connection.registration)
        } catch {
            close(connection)  // cannot watch it: nothing more can be done for it
        }
    }

    private func deadlinePassed(_ connection: Connection) {
        guard !connection.isClosed else { return }
        if !connection.hasResponded {
            // Best effort, and only when nothing else was written: the client is slow, not necessarily gone.
            let response = MetricsResponse.refusal(.deadlinePassed(deadline))
            if let descriptor = loop.descriptor(of: connection.registration) {
                response.bytes.withUnsafeBytes { _ = try? descriptor.send($0) }
            }
            countRefusal(.deadlinePassed(deadline))
        } else if connection.outputOffset < connection.output.count {
            countRefusal(.deadlinePassed(deadline))  // it did not take its response
        }
        close(connection)
    }

    private func close(_ connection: Connection) {
        guard !connection.isClosed else { return }
        connection.isClosed = true
        if let timer = connection.deadline { loop.cancel(timer) }
        connection.deadline = nil
        connections[connection.registration] = nil
        loop.close(connection.registration)
    }

    /// Counts a refusal by kind and logs the first of each kind and every `MetricsRefusal.logEvery`th.
    private func countRefusal(_ refusal: MetricsRefusal) {
        let total = (counters.values.metricsRefusals[refusal.code] ?? 0) + 1
        counters.values.metricsRefusals[refusal.code] = total
        if total == 1 || total % UInt64(MetricsRefusal.logEvery) == 0 {
            log(.metricsRefused(refusal, total: Int(total)))
        }
    }
}
