import Arbiter
import Durability
import Glibc
import LogChannel
import Node
import Posix
import Replication
import Synchronization

/// Drives one `NodeCore` with real sockets, timers and the arbiter, entirely on one event-loop thread.
///
/// The driver only drives: it hands each event to the core and has each action performed by the part that owns
/// what the action touches. The parts, each with one job:
///
/// - `ClientPort`: client connections, parsing, the round's batch of commands, replies in request order.
/// - `ChannelPort`: logging-channel connections; it reports what happens on them as the core's events.
/// - `ArbiterWorker`: the arbiter's disk I/O, on its own thread; answers come back as events.
/// - `StatusPublisher`: the status requests are routed by, and its publication for other threads.
/// - `ExitDrain`: leaving, once the core is done.
/// - `DurabilityWorker` (with a data directory): the durable log, snapshots and markers, on its own thread; what
///   it made durable comes back as `.persisted` events.
/// - `ServiceAddressWorker` and `RoleChangeHookRunner` (when configured): the service address and the role-change
///   hook, each on its own thread, told of every role change and never waited for by the loop.
///
/// A round of the loop flows like this (IO-FINDINGS: batch both directions, one write per peer per round):
///
/// 1. Readable client sockets are read once each; every complete request is parsed at once. Local answers fill
///    their reply slot; replicated ones get a tag and join this round's batch (at most `intakeBatchLimit`
///    commands and `intakeBatchBytesLimit` bytes; a connection that would overflow it is backlogged).
///    Logging-channel reads deliver their frames to the core straight away, and so do timers and arbiter
///    answers posted by the arbiter thread.
/// 2. The round-end hook hands the whole batch to the core in one `.commandsArrived`, performs the actions,
///    then parses backlogged connections into the next batch (they go first next round).
/// 3. After the hook, each channel writes its frames in one `send`, and each client with new replies gets one
///    `send` of everything that may leave, in request order. (Under load the primary core holds a round's entries
///    until the ack of the shipment in flight, so a channel `send` carries the entries of several rounds.)
///
/// Every event reaches the core through `drive`, which queues events raised while actions are being performed,
/// so actions always run in the order the core gave them. Nothing here takes a lock except the status
/// publication, at most once a millisecond.
final class NodeDriver<P: ClientProtocol>: @unchecked Sendable {  // unchecked: loop-thread state, like EventLoop
    let configuration: RuntimeConfiguration
    let loop: EventLoop
    let shared: RuntimeShared
    let log: @Sendable (RuntimeEvent) -> Void
    let arbiter: ArbiterWorker
    /// Moves the service address with the role, if one is configured.
    let serviceAddress: ServiceAddressWorker?
    /// Runs the role-change hook, if one is configured.
    let roleChangeHooks: RoleChangeHookRunner?
    /// What every part counts into; the driver counts the arbiter's errors.
    let counters: CounterStore
    private(set) var core: NodeCore<P.Machine>

    let clients: ClientPort<P>
    let channels: ChannelPort
    let publisher: StatusPublisher
    let exitDrain: ExitDrain
    /// The Prometheus endpoint, when `metricsListenAddress` is set.
    let metrics: MetricsPort?
    /// The data directory's thread, when `dataDirectory` is set.
    let durability: DurabilityWorker<P.Machine.Snapshot>?
    /// Jobs for `durability` from the actions being performed, handed over in one batch when the drive ends.
    private var durableJobs: [DurabilityWorker<P.Machine.Snapshot>.Job] = []
    /// Discards asked of `durability` so far: its reports about an older log are stale.
    private var durableGeneration: UInt64 = 0

    /// Where the listeners are bound (port 0 resolved).
    var clientAddress: SocketAddress { clients.address }
    var channelAddress: SocketAddress { channels.address }
    /// Why the node exited; nil until it does (or if it crashed).
    var exitReason: ExitReason? { exitDrain.reason }

    /// Events raised while performing actions (a dial that fails at once, say), handled after those actions;
    /// at most one per action of the event being performed.
    private var pendingEvents: [NodeEvent] = []
    /// The actions of the event being performed; kept between events so that driving one allocates no array.
    private var actions: [NodeAction] = []
    private var isDriving = false
    private var coreTimer: EventLoop.TimerID?
    private var coreTimerDeadline: Instant?

    init(
        configuration: RuntimeConfiguration, clientProtocol: P, emptyMachine: P.Machine, arbiter: any Arbiter,
        entropy: any EntropySource, loop: EventLoop, log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) {
        var configuration = try configuration.checked(replicatedBytesLimit: clientProtocol.replicatedBytesLimit)
        var recovered: RecoveredState<P.Machine>?
        if let path = configuration.dataDirectory {
            configuration.node.isDurable = true
            (recovered, durability) = try Self.openDataDirectory(
                path, configuration: configuration, emptyMachine: emptyMachine, log: log)
        } else {
            durability = nil
        }
        guard configuration.clientConnectionsLimit <= 1 << 20 else {
            throw .invalidConfiguration("more than \(1 << 20) client connections")
        }
        let secret: ClusterSecret
        do {
            secret = try ClusterSecret(configuration.clusterSecret)  // `checked` refused an unusable one already
        } catch {
            throw .invalidConfiguration("\(error)")
        }
        // Before anything listens: a stale copy of the service address (a crash left it) must not route clients here.
        do {
            serviceAddress = try configuration.serviceAddress.map { address throws(ServiceAddressError) in
                try ServiceAddressWorker(address: address, log: log)
            }
        } catch {
            throw .serviceAddressUnusable(error)
        }
        roleChangeHooks = configuration.roleChangeHook.map { RoleChangeHookRunner(hook: $0, log: log) }
        let clientListen = try Self.parse(configuration.clientListenAddress, role: "client")
        let channelListen = try Self.parse(configuration.channelListenAddress, role: "logging channel")
        self.loop = loop
        self.log = log
        let counters = CounterStore()
        self.counters = counters

        // Both ports are bound now, so a busy port is an error before anything runs; the client port first, so
        // that is the error reported when both are busy.
        let (clientSocket, clientAddress) = try EventLoop.listen(
            on: clientListen, addressText: configuration.clientListenAddress, role: "client")
        var metricsListener: (FileDescriptor, SocketAddress)?
        if let metricsAddress = configuration.metricsListenAddress {
            do {
                metricsListener = try EventLoop.listen(
                    on: try Self.parse(metricsAddress, role: "metrics"), addressText: metricsAddress, role: "metrics")
            } catch {
                try? clientSocket.close()  // the listen error is the one worth reporting
                throw error
            }
        }
        let channels: ChannelPort
        do {
            // The nonces come from the runtime's entropy (a copy: the core keeps its own).
            channels = try ChannelPort(
                listeningOn: channelListen, loop: loop, configuration: configuration.channelConfiguration,
                authentication: ChannelPort.Authentication(
                    nodeName: configuration.node.nodeName, secret: secret, entropy: entropy),
                counters: counters, log: log)
        } catch {
            try? clientSocket.close()  // the listen error is the one worth reporting
            try? metricsListener?.0.close()
            throw .cannotListen(role: "logging channel", address: configuration.channelListenAddress, error)
        }
        if configuration.node.channelAddress.hasSuffix(":0") {
            configuration.node.channelAddress = channels.address.description
        }
        if configuration.node.clientAddress.hasSuffix(":0") {
            configuration.node.clientAddress = clientAddress.description
        }
        self.configuration = configuration
        core = NodeCore(
            configuration: configuration.node, emptyMachine: emptyMachine, entropy: entropy, recovered: recovered)
        shared = RuntimeShared(status: core.status)
        let publisher = StatusPublisher(shared: shared, channels: channels, counters: counters, loop: loop)
        let clients: ClientPort<P>
        do {
            clients = try ClientPort(
                listener: clientSocket, address: clientAddress, clientProtocol: clientProtocol,
                configuration: configuration, publisher: publisher, counters: counters, loop: loop, log: log)
        } catch {
            try? metricsListener?.0.close()  // the client port's error is the one worth reporting
            throw error
        }
        if let (socket, address) = metricsListener {
            let metrics = try MetricsPort(
                listener: socket, address: address, configuration: configuration, publisher: publisher,
                counters: counters, loop: loop, log: log)
            metrics.openClientConnections = { [unowned clients] in clients.connectionCount }
            self.metrics = metrics
        } else {
            metrics = nil
        }
        let exitDrain = ExitDrain(
            clients: clients, channels: channels, publisher: publisher, loop: loop, configuration: configuration,
            log: log)
        clients.announceBusy = { [unowned channels] in channels.announceBusy(forBytes: $0) }
        self.channels = channels
        self.publisher = publisher
        self.clients = clients
        self.exitDrain = exitDrain
        self.arbiter = ArbiterWorker(arbiter: arbiter)

        // The parts reach the core through the driver. These closures are made here, where the client protocol is
        // known, so what they call runs specialised for it; each is made once, and none keeps the driver alive.
        channels.report = { [unowned self] event in drive(event) }
        channels.heartbeat = { [unowned self] in inPlace { $0.heartbeat } }
        publisher.coreStatus = { [unowned self] in inPlace { $0.status } }
        clients.digest = { [unowned self] in inPlace { $0.machine?.digest() } }
        publisher.openClientConnections = { [unowned clients] in clients.connectionCount }
        publisher.machineStatistics = { [unowned self] in inPlace { $0.machine?.statistics ?? [:] } }
        publisher.machineRevision = { [unowned self] in inPlace { $0.machineRevision } }
        clients.noticedStatus = core.status
        channels.exitDrain = exitDrain
        clients.exitDrain = exitDrain
        // Unowned here and in the ports' loop closures, never weak: the loop runs only while the runtime holds the
        // driver and its ports, and one weak reference gives an object a side table that every later retain and
        // release of it must go through.
        loop.addRoundEndHook { [unowned self] in roundEnded() }
    }

    /// Runs `body` on the core where it lies. Reading a field through the stored property from a closure copies the
    /// whole core first (every log and buffer it holds, retained and released), once per round for the routing
    /// status; an inout access does not.
    private func inPlace<R>(_ body: (inout NodeCore<P.Machine>) -> R) -> R { body(&core) }

    /// Loads what the data directory at `path` holds (before the loop runs: it takes time in proportion to the
    /// snapshot and the log after it) and makes the worker that continues it.
    private static func openDataDirectory(
        _ path: String, configuration: RuntimeConfiguration, emptyMachine: P.Machine,
        log: @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) -> (RecoveredState<P.Machine>?, DurabilityWorker<P.Machine.Snapshot>) {
        do {
            let directory = try DataDirectory(path: path)
            for note in directory.notes { log(.note("data directory: \(note)")) }
            let disk = try DiskState.load(directory, emptyMachine: emptyMachine, limits: configuration.durabilityLimits)
            for note in disk.notes { log(.note("data directory: \(note)")) }
            if let gap = disk.gap {
                log(.note("data directory \(path) holds no whole state (\(gap)); waiting for a primary to send one"))
            }
            let worker = DurabilityWorker<P.Machine.Snapshot>(
                directory: directory, writer: disk.writer, policy: configuration.fsync,
                limits: configuration.durabilityLimits, snapshotAfterLogBytes: configuration.snapshotAfterLogBytes)
            guard let machine = disk.machine else { return (nil, worker) }
            log(.note(
                "data directory \(path): loaded the state through entry \(disk.sequence) of epoch \(disk.epoch)"
                    + (disk.ownedEpoch.map { "; owned epoch \($0)" } ?? "")
                    + (disk.protectingEpoch.map { "; protected in epoch \($0)" } ?? "")))
            let recovered = RecoveredState(
                machine: machine, sequence: disk.sequence, epoch: disk.epoch, ownedEpoch: disk.ownedEpoch,
                protectingEpoch: disk.protectingEpoch)
            return (recovered, worker)
        } catch {
            throw .durableStateUnusable(error)
        }
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
            try serviceAddress?.start()
            try roleChangeHooks?.start()
            try durability?.start { [self, loop] report in
                loop.execute { self.received(report) }
            }
        } catch {
            halt()
            throw .cannotStartThread(error)
        }
        drive(.started)
        publisher.publish()
    }

    /// After the loop returned: stop the arbiter thread and publish the last status.
    func finish() {
        arbiter.halt()
        arbiter.join()
        durability?.finish()
        durability?.join()
        serviceAddress?.finish()
        roleChangeHooks?.finish()
        publisher.publishAfterLoop()
    }

    /// Stops every helper thread at once, like a crash (the service address stays where it is). Any thread.
    func halt() {
        arbiter.halt()
        durability?.halt()
        serviceAddress?.halt()
        roleChangeHooks?.halt()
    }

    // MARK: The core

    static func now() -> Instant { Instant(nanoseconds: monotonicNanoseconds()) }

    /// Hands one event to the core and performs its actions, in order; events raised meanwhile wait their turn.
    func drive(_ event: consuming NodeEvent) {
        guard !exitDrain.isExiting, !shared.isCrashed.load(ordering: .relaxed) else { return }
        guard !isDriving else {
            pendingEvents.append(event)
            return
        }
        isDriving = true
        publisher.hasUnpublishedEvents = true
        handleAndPerform(consume event)
        var next = 0
        while next < pendingEvents.count, !exitDrain.isExiting {
            let event = pendingEvents[next]
            next += 1
            handleAndPerform(event)
        }
        pendingEvents.removeAllKeepingStorage()
        isDriving = false
        if !durableJobs.isEmpty { submitDurableJobs() }
        if exitDrain.isExiting {
            if let coreTimer { loop.cancel(coreTimer) }
            coreTimer = nil
        } else {
            rescheduleCoreTimer()
        }
    }

    /// Consumed, so frames reach the core with no other owner (`NodeCore.handle`).
    private func handleAndPerform(_ event: consuming NodeEvent) {
        if case .arbiterAnswered(.failed(let error)) = event { counters.values.arbiterErrors[error.code, default: 0] += 1 }
        actions.removeAllKeepingStorage()
        core.handle(consume event, at: Self.now(), into: &actions)
        performActions()
    }

    /// Performs `actions` in order, each by the part that owns what it touches. Nothing they lead to touches
    /// `actions`: events raised meanwhile wait in `pendingEvents`.
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
                if let failure = channels.dial(address) { pendingEvents.append(failure) }
            case .send(let channel, let frame):
                channels.send(frame, on: channel)
            case .log(let channel, let epoch, let sequence, let entry):
                channels.sendEntry(entry, epoch: epoch, sequence: sequence, on: channel)
            case .persist(let epoch, let sequence, let entry):
                durableJobs.append(.append(epoch: epoch, sequence: sequence, entry))
            case .durable(let action):
                perform(action)
            case .close(let channel):
                channels.close(channel)
            case .release(var replies):
                clients.release(&replies)
                core.keepStorage(ofReleased: consume replies)
            case .reject(let tags, let reason):
                clients.reject(tags, reason: reason.description)
            case .discardWithheld(let reason):
                clients.discardWithheld(reason: reason)
            case .pauseIntake:
                clients.pauseIntake()
            case .resumeIntake:
                clients.resumeIntake()
            case .roleChanged(let from, let to, let reason):
                publisher.roleChanged()
                let status = core.status
                clients.announceRoleChange(to: status)
                counters.values.roleChanges[reason.code, default: 0] += 1
                let epoch = status.epoch
                log(.roleChanged(from: from, to: to, epoch: epoch, reason: reason))
                serviceAddress?.want(to == .primary || to == .solo ? .present : .absent)
                roleChangeHooks?.submit(RoleChangeNotice(
                    previousRole: from, role: to, epoch: epoch, reason: reason.code,
                    node: configuration.node.nodeName))
            case .note(let line):
                log(.note(line))
            case .exit(let reason):
                exit = reason
            }
        }
        if let exit { exitDrain.begin(reason: exit) }
    }

    // MARK: Durability

    private func perform(_ action: DurableAction) {
        switch action {
        case .discardState:
            durableGeneration += 1
            durableJobs.append(.discard)
        case .snapshotState:
            takeSnapshot()
        case .markOwned(let epoch):
            durableJobs.append(.markOwned(epoch: epoch))
        case .markProtecting(let epoch, let sequence):
            durableJobs.append(.markProtecting(epoch: epoch, fromSequence: sequence))
        }
    }

    /// Freezes the machine as it is now (copy-on-write: no time in proportion to the state) for the worker to write.
    private func takeSnapshot() {
        guard let machine = core.machine else { return }
        durableJobs.append(.snapshot(machine.snapshot(), epoch: core.status.epoch, sequence: core.appliedSequence))
    }

    private func submitDurableJobs() {
        guard let durability else { return durableJobs.removeAll() }
        if !durability.submit(durableJobs) {
            drive(.persistenceChanged(failure: "the durable log's queue is full (\(DurabilityWorker<P.Machine.Snapshot>.queuedJobsLimit) jobs)"))
        }
        durableJobs.removeAll(keepingCapacity: true)
    }

    private func received(_ report: DurabilityWorker<P.Machine.Snapshot>.Report) {
        switch report {
        case .persisted(let generation, let through):
            guard generation == durableGeneration else { return }  // about a log discarded since
            drive(.persisted(through: through))
        case .failure(let cause):
            counters.values.persistenceFailures += cause == nil ? 0 : 1
            drive(.persistenceChanged(failure: cause))
        case .snapshotWanted:
            takeSnapshot()
            if !durableJobs.isEmpty { submitDurableJobs() }
        case .note(let line):
            log(.note(line))
        }
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
        coreTimer = loop.schedule(at: wanted.nanoseconds) { [unowned self] in
            coreTimer = nil
            coreTimerDeadline = nil
            drive(.timerFired)
        }
    }

    // MARK: Rounds

    /// The round-end hook: hand the batch to the core, refill it from the backlog, publish the status if due.
    private func roundEnded() {
        guard !exitDrain.isFinished, !shared.isCrashed.load(ordering: .relaxed) else { return }
        let batchBytes = clients.batchBytes
        if let commands = clients.takeBatch() {
            // Executing and shipping a large batch may hold the loop for a while: the backup must not take that
            // for a dead primary.
            channels.announceBusy(forBytes: batchBytes)
            drive(.commandsArrived(commands))
            clients.recycleBatch(commands)  // the core keeps no batch
        }
        clients.prepareNextBatch()
        publisher.publishWhenDue()
        publisher.forgetRoutingStatus()  // the next round sees what this one did
    }
}
