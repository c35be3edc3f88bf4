import LogChannel
import Posix
import Replication

/// The logging channel: accepted and dialed connections, reported to the core by id.
extension NodeDriver: ChannelConnectionDelegate {
    func channelAccepted(_ connection: ChannelConnection) {
        guard !isExiting, channels.count < RuntimeConfiguration.channelConnectionsLimit else {
            // No delegate is set, so its close reports to nobody: the core never heard of it.
            log(.channelRefused(
                peer: connection.remoteAddress.map { "\($0)" } ?? "?",
                isExiting ? .exiting : .tooManyChannels(channels.count)))
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
            pendingEvents.append(.dialFailed(.unparsableAddress(error.description)))
            return
        }
        guard channels.count < RuntimeConfiguration.channelConnectionsLimit else {
            pendingEvents.append(.dialFailed(.tooManyChannels(channels.count)))
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
        entry.connection.send(frame)
    }

    func sendEntry(_ logEntry: LogEntry, epoch: UInt64, sequence: UInt64, on channel: ChannelID) {
        guard let entry = sendableChannel(channel) else { return }
        counters.channelEntriesSent += 1
        entry.connection.sendEntry(
            epoch: epoch, sequence: sequence, payloadByteCount: logEntry.encodedByteCount
        ) { logEntry.encode(into: &$0) }
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
        for case .ack in frames { counters.acksReceived += 1 }
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
        if entry.isDialed, !entry.isOpened {
            drive(.dialFailed(reason))
        } else {
            drive(.channelClosed(connection.id, reason))
        }
    }

    /// What an idle channel carries is the core's decision.
    func heartbeatFrame(for connection: ChannelConnection) -> Frame {
        let frame = core.heartbeat
        if case .ack = frame { counters.acksSent += 1 }
        return frame
    }
}
