/// Authentication at the start of a connection: the owner hears of it only once the peer proved it holds the cluster
/// secret (`ChannelHandshake`).
extension ChannelConnection {
    /// Makes the peer pass `handshake` before the owner hears of this connection. Call it in the round the
    /// connection was dialed or adopted, before anything is sent; the handshake's challenge is the first frame out.
    public func requireHandshake(_ handshake: ChannelHandshake) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.requireHandshake off the loop thread")
        precondition(self.handshake == nil && authenticatedPeerName == nil, "a connection has one handshake")
        precondition(sendBuffer.unwrittenBytes == 0, "frames were sent before the handshake's challenge")
        guard !isClosed else { return }
        self.handshake = handshake
    }

    /// The connection is open: start the handshake if one is required, else tell the owner.
    func opened() {
        guard let handshake else {
            delegate?.connectionOpened(self)
            return
        }
        handshakeDeadline = Self.now() + configuration.handshakeTimeout
        if sendBuffer.append(handshake.challenge) { queueFlush() }
        armLivenessTimer()
    }

    /// Hands frames to the pending handshake until it finishes; returns how many it took. The frames after a
    /// passed handshake are the owner's (a backup's hello, say, in the same read as its proof).
    func passHandshake(_ frames: [Frame]) -> Int {
        var taken = 0
        while taken < frames.count, var pending = handshake {
            let step = pending.received(frames[taken])
            taken += 1
            handshake = pending
            switch step {
            case .send(let frame):
                if sendBuffer.append(frame) { queueFlush() }  // a handshake frame is tiny; the buffer is empty
            case .waiting:
                break
            case .authenticated(let peerName):
                handshake = nil
                handshakeDeadline = nil
                authenticatedPeerName = peerName
                armLivenessTimer()
                delegate?.connectionOpened(self)
                if state != .open { return taken }
            case .failed(let failure):
                handshake = nil
                handshakeDeadline = nil
                close(.authenticationFailed(failure))
                return taken
            }
        }
        return taken
    }
}
