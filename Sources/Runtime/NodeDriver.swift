import Arbiter
import Glibc
import LogChannel
import Node
import Posix
import Replication
import Synchronization

/// What the loop thread shares with other threads: the published status and the crash switch.
final class RuntimeShared: Sendable {
    struct Published: Sendable {
        var status: NodeStatus
        var counters: RuntimeCounters
    }

    /// Refreshed at most `NodeDriver.publishIntervalNanoseconds` apart, and at once after a role change.
    let published: Mutex<Published>
    /// Set by `crash()` from any thread: from then on the loop does nothing more than finish its round.
    let isCrashed = Atomic<Bool>(false)

    init(status: NodeStatus) {
        published = Mutex(Published(status: status, counters: RuntimeCounters()))
    }
}

/// Drives one `NodeCore` with real sockets, timers and the arbiter, entirely on one event-loop thread.
///
/// A round of the loop flows like this (IO-FINDINGS: batch both directions, one write per peer per round):
///
/// 1. Readable client sockets are read once each; every complete request is parsed at once. Local answers fill
///    their reply slot; replicated ones get a tag and join this round's batch (at most `intakeBatchLimit`
///    commands and `intakeBatchBytesLimit` bytes; a connection that would overflow it is backlogged).
///    Logging-channel reads deliver their frames to the core straight away (acks first free the transport's
///    send buffer), and so do timers and arbiter answers posted by the arbiter thread.
/// 2. The round-end hook hands the whole batch to the core in one `.commandsArrived`, performs the actions,
///    then parses backlogged connections into the next batch (they go first next round).
/// 3. After the hook, each channel writes its frames in one `send`, and each client with new replies gets one
///    `send` of everything that may leave, in request order.
///
/// Every event reaches the core through `drive`, which queues events raised while actions are being performed,
/// so actions always run in the order the core gave them. Nothing here takes a lock except the status
/// publication, at most once a millisecond.
final class NodeDriver<P: ClientProtocol>: @unchecked Sendable {  // unchecked: loop-thread state, like EventLoop
    typealias Client = ClientConnection<P.Session>

    let configuration: RuntimeConfiguration
    let channelConfiguration: ChannelConnection.Configuration
    let clientProtocol: P
    let loop: EventLoop
    let shared: RuntimeShared
    let log: @Sendable (RuntimeEvent) -> Void
    let arbiter: ArbiterWorker
    var core: NodeCore<P.Machine>

    /// Where the listeners are bound (port 0 resolved).
    let clientAddress: SocketAddress
    let channelAddress: SocketAddress

    // MARK: Core driving (loop thread)

    /// Events raised while performing actions (a dial that fails at once, say), handled after those actions;
    /// at most one per action of the event being performed.
    var pendingEvents: [NodeEvent] = []
    /// The actions of the event being performed; kept between events so that driving one allocates no array.
    var actions: [NodeAction] = []
    var isDriving = false
    var coreTimer: EventLoop.TimerID?
    var coreTimerDeadline: Instant?
    /// The core's status as of this round (or the last role change in it), with counters at most
    /// `countersRefreshNanoseconds` older than that; what requests are routed by and INFO shows. Nil until first
    /// needed in a round: computing it per request or per event costs more than the request itself
    /// (Benchmarks/README.md).
    var cachedStatus: StatusSnapshot?
    var countersSnapshot: [String: UInt64] = [:]
    var countersSnapshotAt: UInt64 = 0
    /// Rebuilding the counters dictionary per round would cost more than the request it serves; INFO can be a
    /// millisecond behind.
    static var countersRefreshNanoseconds: UInt64 { 1_000_000 }
    var counters = RuntimeCounters()
    /// Other threads read the status for tests, `lockstep status` and the benchmark: a millisecond behind is
    /// fresh enough, and publishing every round took a quarter of the primary's CPU per request.
    static var publishIntervalNanoseconds: UInt64 { 1_000_000 }
    var publishedAt: UInt64 = 0
    /// Whether the core has handled an event since the last publication (its status may have changed).
    var hasUnpublishedEvents = false
    var publishedCounters = RuntimeCounters()
    var isPublishDue = false
    var isPublishTimerArmed = false
    var isWakeArmed = false

    // MARK: Channels (loop thread)

    /// Calls `framesArrived(_:on:)`. The delegate methods are reached through the witness table of a generic
    /// class, which runs unspecialised code; this closure is made in `init`, where the client protocol is known,
    /// so the path every ack and entry takes runs code specialised for the app (Benchmarks/README.md).
    var framesHandler: (ChannelConnection, [Frame]) -> Void = { _, _ in }

    /// A class, so finding one for each frame sent copies no fields.
    final class ChannelEntry {
        let connection: ChannelConnection
        let isDialed: Bool
        var isOpened = false
        /// The core closed it (or the node is exiting): its end is not reported to the core.
        var isClosedByCore = false
        var countedWrites = 0
        var countedFrames = 0

        init(connection: ChannelConnection, isDialed: Bool) {
            self.connection = connection
            self.isDialed = isDialed
        }
    }

    var channelListener: ChannelListener?
    /// At most `RuntimeConfiguration.channelConnectionsLimit`, usually one: a list, searched by id, because
    /// hashing an id for every frame sent cost more than the search.
    var channels: [ChannelEntry] = []

    // MARK: Clients (loop thread)

    /// Where a tag keeps its connection's index: `index << tagIndexShift | serial`.
    static var tagIndexShift: UInt64 { 40 }
    static var clientAcceptsPerEventLimit: Int { 16 }
    static var clientAcceptRetryDelay: Duration { .milliseconds(100) }

    var clientListener: EventLoop.Registration?
    /// Indexed by `ClientConnection.index`; at most `clientConnectionsLimit` live entries.
    var clients: [Client?] = []
    var freeClientIndices: [Int] = []
    var clientCount = 0
    var nextClientID: UInt64 = 1
    var nextTagSerial: UInt64 = 1
    /// One buffer for every client read: no allocation per read.
    let clientReadBuffer: UnsafeMutableRawBufferPointer
    /// This round's replicated commands; at most `intakeBatchLimit` commands and about `intakeBatchBytesLimit`.
    var batch: [ClientCommand] = []
    var batchBytes = 0
    // The three lists below hold each connection at most once (a flag on the connection says whether it is
    // listed), so they are bounded by `clientConnectionsLimit`; closed connections are skipped and dropped.
    /// Connections with complete requests left unparsed because the batch or their pipeline was full.
    var backlog: [Client] = []
    /// Connections whose reading was turned off while intake was paused, to turn on again at resume.
    var pausedClients: [Client] = []
    /// Connections with replies to write at the end of this round.
    var flushList: [Client] = []
    /// The list being written; kept, with `flushList`, so that a round allocates no list.
    var flushing: [Client] = []
    var isClientFlushQueued = false
    /// Runs `flushClients()`; made once, in `init`, so queueing it each round allocates nothing.
    var flushClientsTask: () -> Void = {}
    var isIntakePaused = false
    var refusedConnections = 0

    // MARK: Lifecycle (loop thread)

    var isExiting = false
    var isFinished = false
    var exitReason: ExitReason?
    var exitTimer: EventLoop.TimerID?
    /// How often an exiting node looks for drained client connections to close; a tenth of the default
    /// `clientDrainQuietLimit`, so a quiet connection goes at most that much later than its limit.
    static var drainSweepInterval: Duration { .milliseconds(10) }

    init(
        configuration: RuntimeConfiguration, clientProtocol: P, emptyMachine: P.Machine, arbiter: any Arbiter,
        entropy: any EntropySource, loop: EventLoop, log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) {
        var configuration = try configuration.checked(replicatedBytesLimit: clientProtocol.replicatedBytesLimit)
        guard configuration.clientConnectionsLimit <= 1 << 20 else {
            throw .invalidConfiguration("more than \(1 << 20) client connections")
        }
        let clientListen = try Self.parse(configuration.clientListenAddress, role: "client")
        let channelListen = try Self.parse(configuration.channelListenAddress, role: "logging channel")
        self.loop = loop
        self.log = log
        self.clientProtocol = clientProtocol
        self.channelConfiguration = configuration.channelConfiguration

        // The listeners' handlers need `self`, which exists only once every property is set; they reach it through
        // this box, filled before the loop can run a handler.
        let box = WeakBox<NodeDriver<P>>()

        // Both ports are bound now, so a busy port is an error before anything runs.
        let clientSocket: FileDescriptor
        do {
            clientSocket = try TCP.listen(on: clientListen)
            clientAddress = try TCP.localAddress(of: clientSocket)
        } catch {
            throw .cannotListen(role: "client", address: configuration.clientListenAddress, error)
        }
        do {
            clientListener = try loop.register(clientSocket, interest: .readable) { _ in box.value?.acceptClients() }
        } catch {
            try? clientSocket.close()  // the registration error is the one worth reporting
            throw .eventLoopFailed(error)
        }
        let listener: ChannelListener
        do {
            listener = try ChannelListener(on: channelListen, loop: loop, configuration: channelConfiguration) {
                box.value?.channelAccepted($0)
            }
        } catch {
            throw .cannotListen(role: "logging channel", address: configuration.channelListenAddress, error)
        }
        listener.onAcceptError = { box.value?.log(.acceptFailed(role: "logging channel", $0)) }
        channelListener = listener
        channelAddress = listener.address
        if configuration.node.channelAddress.hasSuffix(":0") {
            configuration.node.channelAddress = channelAddress.description
        }
        if configuration.node.clientAddress.hasSuffix(":0") {
            configuration.node.clientAddress = clientAddress.description
        }
        self.configuration = configuration
        core = NodeCore(configuration: configuration.node, emptyMachine: emptyMachine, entropy: entropy)
        shared = RuntimeShared(status: core.status)
        self.arbiter = ArbiterWorker(arbiter: arbiter)
        clientReadBuffer = .allocate(byteCount: configuration.clientReadBufferBytes, alignment: 16)
        box.value = self
        framesHandler = { box.value?.framesArrived($1, on: $0) }
        flushClientsTask = { box.value?.flushClients() }
        loop.addRoundEndHook { [weak self] in self?.roundEnded() }
    }

    deinit {
        clientReadBuffer.deallocate()
    }

    /// A weak reference that can be handed out before `self` exists.
    private final class WeakBox<Object: AnyObject> {
        weak var value: Object?
    }

    private static func parse(_ address: String, role: String) throws(RuntimeError) -> SocketAddress {
        do {
            return try SocketAddress(parsing: address)
        } catch {
            throw .invalidConfiguration("\(role) listen address: \(error)")
        }
    }

    // MARK: Starting and stopping

    /// Starts the arbiter thread and tells the core it started. Called by `run()` before the loop runs.
    func start() throws(RuntimeError) {
        do {
            // A strong capture: the thread ends in `finish()`, which `run()` always reaches.
            try arbiter.start { [self, loop] answer in
                loop.execute { self.drive(.arbiterAnswered(answer)) }
            }
        } catch {
            throw .cannotStartThread(error)
        }
        drive(.started)
        publish()
    }

    /// After the loop returned: stop the arbiter thread and publish the last status.
    func finish() {
        arbiter.halt()
        arbiter.join()
        var status = core.status
        if shared.isCrashed.load(ordering: .acquiring) {
            status.role = .stopped
            status.reason = "crashed"
        }
        let counters = counters
        shared.published.withLock { $0 = RuntimeShared.Published(status: status, counters: counters) }
    }

    // MARK: The core

    static func now() -> Instant { Instant(nanoseconds: monotonicNanoseconds()) }

    /// Hands one event to the core and performs its actions, in order; events raised meanwhile wait their turn.
    func drive(_ event: NodeEvent) {
        guard !isExiting, !shared.isCrashed.load(ordering: .relaxed) else { return }
        guard !isDriving else {
            pendingEvents.append(event)
            return
        }
        isDriving = true
        hasUnpublishedEvents = true
        handleAndPerform(event)
        var next = 0
        while next < pendingEvents.count, !isExiting {
            let event = pendingEvents[next]
            next += 1
            handleAndPerform(event)
        }
        pendingEvents.removeAllKeepingStorage()
        isDriving = false
        if isExiting {
            if let coreTimer { loop.cancel(coreTimer) }
            coreTimer = nil
        } else {
            rescheduleCoreTimer()
        }
    }

    private func handleAndPerform(_ event: NodeEvent) {
        actions.removeAllKeepingStorage()
        core.handle(event, at: Self.now(), into: &actions)
        performActions()
    }

    /// Performs `actions` in order. Nothing they lead to touches `actions`: events raised meanwhile wait in
    /// `pendingEvents`.
    private func performActions() {
        var exit: ExitReason?
        for index in actions.indices {
            // Taken, not copied (see `take(at:leaving:)`); the placeholder is never performed.
            switch actions.take(at: index, leaving: .pauseIntake) {
            case .readArbiter:
                ask(.read)
            case .takeEpoch(let epoch):
                ask(.take(epoch: epoch, claim: core.configuration.claim))
            case .dial(let address):
                dial(address)
            case .send(let channel, let frame):
                send(frame, on: channel)
            case .log(let channel, let epoch, let sequence, let entry):
                sendEntry(entry, epoch: epoch, sequence: sequence, on: channel)
            case .close(let channel):
                closeChannel(channel)
            case .release(let replies):
                release(replies)
            case .reject(let tags, let reason):
                reject(tags, reason: reason.description)
            case .discardWithheld(let reason):
                discardWithheld(reason: reason)
            case .pauseIntake:
                if !isIntakePaused {
                    isIntakePaused = true
                    counters.intakePauses += 1
                }
            case .resumeIntake:
                resumeIntake()
            case .roleChanged(let from, let to, let reason):
                cachedStatus = nil
                isPublishDue = true
                log(.roleChanged(from: from, to: to, epoch: core.status.epoch, reason: reason))
            case .note(let line):
                log(.note(line))
            case .exit(let reason):
                exit = reason
            }
        }
        if let exit { beginExit(reason: exit) }
    }

    private func ask(_ request: ArbiterWorker.Request) {
        guard !arbiter.submit(request) else { return }
        pendingEvents.append(.arbiterAnswered(.failed(.overloaded(queuedRequests: ArbiterWorker.pendingRequestsLimit))))
    }

    private func rescheduleCoreTimer() {
        let wanted = core.nextWakeup
        guard wanted != coreTimerDeadline || (wanted != nil && coreTimer == nil) else { return }
        if let coreTimer { loop.cancel(coreTimer) }
        coreTimer = nil
        coreTimerDeadline = wanted
        guard let wanted else { return }
        coreTimer = loop.schedule(at: wanted.nanoseconds) { [weak self] in
            guard let self else { return }
            coreTimer = nil
            coreTimerDeadline = nil
            drive(.timerFired)
        }
    }

    /// The status requests are routed by this round: the core's, plus recent counters.
    var routingStatus: StatusSnapshot {
        if let cachedStatus { return cachedStatus }
        var status = core.status
        if monotonicNanoseconds() &- countersSnapshotAt >= Self.countersRefreshNanoseconds {
            refreshCountersSnapshot()
        }
        status.counters = countersSnapshot
        let snapshot = StatusSnapshot(status)
        cachedStatus = snapshot
        return snapshot
    }

    /// A status handed around by reference: a `NodeStatus` read out of a class property is copied, retaining
    /// each of its strings and its counters, and parsing read it once per client read.
    final class StatusSnapshot {
        let status: NodeStatus

        init(_ status: NodeStatus) { self.status = status }
    }

    private func refreshCountersSnapshot() {
        countChannelStatistics()
        countersSnapshot = counters.dictionary
        countersSnapshotAt = monotonicNanoseconds()
    }

    // MARK: Rounds

    /// Makes the loop run another round soon even if nothing becomes ready: for work left for "next round".
    func armWakeNextRound() {
        guard !isWakeArmed else { return }
        isWakeArmed = true
        loop.schedule(at: 0) { [weak self] in self?.isWakeArmed = false }
    }

    /// The round-end hook: hand the batch to the core, refill it from the backlog, publish the status if due.
    private func roundEnded() {
        guard !isFinished, !shared.isCrashed.load(ordering: .relaxed) else { return }
        handBatchToCore()
        processBacklog()
        if !batch.isEmpty, !isIntakePaused, !isExiting { armWakeNextRound() }
        publishWhenDue()
        cachedStatus = nil  // the next round sees what this one did
    }

    /// Publishes this round after a role change or when the last publication is `publishIntervalNanoseconds` old
    /// (after the round's writes, which carry requests and replies: publishing is nobody's critical path);
    /// otherwise makes sure a timer publishes by then, so an idle loop's last changes are not left unpublished.
    private func publishWhenDue() {
        // Nothing new: no timer either, or an idle loop would publish (and wake) once a millisecond forever.
        guard isPublishDue || hasUnpublishedEvents || counters != publishedCounters else { return }
        let elapsed = monotonicNanoseconds() &- publishedAt
        if isPublishDue || elapsed >= Self.publishIntervalNanoseconds {
            loop.runAfterRound { [weak self] in
                guard let self, !isFinished else { return }
                publish()
            }
            return
        }
        guard !isPublishTimerArmed else { return }
        isPublishTimerArmed = true
        loop.schedule(at: publishedAt &+ Self.publishIntervalNanoseconds) { [weak self] in
            guard let self, !isFinished else { return }
            isPublishTimerArmed = false
            publish()
        }
    }

    /// Publishes the status for other threads (and the channel counters it includes).
    func publish() {
        countChannelStatistics()
        let status = cachedStatus?.status ?? core.status
        let counters = counters
        shared.published.withLock { $0 = RuntimeShared.Published(status: status, counters: counters) }
        publishedAt = monotonicNanoseconds()
        isPublishDue = false
        hasUnpublishedEvents = false
        publishedCounters = counters
    }

    // MARK: Exit

    /// The core is done (a stop completed, or a handover): let the channel drain, drain the clients, close
    /// everything, stop the loop; all within `exitLingerLimit`.
    ///
    /// Client connections are drained, not dropped: a connection closed with a request in flight leaves its client
    /// unable to tell whether the command ran. So reading goes on; every complete request that reached this node
    /// and was never executed (this round's batch, and whatever arrives from now on) is refused with the protocol's
    /// rejection reply, which promises it did nothing and names the node that took over; local requests are
    /// answered as usual, replies the core already released still leave, all in request order. A connection is
    /// closed when its client ends it, or once it has nothing outstanding and has been quiet for
    /// `clientDrainQuietLimit`, or at the linger deadline. Nothing reaches the core any more (`drive` ignores
    /// events once exiting), so no command is executed after the stop.
    private func beginExit(reason: ExitReason) {
        guard !isExiting else { return }
        isExiting = true
        exitReason = reason
        cachedStatus = nil  // from now on the status names the successor
        channelListener?.close()
        if let clientListener { loop.close(clientListener) }
        clientListener = nil
        // Commands never handed to the core were never executed: the client may safely retry them elsewhere.
        rejectBatch(reason: exitRefusalReason)
        resumeIntake()  // reading goes on during the drain, even if the core paused intake before it stopped
        let now = monotonicNanoseconds()
        for case let client? in clients {
            if client.handedCount > 0 {
                // Their outcome is unknown to this node; answering anything would be a guess. (A handover only
                // completes once every withheld reply is released, so after one there are none.)
                counters.clientConnectionsDropped += 1
                closeClient(client)
                continue
            }
            client.lastActivityNanoseconds = now
            if client.isBacklogged { armWakeNextRound() }
            queueFlush(client)
            updateInterest(client)
        }
        for entry in channels where !entry.isClosedByCore {
            entry.isClosedByCore = true
            // Flushing first: a handover frame must reach the backup, which then closes its end.
            entry.connection.close(flushingFirst: true)
        }
        exitTimer = loop.schedule(after: configuration.exitLingerLimit) { [weak self] in
            self?.exitTimer = nil
            self?.finishExit()
        }
        loop.schedule(after: Self.drainSweepInterval) { [weak self] in self?.sweepDrainedClients() }
        checkExitComplete()
    }

    /// What a client hears for a command an exiting node will not execute.
    var exitRefusalReason: String { "this node has stopped (\(exitReason?.description ?? "exiting"))" }

    /// While exiting: closes each connection with nothing outstanding that has been quiet for
    /// `clientDrainQuietLimit`, then looks again after `drainSweepInterval` until the exit finishes.
    private func sweepDrainedClients() {
        guard isExiting, !isFinished else { return }
        let quietNanoseconds = UInt64(max(0, configuration.clientDrainQuietLimit.nanoseconds))
        for case let client? in clients where client.hasNothingOutstanding {
            guard monotonicNanoseconds() &- client.lastActivityNanoseconds >= quietNanoseconds else { continue }
            // One last read: a request that arrived since the loop last looked is answered, not cut off (the
            // read renews the connection's activity, so it stays for another quiet period).
            read(client)
            guard !client.isClosed, client.hasNothingOutstanding,
                monotonicNanoseconds() &- client.lastActivityNanoseconds >= quietNanoseconds
            else { continue }
            closeClient(client)
        }
        checkExitComplete()
        guard !isFinished else { return }
        loop.schedule(after: Self.drainSweepInterval) { [weak self] in self?.sweepDrainedClients() }
    }

    func checkExitComplete() {
        guard isExiting, !isFinished, channels.isEmpty, clientCount == 0 else { return }
        finishExit()
    }

    private func finishExit() {
        guard !isFinished else { return }
        isFinished = true
        if clientCount > 0 {
            log(.exitLingerExpired(openConnections: clientCount, linger: configuration.exitLingerLimit))
        }
        if let exitTimer { loop.cancel(exitTimer) }
        exitTimer = nil
        publish()
        loop.stop()
    }
}
