import LogChannel
import Posix
import Replication

/// The logging channel: accepted and dialed connections, reported to the core by id.
extension NodeDriver: ChannelConnectionDelegate {
    func channelAccepted(_ connection: ChannelConnection) {
        guard !isExiting, channels.count < RuntimeConfiguration.channelConnectionsLimit else {
            // No delegate is set, so its close reports to nobody: the core never heard of it.
            log("refusing a logging channel from \(connection.remoteAddress.map { "\($0)" } ?? "?"): "
                + (isExiting ? "this node is exiting" : "\(channels.count) channels are open already"))
            connection.close()
            return
        }
        connection.delegate = self
        channels.append(ChannelEntry(connection: connection, isDialed: false))
    }

    func dial(_ address: String) {
        let parsed: SocketAddress
        do {
            parsed = try SocketAddress(parsing: address)
        } catch {
            pendingEvents.append(.dialFailed(reason: error.description))
            return
        }
        guard channels.count < RuntimeConfiguration.channelConnectionsLimit else {
            pendingEvents.append(.dialFailed(reason: "\(channels.count) logging channels are open already"))
            return
        }
        let connection = ChannelConnection.dial(
            parsed, on: loop, configuration: channelConfiguration, delegate: self)
        channels.append(ChannelEntry(connection: connection, isDialed: true))
    }

    /// The channel with this id, if it is open.
    func channel(_ id: ChannelID) -> ChannelEntry? {
        channels.first { $0.connection.id == id }
    }

    /// The channel with this id, if frames may still be sent on it.
    private func sendableChannel(_ id: ChannelID) -> ChannelEntry? {
        guard let entry = channel(id), !entry.isClosedByCore, !entry.connection.isClosed else { return nil }
        return entry
    }

    func send(_ frame: Frame, on channel: ChannelID) {
        guard let entry = sendableChannel(channel) else { return }
        switch frame {
        case .entry: counters.channelEntriesSent += 1
        case .ack: counters.acksSent += 1
        default: break
        }
        guard case .full(let bound) = entry.connection.send(frame) else { return }
        refused(frame.kind, bound, on: entry)
    }

    func sendEntry(_ logEntry: LogEntry, epoch: UInt64, sequence: UInt64, on channel: ChannelID) {
        guard let entry = sendableChannel(channel) else { return }
        counters.channelEntriesSent += 1
        let result = entry.connection.sendEntry(
            epoch: epoch, sequence: sequence, payloadByteCount: logEntry.encodedByteCount
        ) { logEntry.encode(into: &$0) }
        guard case .full(let bound) = result else { return }
        refused(.entry, bound, on: entry)
    }

    /// The transport's bounds sit above the core's (see `channelConfiguration`), so a refusal is a bug somewhere;
    /// closing the channel makes the core treat the peer as lost, which is safe.
    private func refused(_ kind: FrameKind, _ bound: SendBuffer.FullReason, on entry: ChannelEntry) {
        let reason = "the logging channel's send buffer refused a \(kind) frame (\(bound) bound reached)"
        log("\(reason); closing \(entry.connection)")
        entry.closeReason = reason
        entry.connection.close()
    }

    func closeChannel(_ channel: ChannelID) {
        guard let entry = self.channel(channel), !entry.isClosedByCore else { return }
        entry.isClosedByCore = true
        // Flushing first, so a `.refuse` or a last ack queued just before reaches the peer.
        entry.connection.close(flushingFirst: true)
    }

    /// Adds what the channels wrote and queued since last time to the counters.
    func countChannelStatistics() {
        for entry in channels {
            let statistics = entry.connection.statistics
            counters.channelLongestSilenceMicroseconds = max(
                counters.channelLongestSilenceMicroseconds, statistics.longestSilenceNanoseconds / 1_000)
            let frames = statistics.framesQueued + statistics.heartbeatsQueued
            guard statistics.writeCalls != entry.countedWrites || frames != entry.countedFrames else { continue }
            counters.channelWrites += UInt64(statistics.writeCalls - entry.countedWrites)
            counters.channelFramesSent += UInt64(frames - entry.countedFrames)
            entry.countedWrites = statistics.writeCalls
            entry.countedFrames = frames
        }
    }

    // MARK: ChannelConnectionDelegate

    func connectionOpened(_ connection: ChannelConnection) {
        guard let entry = channel(connection.id), !entry.isClosedByCore else { return }
        entry.isOpened = true
        drive(.channelOpened(connection.id, isDialed: entry.isDialed))
    }

    func connection(_ connection: ChannelConnection, framesArrived frames: [Frame]) {
        framesHandler(connection, frames)
    }

    /// The logging channel's hot path (every ack, every entry), reached through `framesHandler`.
    func framesArrived(_ frames: [Frame], on connection: ChannelConnection) {
        guard let entry = channel(connection.id), !entry.isClosedByCore else { return }
        counters.channelDeliveries += 1
        counters.channelFramesReceived += UInt64(frames.count)
        var ackedThrough: UInt64?
        for case .ack(_, let received, _) in frames {
            counters.acksReceived += 1
            ackedThrough = max(ackedThrough ?? 0, received)
        }
        // Free the transport's copy of the acked entries first; the core's own bound is released by the same ack.
        if let ackedThrough { connection.releaseThrough(ackedThrough) }
        drive(.framesArrived(connection.id, frames))
    }

    func connection(_ connection: ChannelConnection, closedBecause reason: ChannelCloseReason) {
        countChannelStatistics()
        guard let index = channels.firstIndex(where: { $0.connection === connection }) else { return }
        let entry = channels.remove(at: index)
        if isExiting {
            checkExitComplete()
            return
        }
        guard !entry.isClosedByCore else { return }
        let text = entry.closeReason ?? reason.description
        if entry.isDialed, !entry.isOpened {
            drive(.dialFailed(reason: text))
        } else {
            drive(.channelClosed(connection.id, reason: text))
        }
    }

    /// The primary's heartbeat says how far its log goes; the backup's is its latest cumulative ack, so an idle
    /// backup keeps confirming what it holds.
    /// Heartbeats are rare (idle directions only), so they read the core's status now, not the round's.
    func heartbeatFrame(for connection: ChannelConnection) -> Frame {
        let status = core.status
        if status.role == .backup {
            counters.acksSent += 1
            return .ack(epoch: status.epoch, received: status.logSequence, applied: status.appliedSequence)
        }
        return .heartbeat(epoch: status.epoch, sequence: status.logSequence)
    }

    /// Never expected: the send limits sit above the core's, so `.full` is handled where it happens (`send`).
    func connectionHasRoom(_ connection: ChannelConnection) {}
}
