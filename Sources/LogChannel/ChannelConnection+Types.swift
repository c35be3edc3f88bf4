/// The values a connection is configured with and reports.
extension ChannelConnection {
    /// The knobs of one connection. The defaults suit a LAN pair: sub-second failure detection (DESIGN, 3).
    public struct Configuration: Sendable, Equatable {
        /// Send the owner's heartbeat after this long without sending anything.
        public var heartbeatInterval: Duration
        /// Close with `.peerSilent` after this long without receiving anything; several heartbeat intervals.
        public var silenceTimeout: Duration
        /// Give up a dial not connected after this long (a SYN to a dead host is otherwise retried for minutes).
        public var connectTimeout: Duration
        /// Bytes sent and not yet taken by the socket; a peer that leaves more unread is closed
        /// (`.sendBufferFull`). The owner's own bounds (the primary's unacked log) must sit well below it.
        public var unwrittenBytesLimit: Int
        /// The largest frame body accepted from the peer; larger is corruption or a misconfigured peer.
        public var bodyBytesLimit: Int
        /// The largest entry accepted from the peer once its parts are joined (`Frame.entryPartBytes`).
        public var entryBytesLimit: Int
        /// Size of the one reusable read buffer; a read fills at most this much.
        public var readBufferBytes: Int
        /// Reads per readiness event before yielding to other descriptors; level-triggered epoll calls again.
        public var readsPerEventLimit: Int
        /// Close a connection whose required handshake has not passed this long after it opened, however much the
        /// peer trickles meanwhile: a stranger cannot hold one of the node's few channel slots.
        public var handshakeTimeout: Duration

        /// Creates a configuration; the heartbeat interval must be shorter than the silence timeout, so a live but idle
        /// peer is never declared dead.
        public init(
            heartbeatInterval: Duration = .milliseconds(100),
            silenceTimeout: Duration = .milliseconds(500),
            connectTimeout: Duration = .seconds(2),
            unwrittenBytesLimit: Int = 64 << 20,
            bodyBytesLimit: Int = 1 << 20,
            entryBytesLimit: Int = 64 << 20,
            readBufferBytes: Int = 64 << 10,
            readsPerEventLimit: Int = 16,
            handshakeTimeout: Duration = .seconds(1)
        ) {
            precondition(heartbeatInterval < silenceTimeout, "heartbeats must come before the peer times out")
            precondition(connectTimeout > .zero, "a zero connect timeout would fail every dial")
            precondition(handshakeTimeout > .zero, "a zero handshake timeout would fail every connection")
            precondition(readBufferBytes > 0 && readsPerEventLimit > 0, "a connection must be able to read")
            self.heartbeatInterval = heartbeatInterval
            self.silenceTimeout = silenceTimeout
            self.connectTimeout = connectTimeout
            self.unwrittenBytesLimit = unwrittenBytesLimit
            self.bodyBytesLimit = bodyBytesLimit
            self.entryBytesLimit = entryBytesLimit
            self.readBufferBytes = readBufferBytes
            self.readsPerEventLimit = readsPerEventLimit
            self.handshakeTimeout = handshakeTimeout
        }
    }

    /// Where a connection is in its life; it only moves forward.
    public enum State: Equatable, Sendable {
        /// Dialed and not yet connected; frames sent now wait in the send buffer.
        case connecting
        /// Connected: frames flow both ways and liveness is watched.
        case open
        /// Closed for good, for the reason given; a connection is never reopened.
        case closed(ChannelCloseReason)
    }

    /// Counters for tests and `status`; `writeCalls` against `framesQueued` shows how well writes batch.
    public struct Statistics: Equatable, Sendable {
        /// Frames the owner sent, heartbeats not included.
        public var framesQueued = 0
        /// Heartbeats the connection queued on the owner's behalf while the channel was idle.
        public var heartbeatsQueued = 0
        /// Socket writes that took at least one byte.
        public var writeCalls = 0
        /// Bytes the socket took.
        public var bytesWritten = 0
        /// Socket reads that returned data or end of stream, not those that would have blocked.
        public var readCalls = 0
        /// Bytes read from the socket.
        public var bytesRead = 0
        /// Frames decoded and handed to the owner.
        public var framesReceived = 0
        /// `framesArrived` calls: one per readiness event that decoded at least one frame.
        public var deliveries = 0
        /// The longest time between two reads that brought bytes: how close the peer came to the silence
        /// timeout. Measured under load, it is what the timeout must stay well above (heartbeat jitter).
        public var longestSilenceNanoseconds: UInt64 = 0
    }
}
