import LogChannel
import Node
import Posix
#if canImport(Glibc)
import Glibc
#endif

/// The logging channel's network: connections, byte streams cut at seeded points, partitions, heartbeats.
extension PairSimulation {
    private func nodeIndex(of address: String) -> Int? {
        address == "n0:channel" ? 0 : address == "n1:channel" ? 1 : nil
    }

    mutating func dial(_ address: String, from index: Int) {
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

    /// Which end of `channel` node `index` (its current incarnation) holds, if any.
    func end(of channel: ChannelID, for index: Int) -> Int? {
        guard let connection = connections[channel] else { return nil }
        return connection.ends.firstIndex { $0.node == index && $0.incarnation == nodes[index].incarnation }
    }

    /// Writes `frames` to the stream from node `index`'s end. Frame drops and duplicates happen above the codec
    /// (a sender bug the backup must notice as a gap or a repeat); the stream itself only splits and coalesces.
    mutating func send(_ frames: [Frame], on channel: ChannelID, from index: Int) {
        guard let from = end(of: channel, for: index), connections[channel]!.openEnds[from] else { return }
        connections[channel]!.lastSent[from] = now
        let to = 1 - from
        var written = frames
        if faultsActive && faults.dropFrames && random.next() % 200 == 0 {
            written.remove(at: Int(random.next() % UInt64(written.count)))
        }
        if faultsActive && faults.duplicateFrames && random.next() % 50 == 0, let first = written.first {
            written.insert(first, at: 0)
        }
        guard !written.isEmpty, !connections[channel]!.streams[to].isBroken else { return }
        if cutDirections.contains([index, connections[channel]!.ends[to].node]) {
            connections[channel]!.streams[to].breakStream()   // lost in the partition
            return
        }
        var bytes = connections[channel]!.streams[to].write(written)
        // Now and then a tail waits to go out with the next write, so chunks also span writes.
        if random.next() % 4 == 0, bytes.count > 1 {
            let kept = 1 + Int(random.next() % UInt64(bytes.count - 1))
            connections[channel]!.streams[to].hold(Array(bytes[kept...]))
            bytes.removeSubrange(kept...)
            if !connections[channel]!.streams[to].isHoldEnding {
                connections[channel]!.streams[to].isHoldEnding = true
                schedule(.holdEnded(channel, end: to), after: .microseconds(Int64(random.next() % 1_000)))
            }
        }
        transmit(bytes, on: channel, towards: to)
    }

    /// Puts `bytes` on the wire towards `to`, cut into up to four chunks at seeded points, each arriving in order.
    private mutating func transmit(_ bytes: [UInt8], on channel: ChannelID, towards to: Int) {
        guard !bytes.isEmpty else { return }
        var cuts = (0..<random.next() % 4).map { _ in Int(random.next() % UInt64(bytes.count)) }
        cuts = (Set(cuts).subtracting([0]).sorted()) + [bytes.count]
        var start = 0
        for cut in cuts {
            let at = max(now + latency(), connections[channel]!.streams[to].lastDelivery)
            connections[channel]!.streams[to].lastDelivery = at
            connections[channel]!.lastHeard[to] = max(connections[channel]!.lastHeard[to], at)
            queue.push(.bytes(channel, end: to, Array(bytes[start..<cut])), at: at)
            start = cut
        }
    }

    /// The held tail goes out, unless its sender is gone (a vanished machine sends nothing more).
    mutating func endHold(on channel: ChannelID, towards to: Int) {
        // Fields are read one by one: a local copy of the connection would share its buffers, and the
        // next write to them would copy them whole.
        guard let ends = connections[channel]?.ends else { return }
        connections[channel]!.streams[to].isHoldEnding = false
        let sender = ends[1 - to]
        guard nodes[sender.node].isUp, nodes[sender.node].incarnation == sender.incarnation,
            !connections[channel]!.streams[to].isBroken
        else { return }
        if cutDirections.contains([sender.node, ends[to].node]) {
            connections[channel]!.streams[to].breakStream()
            return
        }
        transmit(connections[channel]!.streams[to].takeHeld(), on: channel, towards: to)
    }

    /// A chunk reaches end `to`: the receiver's transport decodes it, hands over whole frames, and closes the
    /// connection if the decoder rejects the stream.
    mutating func bytesArrived(_ chunk: [UInt8], on channel: ChannelID, at to: Int) {
        guard let isOpen = connections[channel]?.openEnds[to], isOpen else { return }
        let receiver = connections[channel]!.ends[to]
        guard nodes[receiver.node].isUp, nodes[receiver.node].incarnation == receiver.incarnation else { return }
        let received = connections[channel]!.streams[to].receive(chunk)
        for mismatch in received.mismatches { report(.decoder, "channel \(channel) towards n\(receiver.node): \(mismatch)") }
        if !received.frames.isEmpty {
            offer(.framesArrived(channel, received.frames), to: receiver.node, incarnation: receiver.incarnation)
        }
        if let failure = received.failure {
            // No fault corrupts bytes, so the stream is the encoder's own output, split anywhere: a decoder that
            // rejects it is wrong. The transport still does what it must with a rejected stream: close.
            report(.decoder, "channel \(channel) towards n\(receiver.node): the decoder rejected valid frames: \(failure)")
            offer(.channelClosed(channel, .decodeFailed(failure)),
                  to: receiver.node, incarnation: receiver.incarnation)
            announceClose(of: channel, from: to)
        }
    }

    mutating func close(_ channel: ChannelID, by index: Int) {
        guard let from = end(of: channel, for: index), connections[channel]!.openEnds[from] else { return }
        connections[channel]!.openEnds[from] = false
        // A closing socket still sends what was written to it.
        let to = 1 - from
        if !connections[channel]!.streams[to].isBroken {
            transmit(connections[channel]!.streams[to].takeHeld(), on: channel, towards: to)
        }
        announceClose(of: channel, from: from)
    }

    /// The peer of end `from` learns the stream ended, after every byte sent before it.
    private mutating func announceClose(of channel: ChannelID, from: Int) {
        guard let connection = connections[channel] else { return }
        let target = connection.ends[1 - from]
        if !cutDirections.contains([connection.ends[from].node, target.node]) {
            let at = max(now + latency(), connection.streams[1 - from].lastDelivery)
            queue.push(.node(target.node, incarnation: target.incarnation,
                             .channelClosed(channel, .endOfStream)), at: at)
        }
    }

    /// Heartbeats, as the transport does them: each open end hears its peer unless the peer is down, paused,
    /// cut off or its stream broke; an end that has heard nothing for the timeout closes on its own.
    mutating func checkLiveness() {
        // An idle end sends what its core says a heartbeat carries (a backup repeats its ack), once it has sent its
        // first frame (a hello or a checkpoint), as the transport does.
        for channel in connections.keys.sorted() {
            guard let connection = connections[channel] else { continue }
            for from in 0..<2 where connection.openEnds[from] {
                let sender = connection.ends[from]
                guard let lastSent = connection.lastSent[from], now.since(lastSent) >= Self.heartbeatInterval,
                    nodes[sender.node].isUp, nodes[sender.node].incarnation == sender.incarnation,
                    !nodes[sender.node].isPaused
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
                if senderAlive && !cutDirections.contains([sender.node, receiver.node])
                    && !connection.streams[to].isBroken
                {
                    connection.lastHeard[to] = now
                }
            }
            connections[channel]!.lastHeard = connection.lastHeard
            for to in 0..<2 where connection.openEnds[to] {
                let receiver = connection.ends[to]
                guard nodes[receiver.node].isUp, nodes[receiver.node].incarnation == receiver.incarnation,
                    !nodes[receiver.node].isPaused, now.since(connection.lastHeard[to]) > Self.silenceTimeout
                else { continue }
                // The end closes when this arrives (see `admit`).
                let silence = ChannelCloseReason.peerSilent(now.since(connection.lastHeard[to]))
                queue.push(.node(receiver.node, incarnation: receiver.incarnation,
                                 .channelClosed(channel, silence)), at: now)
            }
        }
    }
}
