import Arbiter
#if canImport(Glibc)
import Glibc
#endif
import LogChannel
import Node
import Replication

/// Two nodes, an arbiter, a network and clients on one thread in virtual time (STYLE 10).
///
/// Events are ordered by time, ties by insertion number, so a seed gives one trace. The network carries the
/// logging channel as byte streams through the real codec (`ByteStream`); clients pipeline reads and appends
/// (`Simulation+Clients`); the seed picks the faults (`Simulation+Faults`). The checkers stand outside the nodes
/// (`Simulation+Checkers`): every node's state against one canonical history (`StateChecker`), at most one node
/// releasing output per epoch (`ReleaseChecker`), every acked append surviving into whichever node goes live, every
/// acknowledged read and append linearizable (`LinearizabilityChecker`), and every frame decoded exactly as sent.
///
/// Generic over what runs on the pair (`SimulationWorkload`): `Simulation` replicates the token log, whose state the
/// checkers read directly; `KeyValueSimulation` replicates the bundled key-value store.
struct PairSimulation<Workload: SimulationWorkload> {
    // MARK: Model

    struct SimNode {
        var core: NodeCore<Workload.Machine>
        var incarnation = 0
        var isUp = true
        var isPaused = false
        /// The core asked its driver to stop reading clients (backpressure); commands that arrive wait in
        /// `intakeBacklog`, as they would in the runtime's socket buffers, until it resumes.
        var isIntakePaused = false
        var intakeBacklog: [ClientCommand] = []
        /// Events that arrived while the node was paused, handed over in order when it resumes.
        var deferred: [NodeEvent] = []
        var scheduledWakeup: Instant?
        /// How many times this incarnation stopped serving: a node that serves again has rejoined in between, maybe
        /// from a checkpoint, and kept none of its node-local state (a client's watch), so its connections are new.
        var servingTerm = 0
    }

    struct Connection {
        var ends: [(node: Int, incarnation: Int)]   // [dialer, acceptor]
        var openEnds = [true, true]
        var lastHeard: [Instant]
        /// `streams[end]`: the bytes travelling towards `end`.
        var streams = [ByteStream(), ByteStream()]
        /// `lastSent[end]`: when `end` last wrote frames; nil before its first (a hello or a checkpoint).
        var lastSent: [Instant?] = [nil, nil]
    }

    enum Event {
        case node(Int, incarnation: Int, NodeEvent)
        case timer(Int, incarnation: Int)
        /// A chunk of a logging-channel stream reaches connection end `end`.
        case bytes(ChannelID, end: Int, [UInt8])
        /// Bytes held back on the stream towards `end` go out.
        case holdEnded(ChannelID, end: Int)
        case livenessCheck
        case clientStep(Int)
        /// The runtime ends the wait of blocked request `tag` on node `node`'s incarnation `incarnation` with
        /// `unblock`, its timeout over (`Simulation+Clients`).
        case unblock(tag: UInt64, node: Int, incarnation: Int, [UInt8])
        /// Session client `client` connects as its connection `generation` (`Simulation+SessionClients`).
        case sessionConnect(Int, generation: Int)
        /// Session client `client` sends a new request, if its window has room.
        case sessionSend(Int)
        /// Session client `client` checks whether the oldest request on connection `generation` waited too long.
        case sessionTimeout(Int, generation: Int)
        case fault
        case restart(Int)
        case resume(Int)
        case partitionHealed
        /// Node `index`'s disk makes its queued jobs durable (`SimulatedDisk`), unless it is full.
        case diskSync(Int)
        /// Node `index`'s disk reports what it made durable, as of its `generation`th discard.
        case diskReport(Int, incarnation: Int, generation: Int, through: UInt64)
    }

    let seed: UInt64
    let faults: FaultMix
    /// The limits session clients open their sessions with.
    let sessionLimitsOpened: SessionLimits
    private(set) var now = Instant.zero
    var random: SeededRandom
    var queue = EventQueue<Event>()
    var nodes: [SimNode] = []
    var connections: [ChannelID: Connection] = [:]
    var nextChannel: ChannelID = 1
    var arbiter: [UInt64: EpochRecord] = [:]
    var arbiterDownUntil = Instant.zero
    var cutDirections: Set<[Int]> = []   // [from, to]
    var clients: [Client] = []
    var nextTag: UInt64 = 1
    var tagToClient: [UInt64: Int] = [:]
    /// The runtime's own requests that end a blocked request's wait, by their tags: the blocked request's tag.
    var unblockTags: [UInt64: UInt64] = [:]
    /// Virtual time, for the nodes' entropy sources that read it (`SimulationWorkload.entropy`).
    let wallClock = VirtualWallClock()
    var sessionClients: [SessionClient] = []
    var sessionTags: [UInt64: SessionTag] = [:]
    /// Each node's data directory, which outlives its crashes (with `faults.durable`).
    var disks = [SimulatedDisk<Workload.Machine>(), SimulatedDisk<Workload.Machine>()]
    /// A node's disk is full until then.
    var diskFullUntil = [Instant.zero, Instant.zero]
    var faultsActive = true
    var clientsActive = true

    // MARK: Checker state

    /// What the clients send and the records of what they were answered (`SimulationWorkload`).
    var workload: Workload
    var attempted = 0
    var unknown = 0
    /// Session requests sent again with the same number, and connections given up by timeout.
    var sessionResends = 0, sessionTimeouts = 0
    private(set) var violations: [String] = []
    var failovers = 0
    var stateChecker = StateChecker()
    var releaseChecker = ReleaseChecker()
    /// Set once no running node holds the replicated state; see `noteWhetherTheStateSurvives`.
    var stateLost = false
    private(set) var trace: UInt64 = 0xcbf2_9ce4_8422_2325

    static var isTracing: Bool { simulationIsTracing }
    static var heartbeatInterval: Duration { .milliseconds(20) }
    static var silenceTimeout: Duration { .milliseconds(150) }
    /// Violations kept per run: a diverged node would otherwise report after every event it handles.
    static var violationsLimit: Int { 20 }

    init(seed: UInt64, faults: FaultMix, workload: Workload, clientCount: Int = 3, sessionClientCount: Int = 0,
         sessionLimits: SessionLimits = Self.sessionLimits) {
        self.seed = seed
        self.workload = workload
        self.faults = faults
        self.sessionLimitsOpened = sessionLimits
        self.random = SeededRandom(seed: seed)
        for index in 0..<2 { nodes.append(SimNode(core: makeCore(index))) }
        for index in 0..<2 { schedule(.node(index, incarnation: 0, .started), after: .microseconds(Int64(index))) }
        for client in 0..<clientCount {
            clients.append(Client(pipelineDepth: 1 + Int(random.next() % UInt64(Client.pipelineDepthLimit))))
            startClient(client)
        }
        for client in 0..<sessionClientCount {
            sessionClients.append(SessionClient(window: 1 + Int(random.next() % UInt64(SessionClient.windowLimit))))
            startSessionClient(client)
        }
        schedule(.livenessCheck, after: Self.heartbeatInterval)
        if faults != .none { schedule(.fault, after: .milliseconds(Int64(100 + random.next() % 300))) }
    }

    mutating func makeCore(_ index: Int) -> NodeCore<Workload.Machine> {
        var configuration = NodeConfiguration(
            nodeName: "n\(index)", channelAddress: "n\(index):channel", clientAddress: "n\(index):client",
            peerChannelAddress: "n\(1 - index):channel")
        configuration.joinRetryInterval = .milliseconds(50)
        if faults.smallLimits {
            configuration.primaryLimits.unackedEntriesLimit = 4
            configuration.primaryLimits.unackedBytesLimit = 256
            configuration.primaryLimits.replayLagLimit = 2
            configuration.primaryLimits.intakeBatchLimit = 4
            configuration.primaryLimits.digestIntervalEntries = 3
        } else {
            configuration.primaryLimits.digestIntervalEntries = 16
        }
        configuration.primaryLimits.tickInterval = .milliseconds(30)
        configuration.primaryLimits.checkpointChunkBytes = faults.checkpointChunkBytes
        configuration.primaryLimits.checkpointWindowChunks = faults.checkpointWindowChunks
        if faults.slowBackup { configuration.backupLimits.replayBatchLimit = 1 }
        configuration.isDurable = faults.durable
        let entropy = Workload.entropy(random: SeededRandom(seed: random.next()), wallClock: wallClock)
        return NodeCore(
            configuration: configuration, emptyMachine: Workload.emptyMachine, entropy: entropy,
            recovered: faults.durable ? disks[index].recover(emptyMachine: Workload.emptyMachine) : nil)
    }

    // MARK: Running

    mutating func run(until done: (Self) -> Bool, deadline: Duration) {
        let end = now + deadline
        var steps = 0
        while !done(self), let next = queue.pop(notAfter: end) {
            steps += 1
            precondition(steps < 5_000_000, "simulation did not settle; seed \(seed)")
            now = next.at
            wallClock.now = now
            step(next.event)
        }
    }

    /// Heals every fault, restarts dead nodes and stops injecting new ones.
    mutating func healAll() {
        faultsActive = false
        cutDirections.removeAll()
        arbiterDownUntil = .zero
        diskFullUntil = [.zero, .zero]
        for index in nodes.indices {
            if nodes[index].isPaused { resume(index) }
            if !nodes[index].isUp { schedule(.restart(index), after: .milliseconds(1)) }
        }
    }

    mutating func stopClients() { clientsActive = false }

    mutating func schedule(_ event: Event, after delay: Duration) {
        queue.push(event, at: now + delay)
    }

    mutating func latency() -> Duration {
        .microseconds(Int64(50 + random.next() % (faults.delayFrames ? 20_000 : 200)))
    }

    /// Which checker found a violation; named in its report, so a failing seed says what broke.
    enum Checker: String {
        case state, linearizability, ackedWrites = "acked writes", release, decoder, liveness
        case exactlyOnce = "exactly once"
    }

    mutating func report(_ checker: Checker, _ violation: String) {
        guard violations.count < Self.violationsLimit else { return }
        violations.append("seed \(seed) [\(checker.rawValue)]: \(violation)")
    }

    private mutating func step(_ event: Event) {
        switch event {
        case .node(let index, let incarnation, let nodeEvent):
            offer(nodeEvent, to: index, incarnation: incarnation)
        case .timer(let index, let incarnation):
            guard nodes[index].incarnation == incarnation, nodes[index].isUp else { return }
            nodes[index].scheduledWakeup = nil
            guard !nodes[index].isPaused else { return }   // `resume` fires the timer and reschedules
            if let due = nodes[index].core.nextWakeup, due <= now { deliver(.timerFired, to: index) }
            scheduleWakeup(index)
        case .bytes(let channel, let end, let chunk):
            bytesArrived(chunk, on: channel, at: end)
        case .holdEnded(let channel, let end):
            endHold(on: channel, towards: end)
        case .livenessCheck:
            checkLiveness()
            schedule(.livenessCheck, after: Self.heartbeatInterval)
        case .clientStep(let client):
            clientStep(client)
        case .unblock(let tag, let node, let incarnation, let bytes):
            unblock(tag, at: node, incarnation: incarnation, with: bytes)
        case .sessionConnect, .sessionSend, .sessionTimeout:
            Workload.sessionEvent(event, in: &self)
        case .fault:
            injectFault()
        case .restart(let index):
            restart(index)
        case .resume(let index):
            resume(index)
        case .partitionHealed:
            if faultsActive { cutDirections.removeAll() }
        case .diskSync(let index):
            syncDisk(index)
        case .diskReport(let index, let incarnation, let generation, let through):
            diskReported(index, incarnation: incarnation, generation: generation, through: through)
        }
    }

    /// Hands `event` to a node as its driver would: not at all to a dead incarnation, later to a paused process,
    /// and client commands only while intake runs.
    mutating func offer(_ event: NodeEvent, to index: Int, incarnation: Int) {
        guard nodes[index].incarnation == incarnation, nodes[index].isUp else { return }
        if nodes[index].isPaused {
            nodes[index].deferred.append(event)
            return
        }
        if case .commandsArrived(let commands) = event, nodes[index].isIntakePaused {
            nodes[index].intakeBacklog.append(contentsOf: commands)
            return
        }
        guard admit(event, to: index) else { return }
        deliver(event, to: index)
    }

    /// A closed end hears nothing more; a close arriving at an open end closes it.
    private mutating func admit(_ event: NodeEvent, to index: Int) -> Bool {
        switch event {
        case .framesArrived(let channel, _), .channelClosed(let channel, _):
            guard let end = end(of: channel, for: index), connections[channel]!.openEnds[end] else { return false }
            if case .channelClosed = event { connections[channel]!.openEnds[end] = false }
            return true
        default:
            return true
        }
    }

    mutating func deliver(_ event: NodeEvent, to index: Int) {
        trace = (trace ^ UInt64(index) ^ now.nanoseconds) &* 0x0000_0100_0000_01b3
        let epochBefore = nodes[index].core.status.epoch
        let actions = nodes[index].core.handle(event, at: now)
        // Output is judged by the epoch the node releases in: its epoch after the event if it still serves
        // (a granted epoch releases what waited for it), else the one it served in when the event arrived.
        let releaseEpoch = nodes[index].core.status.isServing ? nodes[index].core.status.epoch : epochBefore
        perform(actions, by: index, releasingIn: releaseEpoch)
        if nodes[index].isUp { checkState(of: index) }
        scheduleWakeup(index)
        crashMidStreamSometimes(installing: index)
    }

    private mutating func scheduleWakeup(_ index: Int) {
        guard let due = nodes[index].core.nextWakeup else { return }
        if let scheduled = nodes[index].scheduledWakeup, scheduled <= due { return }
        nodes[index].scheduledWakeup = due
        queue.push(.timer(index, incarnation: nodes[index].incarnation), at: max(due, now))
    }

    // MARK: Actions

    private mutating func perform(_ actions: [NodeAction], by index: Int, releasingIn releaseEpoch: UInt64) {
        if Self.isTracing {
            for action in actions {
                switch action {
                case .note, .roleChanged, .takeEpoch, .readArbiter, .dial, .close, .exit, .discardWithheld:
                    print("\(now) n\(index)#\(nodes[index].incarnation) \(action)")
                default: break
                }
            }
        }
        let incarnation = nodes[index].incarnation
        var batches: [(ChannelID, [Frame])] = []
        func batch(_ frame: Frame, on channel: ChannelID) {
            if let last = batches.indices.last, batches[last].0 == channel {
                batches[last].1.append(frame)
            } else {
                batches.append((channel, [frame]))
            }
        }
        for action in actions {
            switch action {
            case .readArbiter:
                let answer: ArbiterAnswer =
                    now < arbiterDownUntil
                    ? .failed(.unreadable(path: "sim", reason: "outage")) : .current(arbiter.values.max { $0.epoch < $1.epoch })
                schedule(.node(index, incarnation: incarnation, .arbiterAnswered(answer)), after: .milliseconds(1))
            case .takeEpoch(let epoch):
                schedule(.node(index, incarnation: incarnation, .arbiterAnswered(take(epoch, by: index))),
                         after: .milliseconds(2))
            case .dial(let address):
                dial(address, from: index)
            case .send(let channel, let frame):
                batch(frame, on: channel)
            case .log(let channel, let epoch, let sequence, let entry):
                batch(.entry(epoch: epoch, sequence: sequence, payload: entry.encoded), on: channel)
            case .persist(let epoch, let sequence, let entry):
                persist(.append(epoch: epoch, sequence: sequence, entry), by: index)
            case .durable(let action):
                perform(action, by: index)
            case .close(let channel):
                flush(&batches, from: index)
                close(channel, by: index)
            case .release(let replies):
                for violation in releaseChecker.released(by: index, epoch: releaseEpoch) {
                    report(.release, violation)
                }
                for reply in replies { replied(reply.tag, with: Array(reply.bytes)) }
            case .reject(let tags, _):
                for tag in tags { rejected(tag) }
            case .discardWithheld:
                loseRequests(at: index)
            case .pauseIntake:
                nodes[index].isIntakePaused = true
            case .resumeIntake:
                resumeIntake(of: index)
            case .roleChanged(let from, let to, _):
                roleChanged(index, from: from, to: to)
            case .note:
                break   // words for the operator; the checkers judge states, replies and frames
            case .exit:
                // A stopped process is gone; its supervisor starts it again, and it rejoins as backup.
                crash(index, silently: false)
                schedule(.restart(index), after: .milliseconds(Int64(50 + random.next() % 200)))
            }
        }
        flush(&batches, from: index)
    }

    private mutating func flush(_ batches: inout [(ChannelID, [Frame])], from index: Int) {
        for (channel, frames) in batches { send(frames, on: channel, from: index) }
        batches.removeAll()
    }

    /// The driver reads clients again: what waited in the socket buffers goes to the core in intake-sized batches.
    ///
    /// Scheduled behind events already queued for this instant, so a connection's later request can overtake the
    /// backlog (the runtime keeps each connection's order); session clients, to whom that order matters, run without
    /// the small limits that pause intake (`SessionSimulationTests.sessionMix`).
    mutating func resumeIntake(of index: Int) {
        nodes[index].isIntakePaused = false
        let backlog = nodes[index].intakeBacklog
        nodes[index].intakeBacklog = []
        let batchLimit = nodes[index].core.configuration.primaryLimits.intakeBatchLimit
        for start in stride(from: 0, to: backlog.count, by: batchLimit) {
            let commands = Array(backlog[start..<min(start + batchLimit, backlog.count)])
            schedule(.node(index, incarnation: nodes[index].incarnation, .commandsArrived(commands)), after: .zero)
        }
    }

    private mutating func roleChanged(_ index: Int, from: NodeStatus.Role, to: NodeStatus.Role) {
        // A backup going live, or a node going live from its disk: either must hold every acked append.
        if (from == .backup || from == .joining) && to == .solo && nodes[index].core.appliedSequence > 0 {
            failovers += 1
            let status = nodes[index].core.status
            stateChecker.backupWentLive(epoch: status.epoch, holdingThrough: nodes[index].core.appliedSequence)
            checkNewPrimaryHoldsAcknowledged(index)
        }
        if (from == .primary || from == .solo) && to != .primary && to != .solo { nodes[index].servingTerm += 1 }
        // As the runtime does: intake pauses are a serving primary's; a node that stops serving reads clients
        // again (and refuses them), or their commands would wait for ever.
        if to != .primary && to != .solo { resumeIntake(of: index) }
        noteWhetherTheStateSurvives()
    }

    // MARK: Arbiter

    private mutating func take(_ epoch: UInt64, by index: Int) -> ArbiterAnswer {
        if now < arbiterDownUntil { return .failed(.readOnly(path: "sim")) }
        let highest = arbiter.values.max { $0.epoch < $1.epoch }
        if let highest, highest.epoch >= epoch { return .took(.lost(to: arbiter[epoch] ?? highest)) }
        let record = EpochRecord(
            epoch: epoch, claim: nodes[index].core.configuration.claim, takenAtMilliseconds: Int64(now.nanoseconds / 1_000_000))
        arbiter[epoch] = record
        return .took(.granted(record))
    }
}

/// The simulation of the token log, which the simulation tests first ran.
typealias Simulation = PairSimulation<TokenLogWorkload>

extension Simulation {
    init(seed: UInt64, faults: FaultMix, clientCount: Int = 3, sessionClientCount: Int = 0,
         sessionLimits: SessionLimits = Self.sessionLimits) {
        self.init(
            seed: seed, faults: faults, workload: TokenLogWorkload(), clientCount: clientCount,
            sessionClientCount: sessionClientCount, sessionLimits: sessionLimits)
    }
}

/// Read once: `LOCKSTEP_TRACE` prints roles, faults and notes as a run goes.
private let simulationIsTracing = getenv("LOCKSTEP_TRACE") != nil
