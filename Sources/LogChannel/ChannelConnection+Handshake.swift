/// Authentication at the start of a connection: the owner hears of it only once the peer proved it holds the cluster
/// secret (`ChannelHandshake`).
///
/// Until then the connection holds little for the peer: frames announcing more than `Frame.handshakeBodyBytesLimit`
/// are refused at their header, and reads go through a buffer of `handshakeReadBufferBytes`, so a stranger that
/// connects and sends half a frame costs the node a few kilobytes, not what the frame announces.
extension ChannelConnection {
    /// Bytes of the read buffer before the handshake passes: room for a handshake frame in a few reads.
    public static let handshakeReadBufferBytes = 16 << 10

    /// Makes the peer pass `handshake` before the owner hears of this connection. Call it in the round the
    /// connection was dialed or adopted, before anything is sent; the handshake's challenge is the first frame out.
    public func requireHandshake(_ handshake: ChannelHandshake) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.requireHandshake off the loop thread")
        precondition(self.handshake == nil && authenticatedPeerName == nil, "a connection has one handshake")
        precondition(sendBuffer.unwrittenBytes == 0, "frames were sent before the handshake's challenge")
        guard !isClosed else { return }
        self.handshake = handshake
        fitReadingToHandshake()
    }

    /// Whether the peer has yet to prove it holds the cluster secret (a required handshake is pending).
    public var isAwaitingAuthentication: Bool { handshake != nil }

    /// Whether a pending handshake still waits for the peer's challenge, the first frame an honest peer sends.
    public var isAwaitingPeerChallenge: Bool { handshake.map { !$0.hasReceivedChallenge } ?? false }

    /// Closes a connection whose handshake is still pending because a newer one needs its place among the owner's
    /// `unauthenticatedLimit` unauthenticated connections; the delegate hears `.evictedBeforeHandshake`.
    public func evictBeforeHandshake(unauthenticatedLimit: Int) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.evictBeforeHandshake off the loop thread")
        precondition(handshake != nil, "only a connection that has not authenticated is evicted")
        close(.evictedBeforeHandshake(unauthenticatedLimit: unauthenticatedLimit), notifyingLater: true)
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

    /// The frame limit and read buffer for where the handshake is: small while it is pending, the configured ones
    /// after.
    func fitReadingToHandshake() {
        let isPending = handshake != nil
        decoder.bodyBytesLimit =
            isPending ? min(configuration.bodyBytesLimit, Frame.handshakeBodyBytesLimit) : configuration.bodyBytesLimit
        let readBytes =
            isPending ? min(configuration.readBufferBytes, Self.handshakeReadBufferBytes) : configuration.readBufferBytes
        if readBuffer.count != readBytes {
            readBuffer.deallocate()
            readBuffer = .allocate(byteCount: readBytes, alignment: 16)
        }
    }

    /// Hands one frame to the pending handshake. A passed handshake tells the owner, and the frames after it (a
    /// backup's hello, say, in the same read as its proof) are the owner's; a failed one closes the connection.
    func passHandshake(_ frame: Frame) {
        guard var pending = handshake else { return }
        let step = pending.received(frame)
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
            fitReadingToHandshake()
            armLivenessTimer()
            delegate?.connectionOpened(self)
        case .failed(let failure):
            handshake = nil
            handshakeDeadline = nil
            close(.authenticationFailed(failure))
        }
    }
}
