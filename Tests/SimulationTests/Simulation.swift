import Arbiter
#if canImport(Glibc)
import Glibc
#endif
import LogChannel
import Node
import Posix
import Replication

/// Which faults a run may inject; the seed picks the mix (swarm testing).
struct FaultMix: Equatable {
    var crashPrimary = false, crashBackup = false, silentCrash = false
    var partition = false, oneWayLoss = false, pauseNode = false
    var dropFrames = false, duplicateFrames = false, delayFrames = false
    var arbiterOutage = false, slowBackup = false, smallLimits = false

    static func swarm(_ random: inout SeededRandom) -> FaultMix {
        func coin() -> Bool { random.next() % 3 == 0 }
        return FaultMix(
            crashPrimary: coin(), crashBackup: coin(), silentCrash: coin(), partition: coin(), oneWayLoss: coin(),
            pauseNode: coin(), dropFrames: coin(), duplicateFrames: coin(), delayFrames: coin(),
            arbiterOutage: coin(), slowBackup: coin(), smallLimits: coin())
    }

    static let none = FaultMix()
}

/// Two nodes, an arbiter, a network and clients on one thread in virtual time (STYLE 10).
///
/// Events are ordered by time, ties by insertion number, so a seed gives one trace. The checkers
/// stand outside the nodes: at most one node releases output per epoch and release epochs never go
/// back; every acked reply survives in whichever node goes live; digests never disagree.
struct Simulation {
    // MARK: Model

    struct SimNode {
        var core: NodeCore<TokenLog>
        var incarnation = 0
        var isUp = true
        var isPaused = false
        var isIntakePaused = false
        var deferred: [NodeEvent] = []
        var scheduledWakeup: Instant?
    }

    struct Connection {
        var ends: [(node: Int, incarnation: Int)]   // [dialer, acceptor]
        var openEnds = [true, true]
        var lastDelivery: [Instant] = [.zero, .zero]
        var lastHeard: [Instant]
    }

    enum Event {
        case node(Int, incarnation: Int, NodeEvent)
        case timer(Int, incarnation: Int)
        case livenessCheck
        case clientStep(Int)
        case fault
        case restart(Int)
        case resume(Int)
    }

    struct Client {
        var pending: (tag: UInt64, node: Int)?
        var target = 0
    }

    let seed: UInt64
    let faults: FaultMix
    private(set) var now = Instant.zero
    private var random: SeededRandom
    private var queue = EventQueue<Event>()
    private(set) var nodes: [SimNode] = []
    private var connections: [ChannelID: Connection] = [:]
    private var nextChannel: ChannelID = 1
    private var arbiter: [UInt64: EpochRecord] = [:]
    private var arbiterDownUntil = Instant.zero
    private var cutDirections: Set<[Int]> = []   // [from, to]
    private var clients: [Client]
    private var nextTag: UInt64 = 1
    private var tagToClient: [UInt64: Int] = [:]
    private var faultsActive = true
    private var clientsActive = true

    // MARK: Checker state

    private(set) var acked: [UInt64] = []
    private(set) var attempted = 0
    private(set) var unknown = 0
    private(set) var violations: [String] = []
    private(set) var failovers = 0
    private var releasingNodeByEpoch: [UInt64: Int] = [:]
    private var highestReleasedEpoch: UInt64 = 0
    private(set) var trace: UInt64 = 0xcbf2_9ce4_8422_2325

    static let isTracing = getenv("LOCKSTEP_TRACE") != nil
    static let heartbeatInterval = Duration.milliseconds(20)
    static let silenceTimeout = Duration.milliseconds(150)

    init(seed: UInt64, faults: FaultMix, clientCount: Int = 3) {
        self.seed = seed
        self.faults = faults
        self.random = SeededRandom(seed: seed)
        self.clients = Array(repeating: Client(), count: clientCount)
        for index in 0..<2 { nodes.append(SimNode(core: makeCore(index))) }
        for index in 0..<2 { schedule(.node(index, incarnation: 0, .started), after: .microseconds(Int64(index))) }
        for client in 0..<clientCount { schedule(.clientStep(client), after: .milliseconds(5)) }
        schedule(.livenessCheck, after: Self.heartbeatInterval)
        if faults != .none { schedule(.fault, after: .milliseconds(Int64(100 + random.next() % 300))) }
    }

    private mutating func makeCore(_ index: Int) -> NodeCore<TokenLog> {
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
            configuration.primaryLimits.checkpointChunkBytes = 1 << 10
        } else {
            configuration.primaryLimits.digestIntervalEntries = 16
        }
        configuration.primaryLimits.tickInterval = .milliseconds(30)
        if faults.slowBackup { configuration.backupLimits.replayBatchLimit = 1 }
        let entropy = SimulatedEntropy(random: SeededRandom(seed: random.next()))
        return NodeCore(configuration: configuration, emptyMachine: TokenLog(), entropy: entropy)
    }

    // MARK: Running

    mutating func run(until done: (Simulation) -> Bool, deadline: Duration) {
        let end = now + deadline
        var steps = 0
        while !done(self), let next = queue.pop(notAfter: end) {
            steps += 1
            precondition(steps < 5_000_000, "simulation did not settle; seed \(seed)")
            now = next.at
            step(next.event)
        }
    }

    /// Heals every fault, restarts dead nodes and stops injecting new ones.
    mutating func healAll() {
        faultsActive = false
        cutDirections.removeAll()
        arbiterDownUntil = .zero
        for index in nodes.indices {
            if nodes[index].isPaused { resume(index) }
            if !nodes[index].isUp { schedule(.restart(index), after: .milliseconds(1)) }
        }
    }

    mutating func stopClients() { clientsActive = false }


    private mutating func schedule(_ event: Event, after delay: Duration) {
        queue.push(event, at: now + delay)
    }

    private mutating func latency() -> Duration {
        .microseconds(Int64(50 + random.next() % (faults.delayFrames ? 20_000 : 200)))
    }

    private mutating func step(_ event: Event) {
        switch event {
        case .node(let index, let incarnation, let nodeEvent):
            guard nodes[index].incarnation == incarnation, nodes[index].isUp else { return }
            if nodes[index].isPaused {
                nodes[index].deferred.append(nodeEvent)
                return
            }
            guard admit(nodeEvent, to: index) else { return }
            deliver(nodeEvent, to: index)
        case .timer(let index, let incarnation):
            guard nodes[index].incarnation == incarnation, nodes[index].isUp else { return }
            nodes[index].scheduledWakeup = nil
            guard !nodes[index].isPaused else { return }   // `resume` fires the timer and reschedules
            if let due = nodes[index].core.nextWakeup, due <= now { deliver(.timerFired, to: index) }
            scheduleWakeup(index)
        case .livenessCheck:
            checkLiveness()
            schedule(.livenessCheck, after: Self.heartbeatInterval)
        case .clientStep(let client):
            clientStep(client)
        case .fault:
            injectFault()
        case .restart(let index):
            restart(index)
        case .resume(let index):
            resume(index)
        }
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

    private mutating func deliver(_ event: NodeEvent, to index: Int) {
        trace = (trace ^ UInt64(index) ^ now.nanoseconds) &* 0x0000_0100_0000_01b3
        let actions = nodes[index].core.handle(event, at: now)
        perform(actions, by: index)
        scheduleWakeup(index)
    }

    private mutating func scheduleWakeup(_ index: Int) {
        guard let due = nodes[index].core.nextWakeup else { return }
        if let scheduled = nodes[index].scheduledWakeup, scheduled <= due { return }
        nodes[index].scheduledWakeup = due
                queue.push(.timer(index, incarnation: nodes[index].incarnation), at: max(due, now))
    }

    // MARK: Actions

    private mutating func perform(_ actions: [NodeAction], by index: Int) {
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
            case .close(let channel):
                flush(&batches, from: index)
                close(channel, by: index)
            case .release(let replies):
                checkRelease(by: index)
                for reply in replies { replied(reply.tag, acked: true) }
            case .reject(let tags, _):
                for tag in tags { replied(tag, acked: false) }
            case .discardWithheld:
                for client in clients.indices where clients[client].pending?.node == index { lose(client) }
            case .pauseIntake:
                nodes[index].isIntakePaused = true
            case .resumeIntake:
                nodes[index].isIntakePaused = false
            case .roleChanged(let from, let to, let reason):
                if from == .backup && to == .solo {
                    failovers += 1
                    checkNewPrimaryHoldsAckedTokens(index, reason: reason.description)
                }
                noteWhetherTheStateSurvives()
            case .note(let line):
                if line.contains("diverged") { violations.append("seed \(seed): n\(index) \(line)") }
            case .exit:
                crash(index, silently: false)
            }
        }
        flush(&batches, from: index)
    }

    private mutating func flush(_ batches: inout [(ChannelID, [Frame])], from index: Int) {
        for (channel, frames) in batches { send(frames, on: channel, from: index) }
        batches.removeAll()
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

    // MARK: Network

    private func nodeIndex(of address: String) -> Int? {
        address == "n0:channel" ? 0 : address == "n1:channel" ? 1 : nil
    }

    private mutating func dial(_ address: String, from index: Int) {
        let incarnation = nodes[index].incarnation
        guard let target = nodeIndex(of: address), target != index, nodes[target].isUp,
            !cutDirections.contains([index, target]), !cutDirections.contains([target, index])
        else {
            schedule(.node(index, incarnation: incarnation, .dialFailed(.connectFailed(SystemError(call: "connect", errno: ECONNREFUSED)))), after: .milliseconds(1))
            return
        }
        let channel = nextChannel
        nextChannel += 1
        connections[channel] = Connection(
            ends: [(index, incarnation), (target, nodes[target].incarnation)], lastHeard: [now, now])
        let delay = latency()
        schedule(.node(index, incarnation: incarnation, .channelOpened(channel, isDialed: true)), after: delay)
        schedule(.node(target, incarnation: nodes[target].incarnation, .channelOpened(channel, isDialed: false)),
                 after: delay)
    }

    private func end(of channel: ChannelID, for index: Int) -> Int? {
        guard let connection = connections[channel] else { return nil }
        return connection.ends.firstIndex { $0.node == index && $0.incarnation == nodes[index].incarnation }
    }

    private mutating func send(_ frames: [Frame], on channel: ChannelID, from index: Int) {
        guard let from = end(of: channel, for: index), var connection = connections[channel],
            connection.openEnds[from]
        else { return }
        let to = 1 - from
        let target = connection.ends[to]
        if cutDirections.contains([index, target.node]) { return }   // lost in the partition
        var delivered = frames
        if faultsActive && faults.dropFrames && random.next() % 200 == 0 {
            delivered.remove(at: Int(random.next() % UInt64(delivered.count)))
        }
        if faultsActive && faults.duplicateFrames && random.next() % 50 == 0, let first = delivered.first {
            delivered.insert(first, at: 0)
        }
        guard !delivered.isEmpty else { return }
        // A stream delivers in order: never before what was sent on it earlier.
        let at = max(now + latency(), connection.lastDelivery[to])
        connection.lastDelivery[to] = at
        connection.lastHeard[to] = max(connection.lastHeard[to], at)
        connections[channel] = connection
                queue.push(.node(target.node, incarnation: target.incarnation, .framesArrived(channel, delivered)), at: at)
    }

    private mutating func close(_ channel: ChannelID, by index: Int) {
        guard let from = end(of: channel, for: index), var connection = connections[channel],
            connection.openEnds[from]
        else { return }
        connection.openEnds[from] = false
        connections[channel] = connection
        let target = connection.ends[1 - from]
        if !cutDirections.contains([index, target.node]) {
            let at = max(now + latency(), connection.lastDelivery[1 - from])
            queue.push(.node(target.node, incarnation: target.incarnation,
                             .channelClosed(channel, .endOfStream)), at: at)
        }
    }

    /// Heartbeats, as the transport does them: each open end hears its peer unless the peer is
    /// down, paused or cut off; an end that has heard nothing for the timeout closes on its own.
    private mutating func checkLiveness() {
        // An idle end sends what its core says a heartbeat carries (a backup repeats its ack), after its first frame
        // (a hello or a checkpoint), as the transport does.
        for channel in connections.keys.sorted() {
            guard let connection = connections[channel] else { continue }
            for from in 0..<2 where connection.openEnds[from] {
                let sender = connection.ends[from]
                let lastSent = connection.lastDelivery[1 - from]
                guard lastSent != .zero, now.since(lastSent) >= Self.heartbeatInterval, nodes[sender.node].isUp,
                    nodes[sender.node].incarnation == sender.incarnation, !nodes[sender.node].isPaused
                else { continue }
                send([nodes[sender.node].core.heartbeat], on: channel, from: sender.node)
            }
        }
        for channel in connections.keys.sorted() {
            guard var connection = connections[channel] else { continue }
            for to in 0..<2 {
                let sender = connection.ends[1 - to], receiver = connection.ends[to]
                let senderAlive = connection.openEnds[1 - to] && nodes[sender.node].isUp
                    && nodes[sender.node].incarnation == sender.incarnation && !nodes[sender.node].isPaused
                if senderAlive && !cutDirections.contains([sender.node, receiver.node]) {
                    connection.lastHeard[to] = now
                }
            }
            connections[channel] = connection
            for to in 0..<2 where connection.openEnds[to] {
                let receiver = connection.ends[to]
                guard nodes[receiver.node].isUp, nodes[receiver.node].incarnation == receiver.incarnation,
                    !nodes[receiver.node].isPaused, now.since(connection.lastHeard[to]) > Self.silenceTimeout
                else { continue }
                // The end closes when this arrives (see `admit`).
                queue.push(.node(receiver.node, incarnation: receiver.incarnation,
                                 .channelClosed(channel, .peerSilent(Self.silenceTimeout))), at: now)
            }
        }
    }

    // MARK: Faults

    private mutating func injectFault() {
        guard faultsActive else { return }
        defer { schedule(.fault, after: .milliseconds(Int64(150 + random.next() % 400))) }
        let primary = nodes.indices.filter { nodes[$0].isUp && nodes[$0].core.status.isServing }
            .max { nodes[$0].core.status.epoch < nodes[$1].core.status.epoch }
        let roll = random.next()
        var choices: [Int] = []
        if faults.crashPrimary { choices.append(0) }
        if faults.crashBackup { choices.append(1) }
        if faults.partition { choices.append(2) }
        if faults.oneWayLoss { choices.append(3) }
        if faults.pauseNode { choices.append(4) }
        if faults.arbiterOutage { choices.append(5) }
        guard !choices.isEmpty else { return }
        let heal = Duration.milliseconds(Int64(100 + random.next() % 400))
        let choice = choices[Int(roll % UInt64(choices.count))]
        if Self.isTracing { print("\(now) fault \(choice) for \(heal)") }
        switch choice {
        case 0:
            // One failure at a time: losing the primary before a backup holds its state loses the
            // data, and then nobody may go live (correctly); that double failure is not this test's.
            if let primary, hasProtectingBackup(primary) { crashAndRestart(primary) }
        case 1:
            // Only a backup beside a serving primary: crashing the last holder of the state is a double failure.
            if let primary, nodes[1 - primary].isUp { crashAndRestart(1 - primary) }
        case 2:
            cutDirections = [[0, 1], [1, 0]]
            healPartitionLater(heal)
        case 3:
            let from = Int(random.next() % 2)
            cutDirections = [[from, 1 - from]]
            healPartitionLater(heal)
        case 4:
            let index = Int(random.next() % 2)
            if nodes[index].isUp && !nodes[index].isPaused {
                nodes[index].isPaused = true
                schedule(.resume(index), after: heal)
            }
        default:
            arbiterDownUntil = now + heal
        }
    }

    private mutating func healPartitionLater(_ after: Duration) {
        // Partitions heal by themselves; modelled as a resume of no node.
        queue.push(.resume(-1), at: now + after)
    }

    private mutating func crashAndRestart(_ index: Int) {
        crash(index, silently: faults.silentCrash)
        schedule(.restart(index), after: .milliseconds(Int64(50 + random.next() % 200)))
    }

    private mutating func crash(_ index: Int, silently: Bool) {
        guard nodes[index].isUp else { return }
        defer { noteWhetherTheStateSurvives() }
        nodes[index].isUp = false
        nodes[index].isPaused = false
        nodes[index].deferred = []
        for client in clients.indices where clients[client].pending?.node == index { lose(client) }
        for channel in connections.keys.sorted() {
            guard end(of: channel, for: index) != nil else { continue }
            if silently {
                continue  // a machine that vanished: the peer finds out from silence
            }
            close(channel, by: index)   // kill -9: the kernel closes the sockets
        }
    }

    private mutating func restart(_ index: Int) {
        guard !nodes[index].isUp else { return }
        let incarnation = nodes[index].incarnation + 1
        nodes[index] = SimNode(core: makeCore(index), incarnation: incarnation)
        deliver(.started, to: index)
    }

    private mutating func resume(_ index: Int) {
        guard index >= 0 else {
            if faultsActive { cutDirections.removeAll() }
            return
        }
        guard nodes[index].isPaused else { return }
        nodes[index].isPaused = false
        let deferred = nodes[index].deferred
        nodes[index].deferred = []
        for event in deferred where nodes[index].isUp && admit(event, to: index) { deliver(event, to: index) }
        if nodes[index].isUp { deliver(.timerFired, to: index) }
    }

    // MARK: Clients

    private mutating func clientStep(_ client: Int) {
        guard clientsActive, clients[client].pending == nil else { return }
        let target = clients[client].target
        guard nodes[target].isUp, !nodes[target].isIntakePaused, !nodes[target].isPaused else {
            clients[client].target = nodes[target].isUp ? target : 1 - target
            schedule(.clientStep(client), after: .milliseconds(3))
            return
        }
        let tag = nextTag
        nextTag += 1
        attempted += 1
        tagToClient[tag] = client
        clients[client].pending = (tag, target)
        schedule(.node(target, incarnation: nodes[target].incarnation,
                       .commandsArrived([ClientCommand(tag: tag, bytes: TokenLog.append(tag))])), after: latency())
    }

    private mutating func replied(_ tag: UInt64, acked isAcked: Bool) {
        guard let client = tagToClient.removeValue(forKey: tag), clients[client].pending?.tag == tag else { return }
        clients[client].pending = nil
        if isAcked {
            acked.append(tag)
            schedule(.clientStep(client), after: .microseconds(Int64(2_000 + random.next() % 6_000)))
        } else {
            clients[client].target = 1 - clients[client].target   // not the primary: try the other
            schedule(.clientStep(client), after: .milliseconds(5))
        }
    }

    private mutating func lose(_ client: Int) {
        guard let pending = clients[client].pending else { return }
        tagToClient[pending.tag] = nil
        clients[client].pending = nil
        unknown += 1
        schedule(.clientStep(client), after: .milliseconds(5))
    }

    // MARK: Checkers

    /// Set once no running node holds the replicated state (no serving primary, no protecting
    /// backup): two overlapping failures, after which nobody may go live — unavailable, not wrong.
    /// Liveness is then not expected; safety still is.
    private(set) var stateLost = false

    private mutating func noteWhetherTheStateSurvives() {
        guard !arbiter.isEmpty, !stateLost else { return }
        let holders = nodes.filter {
            let status = $0.core.status
            return $0.isUp && (status.isServing || (status.role == .backup && status.peerState == .connected))
        }
        if holders.isEmpty {
            stateLost = true
            if Self.isTracing { print("\(now) the state is lost: no running node holds it") }
        }
    }

    private mutating func checkRelease(by index: Int) {
        let epoch = nodes[index].core.status.epoch
        if let other = releasingNodeByEpoch[epoch], other != index {
            violations.append("seed \(seed): n\(index) and n\(other) both released output in epoch \(epoch)")
        }
        releasingNodeByEpoch[epoch] = index
        if epoch < highestReleasedEpoch {
            violations.append("seed \(seed): n\(index) released in epoch \(epoch) after epoch \(highestReleasedEpoch)")
        }
        highestReleasedEpoch = max(highestReleasedEpoch, epoch)
    }

    private mutating func checkNewPrimaryHoldsAckedTokens(_ index: Int, reason: String) {
        guard let machine = nodes[index].core.machine else {
            violations.append("seed \(seed): n\(index) went live without state")
            return
        }
        let held = Set(machine.tokens)
        let missing = acked.filter { !held.contains($0) }
        if !missing.isEmpty {
            violations.append("seed \(seed): n\(index) went live (\(reason)) missing acked tokens \(missing.prefix(5))")
        }
    }

    /// The final checks, once healed and quiet.
    mutating func checkFinalState() {
        let serving = nodes.indices.filter { nodes[$0].isUp && nodes[$0].core.status.isServing }
        guard serving.count == 1, let primary = serving.first, let state = nodes[primary].core.machine else {
            violations.append("seed \(seed): \(serving.count) serving nodes after healing")
            return
        }
        let tokens = state.tokens
        if Set(tokens).count != tokens.count { violations.append("seed \(seed): a token is present twice") }
        let held = Set(tokens)
        let missing = acked.filter { !held.contains($0) }
        if !missing.isEmpty { violations.append("seed \(seed): acked tokens lost: \(missing.prefix(5))") }
        if let stray = tokens.first(where: { $0 == 0 || $0 >= nextTag }) {
            violations.append("seed \(seed): token \(stray) was never sent")
        }
        let backup = 1 - primary
        if nodes[backup].isUp, nodes[backup].core.status.role == .backup,
            nodes[backup].core.appliedSequence == nodes[primary].core.appliedSequence,
            let backupState = nodes[backup].core.machine, backupState.digest() != state.digest()
        {
            violations.append("seed \(seed): digests differ at sequence \(nodes[primary].core.appliedSequence)")
        }
    }

    // MARK: Queries for run conditions

    var isProtected: Bool {
        nodes.contains { $0.isUp && $0.core.status.role == .primary && $0.core.status.peerState == .connected }
    }

    /// Whether `primary` is protected right now by a backup that is up, running and protecting.
    func hasProtectingBackup(_ primary: Int) -> Bool {
        let backup = nodes[1 - primary]
        return nodes[primary].core.status.role == .primary && backup.isUp && !backup.isPaused
            && backup.core.status.role == .backup && backup.core.status.peerState == .connected
    }

    var backupCaughtUp: Bool {
        guard let primary = nodes.indices.first(where: { nodes[$0].isUp && nodes[$0].core.status.isServing }) else {
            return false
        }
        let backup = 1 - primary
        return nodes[backup].isUp && nodes[backup].core.status.role == .backup
            && nodes[backup].core.appliedSequence == nodes[primary].core.appliedSequence
    }
}
