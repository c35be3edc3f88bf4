import Glibc
import LogChannel
import Posix
import Replication

/// The client side of a node: the listener, every client connection, and the round's batch of commands.
///
/// It reads each readable connection once per round and parses every complete request into that connection's
/// reply pipeline: local requests are answered at once, replicated ones get a tag and join the round's batch,
/// which the driver takes at the round's end (`takeBatch`) and hands to the core in one event. Replies the core
/// releases or rejects fill their slots by tag, and each connection with new replies gets one `send` after the
/// round (`ClientPort+Replies.swift`). It exists so that the wire protocol, the connection table and the client
/// bounds live in one place, apart from the core and the channel.
///
/// Its bounds come from `RuntimeConfiguration`: at most `clientConnectionsLimit` connections (more are refused
/// with the protocol's rejection), `clientPendingRepliesLimit` requests in flight per connection, a batch of
/// `intakeBatchLimit` commands and about `intakeBatchBytesLimit` bytes (a connection that would overflow it waits
/// in the backlog), `clientOutputBytesLimit` of unread replies and `clientQueryBufferBytesLimit` of unconsumed request
/// bytes per connection before it is dropped, and `clientIdleTimeout` of idleness (`ClientPort+Idle.swift`).
///
/// While the core has paused intake (its unacked log is full, or it lost its backup and waits for the arbiter)
/// connections stay readable, so `PING`, `INFO` and `ROLE` are answered at once. A replicated request parsed then
/// is parked on its connection (`ClientConnection.parkedCommand`) until intake resumes: it waits, neither executed
/// nor refused, because a pause is temporary and the client loses nothing by waiting, whereas a refusal would turn
/// every backpressure pause into errors. The connection is not read past it, so its replies still leave in request
/// order and the paused node holds at most one parked command per connection, each within the bounds above.
final class ClientPort<P: ClientProtocol> {
    typealias Client = ClientConnection<P.Session>

    /// Where a tag keeps its connection's index: `index << tagIndexShift | serial`.
    static var tagIndexShift: UInt64 { 40 }

    /// Where the listener is bound (port 0 resolved).
    let address: SocketAddress
    let clientProtocol: P
    let loop: EventLoop
    let log: @Sendable (RuntimeEvent) -> Void
    let counters: CounterStore
    /// What requests are routed by and what a rejection names.
    let publisher: StatusPublisher
    /// Told when a connection closes while the node exits; set by the driver.
    weak var exitDrain: ExitDrain?
    /// The state machine's digest, for the protocol's debug command; the core owns the machine, so the driver
    /// sets this once.
    var digest: () -> UInt64? = { nil }

    let connectionsLimit: Int
    let pendingRepliesLimit: Int
    let outputBytesLimit: Int
    let queryBufferBytesLimit: Int
    let batchLimit: Int
    let batchBytesLimit: Int
    /// A replicated command must fit the largest log entry the peer accepts and the durable log holds.
    let commandBytesLimit: Int

    var listener: EventLoop.Registration?
    /// Indexed by `ClientConnection.index`; at most `connectionsLimit` live entries.
    var clients: [Client?] = []
    var freeIndices: [Int] = []
    var connectionCount = 0
    var nextClientID: UInt64 = 1
    var nextTagSerial: UInt64 = 1
    /// One buffer for every client read: no allocation per read.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// This round's replicated commands; at most `batchLimit` commands and about `batchBytesLimit`.
    var batch: [ClientCommand] = []
    var batchBytes = 0
    /// Handled commands' arrays, which the protocol may reuse for the next requests' encodings
    /// (`recycleBatch`); at most `batchLimit` of them, each of at most `spareBufferBytesLimit` bytes.
    var spareBuffers: [[UInt8]] = []
    /// Longer arrays are freed: a short request's is reused for another.
    static var spareBufferBytesLimit: Int { 512 }
    // The three lists below hold each connection at most once (a flag on the connection says whether it is
    // listed), so they are bounded by `connectionsLimit`; closed connections are skipped and dropped.
    /// Connections with complete requests left unparsed because the batch or their pipeline was full.
    var backlog: [Client] = []
    /// Connections holding a command parked while intake was paused, in parking order: at resume they join the
    /// backlog, so the parked commands go into the next batches first.
    var pausedClients: [Client] = []
    /// Connections with replies to write at the end of this round.
    var flushList: [Client] = []
    /// The list being written; kept, with `flushList`, so that a round allocates no list.
    var flushing: [Client] = []
    var isFlushQueued = false
    /// Runs `flushClients()`; made once, in `init`, so queueing it each round allocates nothing.
    var flushTask: () -> Void = {}
    var isIntakePaused = false
    /// Warns the peer of a step over this many bytes (`ChannelPort.announceBusy`); set by the driver.
    var announceBusy: (Int) -> Void = { _ in }
    var isWakeArmed = false
    var refusedConnections = 0
    /// The node is exiting: connections are drained (see `ExitDrain`), and replicated requests refused with
    /// `drainRefusalReason`.
    var isDraining = false
    var drainRefusalReason = ""
    /// Zero: idle connections stay open (see `RuntimeConfiguration.clientIdleTimeout`).
    let idleTimeout: Duration
    /// Connections listening for notices (`ClientConnection.isListening`); at most `connectionsLimit`.
    var listeningCount = 0
    /// Tags of `.broadcast` commands whose replies are still to come; each holds a reply slot, so the connections'
    /// pipeline bounds bound it.
    var broadcastTags: Set<UInt64> = []
    /// Connections whose blocking command is unanswered (`ClientPort+Blocking`), by connection id; at most
    /// `connectionsLimit`.
    var blockedClients: [UInt64: Client] = [:]
    /// A connection has sent a blocking command: from then on every released reply is asked whether it is routed
    /// (`ClientPort+Blocking`), since the state may hold a waiter whose connection is gone (its unblock request
    /// refused, say) and the entry serving it must still reach its own asker plain.
    var hasBlocked = false
    /// Connections monitoring (`ClientConnection.isMonitoring`); at most `connectionsLimit`.
    var monitoringCount = 0
    /// The status at the last role change (or at start), which the next role-change notice is worded against;
    /// the driver sets it once the core exists.
    var noticedStatus: NodeStatus?

    /// Takes the bound `listener` (see `EventLoop.listen(on:addressText:role:)`) and starts watching it; closes it on
    /// failure.
    init(
        listener socket: FileDescriptor, address: SocketAddress, clientProtocol: P, configuration: RuntimeConfiguration,
        publisher: StatusPublisher, counters: CounterStore, loop: EventLoop,
        log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) {
        self.address = address
        self.clientProtocol = clientProtocol
        self.loop = loop
        self.log = log
        self.counters = counters
        self.publisher = publisher
        connectionsLimit = configuration.clientConnectionsLimit
        pendingRepliesLimit = configuration.clientPendingRepliesLimit
        outputBytesLimit = configuration.clientOutputBytesLimit
        queryBufferBytesLimit = configuration.clientQueryBufferBytesLimit
        idleTimeout = configuration.clientIdleTimeout
        batchLimit = configuration.node.primaryLimits.intakeBatchLimit
        batchBytesLimit = configuration.intakeBatchBytesLimit
        commandBytesLimit = configuration.entryBytesLimit - RuntimeConfiguration.entryOverheadBytesLimit
        readBuffer = .allocate(byteCount: configuration.clientReadBufferBytes, alignment: 16)
        do {
            listener = try loop.register(socket, interest: .readable) { [unowned self] _ in acceptClients() }
        } catch {
            try? socket.close()  // the registration error is the one worth reporting
            throw .eventLoopFailed(error)
        }
        flushTask = { [unowned self] in flushClients() }
        if idleTimeout > .zero { scheduleIdleSweep() }
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Reading and parsing

    func clientEvent(_ events: EventLoop.Events, at index: Int) {
        guard let client = clients[index], !client.isClosed else { return }
        if !events.isDisjoint(with: [.hangup, .error]) {
            // A reset (or both directions shut): nothing can reach the client any more.
            closeClient(client)
            return
        }
        if events.contains(.writable) { flush(client) }
        if events.contains(.readable), !client.isClosed { read(client) }
    }

    /// Whether the client's socket should be read. A paused intake reads on, up to a parked command (see the type's
    /// comment); a draining port reads on too (see `ExitDrain`): a request left unread would be cut off when the
    /// connection closes. A blocked connection is read (its query buffer bounded as always) but not parsed, so its
    /// close is seen while it waits.
    private func isReadable(_ client: Client) -> Bool {
        !client.isClosed && !client.isBacklogged && !client.pipeline.isFull && !client.isInputClosed
            && !client.isClosingAfterOutput && client.parkedCommand == nil
    }

    /// Sets the client's epoll interest from its state; cheap when nothing changes.
    func updateInterest(_ client: Client) {
        guard !client.isClosed else { return }
        var interest: EventLoop.Interest = []
        if isReadable(client) { interest.insert(.readable) }
        if client.unwrittenOutputBytes > 0 { interest.insert(.writable) }
        guard interest != client.watchedInterest else { return }
        do {
            try loop.setInterest(interest, for: client.registration)
            client.watchedInterest = interest
        } catch {
            log(.clientClosed(id: client.id, .cannotWatch(error)))
            closeClient(client)
        }
    }

    func read(_ client: Client) {
        guard isReadable(client) else {
            // Turned off lazily: only connections that speak while they may not be read cost an epoll_ctl.
            updateInterest(client)
            return
        }
        guard let descriptor = loop.descriptor(of: client.registration) else { return }
        let count: Int?
        do {
            count = try descriptor.read(into: readBuffer)
        } catch {
            closeClient(client)  // a reset client: nobody to tell
            return
        }
        guard let count else { return }
        if isDraining { client.lastActivityNanoseconds = monotonicNanoseconds() }
        if count == 0 {
            // End of stream: answer what was asked, then close (a client may shut down its sending side and
            // wait for the replies).
            client.isInputClosed = true
            // A blocked client that leaves is gone, as Redis frees it: its wait ends rather than takes elements
            // nobody would read.
            if client.isDone || client.blockingTag != nil { closeClient(client) } else { updateInterest(client) }
            return
        }
        client.isQuietSinceSweep = false
        clientProtocol.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<count]), to: &client.session)
        let buffered = clientProtocol.bufferedByteCount(of: client.session)
        guard buffered <= queryBufferBytesLimit else {
            closeRefusing(client, .queryBufferOverflowed(bytes: buffered, limit: queryBufferBytesLimit))
            return
        }
        // Parsing a large request copies it whole; the peer must not take the time that takes for a crash.
        if buffered >= BusyNotice.thresholdBytes { announceBusy(buffered) }
        parse(client)
    }

    /// Parses every complete request the client has sent, until its pipeline or the round's batch is full (then
    /// it joins the backlog and is parsed again next round, before new reads), or, while intake is paused, up to
    /// the first replicated request (parked until resume).
    func parse(_ client: Client) {
        // Nothing below changes it: the core sees these requests at the round's end. Borrowed from the snapshot: a
        // copy would retain every string in it, once per client per round.
        publisher.routingStatus.withStatus { status in parse(client, status: status) }
    }

    private func parse(_ client: Client, status: borrowing NodeStatus) {
        var hasNewReplies = false
        if client.parkedCommand != nil {
            guard unpark(client, status: status, hasNewReplies: &hasNewReplies) else {
                if hasNewReplies { queueFlush(client) }
                updateInterest(client)
                return
            }
        }
        parsing: while !client.isClosed, !client.isClosingAfterOutput, client.blockingTag == nil {
            // While paused, a replicated request parks instead of joining the batch, so a full batch stops nothing.
            if client.pipeline.isFull || (batch.count >= batchLimit || batchBytes >= batchBytesLimit) && !isIntakePaused {
                if !client.isBacklogged {
                    client.isBacklogged = true
                    backlog.append(client)
                }
                break
            }
            guard
                let request = clientProtocol.nextRequest(
                    from: &client.session, status: status, spareBuffers: &spareBuffers, digest: { digest() })
            else { break }
            counters.values.clientRequests &+= 1
            // Consumed: its bytes move on, rather than being copied and the request destroyed.
            switch consume request {
            case .local(let reply):
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
            case .quit(let reply):
                client.pipeline.appendFilled(reply)
                client.isClosingAfterOutput = true
                hasNewReplies = true
                break parsing
            case .listen(let reply, let isListening):
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
                setListening(client, isListening)
            case .monitor(let reply):
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
                setListening(client, true)
                setMonitoring(client, true)
            case .aboutConnections(let query):
                client.pipeline.appendFilled(answerAboutConnections(query, from: client, status: status))
                hasNewReplies = true
                if client.isClosingAfterOutput { break parsing }
            case .malformed(let reply):
                log(.clientClosed(id: client.id, .brokeProtocol))
                client.pipeline.appendFilled(reply)
                client.isClosingAfterOutput = true
                hasNewReplies = true
                break parsing
            case .replicated where isDraining, .broadcast where isDraining, .blocking where isDraining:
                // Nothing reaches the core any more, so this command will never run: say so, and where to go.
                let reply = clientProtocol.rejectionReply(reason: drainRefusalReason, status: status)
                clientProtocol.noteRejections(reply, count: 1)
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
            case .replicated(let bytes):
                if !intake(bytes, from: client, status: status, hasNewReplies: &hasNewReplies) { break parsing }
            case .broadcast(let bytes):
                if !intake(bytes, from: client, status: status, isBroadcast: true, hasNewReplies: &hasNewReplies) {
                    break parsing
                }
            case .blocking(let bytes, let timeout):
                // Parsed no further until answered (`ClientPort+Blocking`), whether it joins the batch or parks.
                _ = intake(bytes, from: client, status: status, blockingTimeout: .some(timeout), hasNewReplies: &hasNewReplies)
                break parsing
            }
        }
        if hasNewReplies { queueFlush(client) }
        updateInterest(client)
    }

    /// Hands a replicated command to the round's batch (or parks it while intake is paused: then false, and the
    /// client's parsing stops), its reply slot awaiting the core's release; a broadcast's tag is remembered, so its
    /// release goes to the listeners first (`ClientPort+Broadcasts`).
    private func intake(
        _ bytes: [UInt8], from client: Client, status: NodeStatus, isBroadcast: Bool = false,
        blockingTimeout: Duration?? = nil, hasNewReplies: inout Bool
    ) -> Bool {
        guard bytes.count <= commandBytesLimit else {
            // The protocol promised `replicatedBytesLimit`; refuse rather than send a frame the peer rejects.
            let reason = "the command's \(bytes.count) bytes do not fit a log entry"
            let reply = clientProtocol.rejectionReply(reason: reason, status: status)
            clientProtocol.noteRejections(reply, count: 1)
            client.pipeline.appendFilled(reply)
            hasNewReplies = true
            return true
        }
        let tag = UInt64(client.index) << Self.tagIndexShift | nextTagSerial
        // Serials wrap after 2^40 commands; by then no reply from the first lap can still be pending.
        nextTagSerial = nextTagSerial >= (1 << Self.tagIndexShift) - 1 ? 1 : nextTagSerial + 1
        client.pipeline.appendAwaiting(tag: tag)
        client.unhandedCount += 1
        if isBroadcast { broadcastTags.insert(tag) }
        if let blockingTimeout { noteBlocking(client, tag: tag, timeout: blockingTimeout) }
        if isIntakePaused {
            client.parkedCommand = ClientCommand(tag: tag, bytes: bytes)
            listAsPaused(client)
            return false
        }
        batch.append(ClientCommand(tag: tag, bytes: bytes))
        batchBytes += bytes.count
        return true
    }

    /// Moves the client's parked command into the batch, or refuses it while draining (it never reached the core);
    /// false when it must wait on: intake still paused, or the batch full (the client joins the backlog).
    private func unpark(_ client: Client, status: NodeStatus, hasNewReplies: inout Bool) -> Bool {
        guard let command = client.parkedCommand else { return true }
        if isDraining {
            client.parkedCommand = nil
            client.unhandedCount -= 1
            let reply = clientProtocol.rejectionReply(reason: drainRefusalReason, status: status)
            clientProtocol.noteRejections(reply, count: 1)
            client.pipeline.fill(tag: command.tag, with: reply[...])
            hasNewReplies = true
            return true
        }
        if isIntakePaused {
            listAsPaused(client)
            return false
        }
        if batch.count >= batchLimit || batchBytes >= batchBytesLimit {
            if !client.isBacklogged {
                client.isBacklogged = true
                backlog.append(client)
            }
            return false
        }
        client.parkedCommand = nil
        batch.append(command)
        batchBytes += command.bytes.count
        return true
    }

    private func listAsPaused(_ client: Client) {
        guard !client.isListedAsPaused else { return }
        client.isListedAsPaused = true
        pausedClients.append(client)
    }
}
