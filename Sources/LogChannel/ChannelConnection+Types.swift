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
        /// Size of the one reusable read buffer; a read fills at most this much.
        public var readBufferBytes: Int
        /// Reads per readiness event before yielding to other descriptors; level-triggered epoll calls again.
        public var readsPerEventLimit: Int

        public init(
            heartbeatInterval: Duration = .milliseconds(100),
            silenceTimeout: Duration = .milliseconds(500),
            connectTimeout: Duration = .seconds(2),
            unwrittenBytesLimit: Int = 64 << 20,
            bodyBytesLimit: Int = 1 << 20,
            readBufferBytes: Int = 64 << 10,
            readsPerEventLimit: Int = 16
        ) {
            precondition(heartbeatInterval < silenceTimeout, "heartbeats must come before the peer times out")
            precondition(connectTimeout > .zero, "a zero connect timeout would fail every dial")
            precondition(readBufferBytes > 0 && readsPerEventLimit > 0, "a connection must be able to read")
            self.heartbeatInterval = heartbeatInterval
            self.silenceTimeout = silenceTimeout
            self.connectTimeout = connectTimeout
            self.unwrittenBytesLimit = unwrittenBytesLimit
            self.bodyBytesLimit = bodyBytesLimit
            self.readBufferBytes = readBufferBytes
            self.readsPerEventLimit = readsPerEventLimit
        }
    }

    /// Where a connection is in its life; it only moves forward.
    public enum State: Equatable, Sendable {
        case connecting
        case open
        case closed(ChannelCloseReason)
    }

    /// Counters for tests and `status`; `writeCalls` against `framesQueued` shows how well writes batch.
    public struct Statistics: Equatable, Sendable {
        public var framesQueued = 0
        public var heartbeatsQueued = 0
        public var writeCalls = 0
        public var bytesWritten = 0
        public var readCalls = 0
        public var bytesRead = 0
        public var framesReceived = 0
        /// `framesArrived` calls: one per readiness event that decoded at least one frame.
        public var deliveries = 0
        /// The longest time between two reads that brought bytes: how close the peer came to the silence
        /// timeout. Measured under load, it is what the timeout must stay well above (heartbeat jitter).
        public var longestSilenceNanoseconds: UInt64 = 0
    }
}
