import LogChannel
import Node
import Posix
import Replication

/// The logging channel's sockets: the listener, every accepted or dialed connection, and what is sent on them.
///
/// The core knows channels only by id; this part keeps the table from ids to connections, performs the core's
/// channel actions (dial, send, log an entry, close) and turns each connection's callbacks into the core's events
/// (`.channelOpened`, `.framesArrived`, `.channelClosed`, `.dialFailed`), which it hands to the driver through
/// `report`. Another transport would replace this part alone.
///
/// Every channel, accepted or dialed, must pass a `ChannelHandshake` under the cluster secret before the core hears of
/// it (the connection runs it; see `ChannelConnection.requireHandshake`), and the table keeps two kinds apart:
/// - Accepted connections still in their handshake (strangers, until proved otherwise): at most
///   `RuntimeConfiguration.unauthenticatedChannelsLimit`. A new one past that takes the place of the one that has
///   shown least: the oldest that has not even sent its challenge, else the oldest. An honest peer sends its
///   challenge on connecting and its proof one round trip later, so a crowd of idle or half-sent connections
///   cannot hold it out; each also goes at `channelHandshakeTimeout`.
/// - Every other channel (authenticated, or dialed by this node): at most
///   `RuntimeConfiguration.channelConnectionsLimit`, usually one; an accepted connection past that is refused
///   before the core hears of it, because a pair needs one channel.
/// Every refusal, failed handshake and eviction is counted (`lockstep_channel_refusals_<code>`, and the close code
/// in `lockstep_channel_closes_<code>`) and logged, rate-limited (`ChannelRefusal.logEvery`).
final class ChannelPort: ChannelConnectionDelegate {
    /// What this node proves itself with, and where its challenge nonces come from.
    struct Authentication {
        let nodeName: String
        let secret: ClusterSecret
        var entropy: any EntropySource

        /// A fresh handshake for one connection, with `Frame.challengeNonceBytes` new random bytes.
        mutating func handshake(as role: ChannelHandshake.Role) -> ChannelHandshake {
            var nonce: [UInt8] = []
            nonce.reserveCapacity(Frame.challengeNonceBytes)
            while nonce.count < Frame.challengeNonceBytes {
                withUnsafeBytes(of: entropy.randomValue()) { nonce.append(contentsOf: $0) }
            }
            return ChannelHandshake(
                role: role, localName: nodeName, secret: secret, localNonce: Array(nonce.prefix(Frame.challengeNonceBytes)))
        }
    }

    /// One connection and what the port knows about it; a class, so finding one for each frame sent copies no fields.
    final class Entry {
        let connection: ChannelConnection
        let isDialed: Bool
        var isOpened = false
        /// The core closed it (or the node is exiting): its end is not reported to the core.
        var isClosedByCore = false
        /// How much of the connection's statistics is already in the counters.
        var countedWrites = 0
        var countedFrames = 0

        init(connection: ChannelConnection, isDialed: Bool) {
            self.connection = connection
            self.isDialed = isDialed
        }
    }

    /// Where the listener is bound (port 0 resolved).
    let address: SocketAddress
    private let loop: EventLoop
    private let configuration: ChannelConnection.Configuration
    private let counters: CounterStore
    private let log: @Sendable (RuntimeEvent) -> Void
    private let listener: ChannelListener
    private var authentication: Authentication
    /// Refusals so far, by `ChannelRefusal.code`: the count each rate-limited log line reports.
    private var refusals: [String: Int] = [:]
    /// Searched by id: a list, because hashing an id for every frame sent costs more than the search.
    private var entries: [Entry] = []
    /// The node is exiting: no new channel, and the end of one is reported to `exitDrain`, not to the core.
    private var isExiting = false
    /// Told when a channel ends while the node exits; set by the driver.
    weak var exitDrain: ExitDrain?

    /// Hands an event to the core, through the driver. Set once by the driver, where the client protocol is known:
    /// the path every ack and entry takes then runs code specialised for the app, where a call through a generic
    /// class's protocol witness would run unspecialised code (Benchmarks/README.md).
    var report: (consuming NodeEvent) -> Void = { _ in preconditionFailure("the driver sets ChannelPort.report first") }
    /// What an idle channel carries: the core's decision, asked through the driver, which sets this once.
    var heartbeat: () -> Frame = { preconditionFailure("the driver sets ChannelPort.heartbeat first") }

    /// Binds the listener now, so a busy port is an error before anything runs.
    init(
        listeningOn listenAddress: SocketAddress, loop: EventLoop, configuration: ChannelConnection.Configuration,
        authentication: Authentication, counters: CounterStore, log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(SystemError) {
        // The listener's handler needs `self`, which exists only once every property is set; it reaches it
        // through this box, filled before the loop can run a handler.
        let box = WeakBox()
        listener = try ChannelListener(on: listenAddress, loop: loop, configuration: configuration) {
            box.value?.accepted($0)
        }
        listener.onAcceptError = { log(.acceptFailed(role: "logging channel", $0)) }
        address = listener.address
        self.loop = loop
        self.configuration = configuration
        self.counters = counters
        self.log = log
        self.authentication = authentication
        box.value = self
    }

    /// Tells every authenticated peer that this node is about to work through `bytes` of requests or entries in one
    /// step (`BusyNotice`), when they are enough to matter.
    func announceBusy(forBytes bytes: Int) {
        guard bytes >= BusyNotice.thresholdBytes else { return }
        for entry in entries where entry.isOpened && !entry.isClosedByCore {
            entry.connection.announceBusy(for: BusyNotice.allowance(forBytes: bytes))
        }
    }

    /// A weak reference that can be handed out before `self` exists.
    private final class WeakBox {
        weak var value: ChannelPort?
    }

    var isEmpty: Bool { entries.isEmpty }

    /// Whether an entry is an accepted connection whose peer has not yet proved the cluster secret.
    private static func isStranger(_ entry: Entry) -> Bool {
        !entry.isDialed && entry.connection.isAwaitingAuthentication && !entry.connection.isClosed
    }

    private func accepted(_ connection: ChannelConnection) {
        // An evicted or failed connection stays listed until its close is reported, at the end of the round.
        let open = entries.lazy.filter { !$0.connection.isClosed }
        let strangers = open.filter(Self.isStranger).count
        let channels = open.count - strangers
        guard !isExiting, channels < RuntimeConfiguration.channelConnectionsLimit else {
            // No delegate is set, so its close reports to nobody: the core never heard of it.
            refused(connection, isExiting ? .exiting : .tooManyChannels(channels))
            connection.close()
            return
        }
        if strangers >= RuntimeConfiguration.unauthenticatedChannelsLimit {
            // Entries are in the order they came, so the first match is the oldest.
            let victim = entries.first { Self.isStranger($0) && $0.connection.isAwaitingPeerChallenge }
                ?? entries.first(where: Self.isStranger)
            if let victim {
                refused(victim.connection, .evictedBeforeHandshake(RuntimeConfiguration.unauthenticatedChannelsLimit))
                victim.connection.evictBeforeHandshake(
                    unauthenticatedLimit: RuntimeConfiguration.unauthenticatedChannelsLimit)
            }
        }
        connection.delegate = self
        connection.requireHandshake(authentication.handshake(as: .acceptor))
        entries.append(Entry(connection: connection, isDialed: false))
    }

    /// Counts a refusal and logs it at the first of its kind and every `ChannelRefusal.logEvery`th, with the count
    /// so far.
    private func refused(_ connection: ChannelConnection, _ refusal: ChannelRefusal) {
        counters.values.channelRefusals[refusal.code, default: 0] += 1
        let total = refusals[refusal.code, default: 0] + 1
        refusals[refusal.code] = total
        guard total == 1 || total % ChannelRefusal.logEvery == 0 else { return }
        log(.channelRefused(peer: connection.remoteAddress.map { "\($0)" } ?? "?", refusal, total: total))
    }

    // MARK: The core's channel actions

    /// Starts connecting; returns the `.dialFailed` event at once if that cannot even begin, for the driver to
    /// queue behind the actions being performed.
    func dial(_ address: String) -> NodeEvent? {
        let parsed: SocketAddress
        do {
            parsed = try SocketAddress(parsing: address)
        } catch {
            return .dialFailed(.unparsableAddress(error.description))
        }
        guard entries.count < RuntimeConfiguration.channelConnectionsLimit else {
            return .dialFailed(.tooManyChannels(entries.count))
        }
        let connection = ChannelConnection.dial(parsed, on: loop, configuration: configuration, delegate: self)
        connection.requireHandshake(authentication.handshake(as: .dialer))
        entries.append(Entry(connection: connection, isDialed: true))
        return nil
    }

    /// The channel with this id, if it is open.
    private func entry(_ id: ChannelID) -> Entry? {
        entries.first { $0.connection.id == id }
    }

    /// The channel with this id, if frames may still be sent on it.
    private func sendableEntry(_ id: ChannelID) -> Entry? {
        guard let entry = entry(id), !entry.isClosedByCore, !entry.connection.isClosed else { return nil }
        return entry
    }

    func send(_ frame: Frame, on channel: ChannelID) {
        guard let entry = sendableEntry(channel) else { return }
        switch frame {
        case .entry: counters.values.channelEntriesSent += 1
        case .ack: counters.values.acksSent += 1
        default: break
        }
        entry.connection.send(frame)
    }

    func sendEntry(_ logEntry: LogEntry, epoch: UInt64, sequence: UInt64, on channel: ChannelID) {
        guard let entry = sendableEntry(channel) else { return }
        counters.values.channelEntriesSent += 1
        entry.connection.sendEntry(
            epoch: epoch, sequence: sequence, payloadByteCount: logEntry.encodedByteCount
        ) { logEntry.write(into: $0) }
    }

    func close(_ channel: ChannelID) {
        guard let entry = entry(channel), !entry.isClosedByCore else { return }
        entry.isClosedByCore = true
        // Flushing first, so a `.refuse` or a last ack queued just before reaches the peer.
        entry.connection.close(flushingFirst: true)
    }

    // MARK: Exit

    /// The first step of the node's exit: no channel is accepted any more.
    func stopAccepting() {
        isExiting = true
        listener.close()
    }

    /// Closes every channel the core has not closed, flushing first: a handover frame must reach the backup,
    /// which then closes its end.
    func closeAllForExit() {
        for entry in entries where !entry.isClosedByCore {
            entry.isClosedByCore = true
            entry.connection.close(flushingFirst: true)
        }
    }

    // MARK: Statistics

    /// Adds what the channels wrote and queued since last time to the counters.
    func countStatistics() {
        for entry in entries {
            let statistics = entry.connection.statistics
            counters.values.channelLongestSilenceMicroseconds = max(
                counters.values.channelLongestSilenceMicroseconds, statistics.longestSilenceNanoseconds / 1_000)
            let frames = statistics.framesQueued + statistics.heartbeatsQueued
            guard statistics.writeCalls != entry.countedWrites || frames != entry.countedFrames else { continue }
            counters.values.channelWrites += UInt64(statistics.writeCalls - entry.countedWrites)
            counters.values.channelFramesSent += UInt64(frames - entry.countedFrames)
            entry.countedWrites = statistics.writeCalls
            entry.countedFrames = frames
        }
    }

    // MARK: ChannelConnectionDelegate

    func connectionOpened(_ connection: ChannelConnection) {
        guard let entry = entry(connection.id), !entry.isClosedByCore else { return }
        entry.isOpened = true
        report(.channelOpened(connection.id, isDialed: entry.isDialed))
    }

    /// The logging channel's hot path: every ack, every entry.
    func connection(_ connection: ChannelConnection, framesArrived frames: consuming [Frame]) {
        guard let entry = entry(connection.id), !entry.isClosedByCore else { return }
        counters.values.channelDeliveries += 1
        counters.values.channelFramesReceived += UInt64(frames.count)
        var entryBytes = 0
        for index in frames.indices {  // by index: iterating would consume the frames, which go on to the core
            switch frames[index] {
            case .ack: counters.values.acksReceived += 1
            case .entry(_, _, let payload): entryBytes += payload.count
            default: break
            }
        }
        // Replaying them may hold the loop for a while: the primary must not take that for a dead backup.
        if entryBytes >= BusyNotice.thresholdBytes { connection.announceBusy(for: BusyNotice.allowance(forBytes: entryBytes)) }
        report(.framesArrived(connection.id, consume frames))
    }

    func connection(_ connection: ChannelConnection, closedBecause reason: ChannelCloseReason) {
        countStatistics()
        counters.values.channelCloses[reason.code, default: 0] += 1
        guard let index = entries.firstIndex(where: { $0.connection === connection }) else { return }
        let entry = entries.remove(at: index)
        switch reason {
        case .authenticationFailed(let failure): refused(connection, .authenticationFailed(failure))
        case .decodeFailed(let error) where !entry.isOpened: refused(connection, .undecodableBeforeHandshake(error))
        default: break  // an eviction was counted and logged when it was decided
        }
        if isExiting {
            exitDrain?.checkComplete()
            return
        }
        // An accepted connection that never passed its handshake is one the core never heard of.
        guard !entry.isClosedByCore, entry.isOpened || entry.isDialed else { return }
        if entry.isDialed, !entry.isOpened {
            report(.dialFailed(reason))
        } else {
            report(.channelClosed(connection.id, reason))
        }
    }

    func heartbeatFrame(for connection: ChannelConnection) -> Frame {
        let frame = heartbeat()
        if case .ack = frame { counters.values.acksSent += 1 }
        return frame
    }
}
