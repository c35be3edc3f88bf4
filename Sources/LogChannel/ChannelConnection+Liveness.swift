/// Keeping the peer honest about being alive: heartbeats on an idle connection, a close when it falls silent.
extension ChannelConnection {
    func armLivenessTimer() {
        if let timer { loop.cancel(timer) }
        let deadline = handshakeDeadline.map { min($0, liveness.nextDeadline) } ?? liveness.nextDeadline
        timer = loop.schedule(at: deadline.nanoseconds) { [self] in
            timer = nil
            livenessDeadlineReached()
        }
    }

    /// The deadline only moves later as traffic flows, so the timer fires at a possibly stale deadline, checks
    /// the real state, and re-arms: one timer per connection, no rescheduling per frame.
    func livenessDeadlineReached() {
        guard state == .open else { return }
        let now = Self.now()
        if let handshakeDeadline, now >= handshakeDeadline {
            close(.authenticationFailed(.timedOut(configuration.handshakeTimeout)))
            return
        }
        if liveness.isPeerSilent(at: now) {
            close(isClosingAfterFlush ? .closedLocally : .peerSilent(liveness.silence(at: now)))
            return
        }
        if liveness.heartbeatDue(at: now) {
            // Unwritten bytes mean the stream is blocked, not idle: a heartbeat would only queue behind them.
            // Nor before the handshake passed: the peer would take it for a stranger's frame.
            if sendBuffer.unwrittenBytes == 0, !isClosingAfterFlush, handshake == nil, let delegate {
                let heartbeat = delegate.heartbeatFrame(for: self)
                guard state == .open else { return }
                if sendBuffer.append(heartbeat) {
                    statistics.heartbeatsQueued += 1
                    queueFlush()
                }
            }
            // Counted as sent now, whatever happened: the next heartbeat is due one interval later, not at once.
            liveness.noteSent(at: now)
        }
        armLivenessTimer()
    }
}
