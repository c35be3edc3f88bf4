import Glibc
import Posix
import Synchronization

/// Ids for connections, unique within the process; the cores name channels by them, never by socket.
private let nextChannelID = Atomic<UInt64>(1)

/// One logging-channel TCP connection, living on one `EventLoop` thread: socket, decoder, send buffer, liveness.
///
/// The connection moves bytes and keeps the peer honest about being alive; it does not interpret frames (except
/// that any frame counts as a sign of life). Its owner, through `ChannelConnectionDelegate`, decides what frames
/// mean, when to ack, and what a heartbeat carries.
///
/// Batching, because batched writes plus cumulative acks are how throughput scales (IO-FINDINGS): `send` only
/// appends to the `SendBuffer` and queues one flush for the end of the loop round, so every frame of a round leaves
/// in one `write()`; reads drain the socket and hand every frame decoded to the owner in one `framesArrived` call,
/// so the receiver can answer with one ack. A partial write keeps EPOLLOUT interest until the buffer drains.
///
/// Authentication: an owner that calls `requireHandshake` in the round it dialed or adopted the connection hears of
/// it (`connectionOpened`) only once the peer proved it holds the cluster secret (`ChannelHandshake`); until then
/// every frame goes to the handshake, none to the owner, and no heartbeat is sent. A failed handshake, or one not
/// finished within `handshakeTimeout`, closes with `.authenticationFailed`.
///
/// Failure: a decode error, an I/O error, end of stream, `silenceTimeout` without a byte from the peer, or a peer that
/// leaves `unwrittenBytesLimit` bytes unread closes the connection and reports why, once. A connection is never
/// reopened; the owner dials or accepts a new one.
///
/// Threading: every method must be called on the loop thread (or while the loop is not running). The loop keeps
/// the connection alive while it is registered; after it closes, the owner's reference is the last.
public final class ChannelConnection {
    /// The process-unique id the cores know this connection by.
    public let id: ChannelID
    /// The loop whose thread owns this connection; every call must be made on it.
    public let loop: EventLoop
    /// The timeouts and bounds this connection keeps.
    public let configuration: Configuration
    /// The dialed address, or the accepted peer's address.
    public let remoteAddress: SocketAddress?
    /// Weak: the owner holds the connection, not the other way round.
    public weak var delegate: (any ChannelConnectionDelegate)?
    /// Where the connection is in its life; it only moves forward.
    public private(set) var state: State
    /// Read-only for the owner: `unwrittenBytes`.
    public internal(set) var sendBuffer: SendBuffer
    /// When the peer last spoke and when this side last did: decides heartbeats and the silence timeout.
    public internal(set) var liveness: PeerLiveness
    /// Counters of frames, calls and bytes since the connection was made.
    public internal(set) var statistics = Statistics()

    private var registration: EventLoop.Registration?
    /// Its body limit is small until a required handshake passes (`fitReadingToHandshake`).
    var decoder: FrameDecoder
    /// Until when the last `Frame.busy` this end sent excuses it.
    var busyAnnouncedUntil = Instant.zero
    /// Reused by every read: no allocation per read. Small until a required handshake passes.
    var readBuffer: UnsafeMutableRawBufferPointer
    /// The one timer a connection keeps: the connect timeout while connecting, then the liveness deadline.
    var timer: EventLoop.TimerID?
    private var isFlushQueued = false
    /// `close(flushingFirst: true)` was called: no more frames are delivered; close once the buffer is written.
    var isClosingAfterFlush = false
    /// The handshake the peer must pass before the owner hears of the connection; nil once passed, or if none.
    var handshake: ChannelHandshake?
    /// When a pending handshake must have finished.
    var handshakeDeadline: Instant?
    /// The peer's node name, once it proved it holds the cluster secret; nil without a handshake.
    public internal(set) var authenticatedPeerName: String?

    private init(
        loop: EventLoop, configuration: Configuration, delegate: (any ChannelConnectionDelegate)?,
        remoteAddress: SocketAddress?, state: State
    ) {
        id = nextChannelID.wrappingAdd(1, ordering: .relaxed).oldValue
        self.loop = loop
        self.configuration = configuration
        self.delegate = delegate
        self.remoteAddress = remoteAddress
        self.state = state
        sendBuffer = SendBuffer(unwrittenBytesLimit: configuration.unwrittenBytesLimit)
        decoder = FrameDecoder(bodyBytesLimit: configuration.bodyBytesLimit, entryBytesLimit: configuration.entryBytesLimit)
        liveness = PeerLiveness(
            heartbeatInterval: configuration.heartbeatInterval, silenceTimeout: configuration.silenceTimeout,
            now: Self.now())
        readBuffer = .allocate(byteCount: configuration.readBufferBytes, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    // MARK: Opening

    /// Starts connecting to `address`. Never throws: a failure, immediate or not, reaches the delegate as
    /// `closedBecause(.connectFailed)`, after this call returns.
    ///
    /// Frames may be sent at once; they are written when the connection opens.
    public static func dial(
        _ address: SocketAddress, on loop: EventLoop, configuration: Configuration = Configuration(),
        delegate: (any ChannelConnectionDelegate)?
    ) -> ChannelConnection {
        precondition(loop.isOwnedByCaller, "ChannelConnection.dial off the loop thread")
        let connection = ChannelConnection(
            loop: loop, configuration: configuration, delegate: delegate, remoteAddress: address, state: .connecting)
        do throws(SystemError) {
            // Even a connect that completed at once is confirmed through EPOLLOUT, so `connectionOpened` always
            // arrives from the loop, never inside `dial`.
            let descriptor = try TCP.connect(to: address).descriptor
            do {
                connection.registration = try loop.register(descriptor, interest: .writable) { [connection] events in
                    connection.handle(events)
                }
            } catch {
                try? descriptor.close()  // the registration error is the one worth reporting
                throw error
            }
            connection.timer = loop.schedule(after: configuration.connectTimeout) { [connection] in
                connection.timer = nil
                let timedOut = SystemError(call: "connect", errno: ETIMEDOUT, context: "\(address)")
                connection.close(.connectFailed(timedOut))
            }
        } catch {
            connection.close(.connectFailed(error.with(context: "\(address)")), notifyingLater: true)
        }
        return connection
    }

    /// Wraps an accepted socket (non-blocking, `TCP_NODELAY`, as `TCP.accept` makes them); the loop takes it over.
    ///
    /// `connectionOpened` follows at the end of the round, so the caller can set the delegate first.
    public static func adopt(
        _ descriptor: FileDescriptor, on loop: EventLoop, configuration: Configuration = Configuration(),
        delegate: (any ChannelConnectionDelegate)?
    ) throws(SystemError) -> ChannelConnection {
        precondition(loop.isOwnedByCaller, "ChannelConnection.adopt off the loop thread")
        let remote = try? TCP.peerAddress(of: descriptor)  // only for descriptions; a reset peer shows as nil
        let connection = ChannelConnection(
            loop: loop, configuration: configuration, delegate: delegate, remoteAddress: remote, state: .open)
        do {
            connection.registration = try loop.register(descriptor, interest: .readable) { [connection] events in
                connection.handle(events)
            }
        } catch {
            try? descriptor.close()  // the registration error is the one worth reporting
            throw error
        }
        connection.armLivenessTimer()
        loop.runAfterRound { [connection] in
            guard connection.state == .open else { return }
            connection.opened()
        }
        return connection
    }

    // MARK: Owner's API

    /// Appends `frame` to the send buffer; it is written with the rest of the round's frames after the round.
    ///
    /// A frame that would take the unwritten bytes past `unwrittenBytesLimit` closes the connection instead
    /// (`.sendBufferFull`, reported after the round). On a closed connection the frame is dropped.
    public func send(_ frame: Frame) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.send off the loop thread")
        queued(sendBuffer.append(frame))
    }

    /// Appends the entry frame whose payload `writePayload` writes, `payloadByteCount` bytes, to the send buffer (see
    /// `SendBuffer.appendEntry`); otherwise as `send(_:)`.
    public func sendEntry(
        epoch: UInt64, sequence: UInt64, payloadByteCount: Int, writePayload: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.sendEntry off the loop thread")
        queued(
            sendBuffer.appendEntry(
                epoch: epoch, sequence: sequence, payloadByteCount: payloadByteCount, writePayload: writePayload))
    }

    /// Tells the peer that this node is about to take a step that may keep it from sending, or reading, anything
    /// for up to `duration` (`Frame.busy`), so neither end takes the silence for death; a no-op before the handshake
    /// passed or while the last notice still covers half of this one (a large upload asks at every read).
    ///
    /// The notice is written at once rather than after the round: the step follows in this round.
    public func announceBusy(for duration: Duration) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.announceBusy off the loop thread")
        guard state == .open, handshake == nil, !isClosingAfterFlush else { return }
        let now = Self.now()
        guard busyAnnouncedUntil < now + duration / 2 else { return }
        let milliseconds = UInt32(clamping: (duration.nanoseconds + 999_999) / 1_000_000)
        guard sendBuffer.append(.busy(milliseconds: milliseconds)) else {
            queued(false)
            return
        }
        busyAnnouncedUntil = now + .milliseconds(milliseconds)
        // This end cannot read while busy either: the peer's bytes wait in the socket, unseen until the step ends.
        liveness.excuseSilence(for: .milliseconds(milliseconds), at: now)
        flush()
    }

    /// Acts on an append's outcome: a frame to write after the round, or a peer that reads too slowly.
    private func queued(_ isAppended: Bool) {
        guard !isClosed else { return }
        guard isAppended else {
            close(.sendBufferFull(unwrittenBytesLimit: configuration.unwrittenBytesLimit), notifyingLater: true)
            return
        }
        statistics.framesQueued += 1
        queueFlush()
    }

    /// Closes the connection. Without `flushingFirst`, at once: unwritten frames are dropped. With it, frames
    /// already sent are written first (e.g. a `.refuse`), the write side is shut down, and the connection closes
    /// when the peer closes too (or falls silent); no frames are delivered meanwhile. Either way the delegate
    /// hears `closedBecause(.closedLocally)`, after this call returns.
    public func close(flushingFirst: Bool = false) {
        precondition(loop.isOwnedByCaller, "ChannelConnection.close off the loop thread")
        guard !isClosed else { return }
        if flushingFirst {
            isClosingAfterFlush = true
            if state == .open { queueFlush() }
            return
        }
        close(.closedLocally, notifyingLater: true)
    }

    /// Whether the connection is closed; a closed connection drops whatever it is sent.
    public var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    // MARK: Events

    private func handle(_ events: EventLoop.Events) {
        switch state {
        case .connecting:
            finishConnecting()
        case .open:
            if !events.isDisjoint(with: [.readable, .hangup, .error]) { readAvailable() }
            if state == .open, events.contains(.writable) { flush() }
        case .closed:
            return
        }
    }

    private func finishConnecting() {
        guard let registration, let descriptor = loop.descriptor(of: registration) else { return }
        do throws(SystemError) {
            try TCP.completeConnect(descriptor)
        } catch {
            close(.connectFailed(error.with(context: remoteAddress.map { "\($0)" } ?? "?")))
            return
        }
        state = .open
        if let timer { loop.cancel(timer) }
        timer = nil
        liveness = PeerLiveness(
            heartbeatInterval: configuration.heartbeatInterval, silenceTimeout: configuration.silenceTimeout,
            now: Self.now())
        armLivenessTimer()
        updateInterest()
        guard state == .open else { return }
        opened()
        if state == .open, sendBuffer.unwrittenBytes > 0 || isClosingAfterFlush { queueFlush() }
    }

    /// Drains the socket into the reusable buffer, decodes, and delivers every frame in one call.
    private func readAvailable() {
        guard let registration, let descriptor = loop.descriptor(of: registration) else { return }
        // Handed over, not lent: a frame's payload that reaches its consumer with no other owner can become what it
        // decodes to without a copy (a backup's entry becomes its command).
        var frames: [Frame] = []
        var failure: ChannelCloseReason?
        var isEndOfStream = false
        var bytesRead = 0
        for _ in 0..<configuration.readsPerEventLimit {
            let count: Int?
            do throws(SystemError) {
                count = try descriptor.read(into: readBuffer)
            } catch {
                failure = .ioFailed(error)
                break
            }
            guard let count else { break }
            statistics.readCalls += 1
            if count == 0 {
                isEndOfStream = true
                break
            }
            bytesRead += count
            decoder.append(UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
            do throws(FrameError) {
                while let frame = try decoder.next() {
                    // Frame by frame, so the frame after the peer's proof is decoded under the full limit.
                    guard handshake != nil else {
                        if case .busy(let milliseconds) = frame {
                            liveness.excuseSilence(for: .milliseconds(milliseconds), at: Self.now())
                        } else {
                            frames.append(frame)
                        }
                        continue
                    }
                    if isClosingAfterFlush { continue }
                    passHandshake(frame)
                    guard state == .open else { return }  // the handshake failed, or the owner closed it on opening
                }
            } catch {
                failure = .decodeFailed(error)
                break
            }
            // A short read means the socket is drained: skip the read that would only say EAGAIN.
            if count < readBuffer.count { break }
        }
        if bytesRead > 0 {
            let now = Self.now()
            statistics.bytesRead += bytesRead
            statistics.longestSilenceNanoseconds = max(
                statistics.longestSilenceNanoseconds, now.nanoseconds &- liveness.lastReceived.nanoseconds)
            liveness.noteReceived(at: now)
        }
        // Frames before a bad one are whole and checksummed: delivering them is what a clean disconnect at that
        // point would have done. Nothing after the bad one is ever decoded.
        if !frames.isEmpty, !isClosingAfterFlush {
            statistics.framesReceived += frames.count
            statistics.deliveries += 1
            delegate?.connection(self, framesArrived: consume frames)
        }
        guard state == .open else { return }  // the delegate closed it
        if let failure {
            close(failure)
        } else if isEndOfStream {
            if isClosingAfterFlush {
                close(.closedLocally)
                return
            }
            do throws(FrameError) {
                try decoder.finish()
                close(.endOfStream)
            } catch {
                close(.decodeFailed(error))
            }
        }
    }

    func queueFlush() {
        guard !isFlushQueued, !isClosed else { return }
        isFlushQueued = true
        loop.runAfterRound { [self] in
            isFlushQueued = false
            if state == .open { flush() }
        }
    }

    /// Writes as much of the send buffer as the socket takes: normally everything, in one `send`.
    private func flush() {
        guard let registration, let descriptor = loop.descriptor(of: registration) else { return }
        var wroteAny = false
        while sendBuffer.unwrittenBytes > 0 {
            let offered = sendBuffer.unwrittenBytes
            let written: Int?
            do throws(SystemError) {
                written = try sendBuffer.withUnwrittenBytes { bytes throws(SystemError) in try descriptor.send(bytes) }
            } catch {
                close(.ioFailed(error))
                return
            }
            guard let written else { break }
            sendBuffer.markWritten(written)
            statistics.writeCalls += 1
            statistics.bytesWritten += written
            wroteAny = true
            // A short write means the socket buffer is full: EPOLLOUT says when to go on.
            if written < offered { break }
        }
        if wroteAny { liveness.noteSent(at: Self.now()) }
        if isClosingAfterFlush, sendBuffer.unwrittenBytes == 0 {
            do throws(SystemError) {
                try TCP.shutdownWrites(descriptor)
            } catch {
                close(.closedLocally)  // the peer is gone already; nothing is left to wait for
                return
            }
        }
        updateInterest()
    }

    private func updateInterest() {
        guard let registration else { return }
        let wanted: EventLoop.Interest = sendBuffer.unwrittenBytes > 0 ? [.readable, .writable] : .readable
        do throws(SystemError) {
            try loop.setInterest(wanted, for: registration)
        } catch {
            close(.ioFailed(error))
        }
    }

    // MARK: Closing

    /// Closes the socket, cancels the timer and tells the delegate, once. `notifyingLater` defers the delegate
    /// to the end of the round, for closes that happen inside an owner's call.
    func close(_ reason: ChannelCloseReason, notifyingLater: Bool = false) {
        guard !isClosed else { return }
        state = .closed(reason)
        if let timer { loop.cancel(timer) }
        timer = nil
        if let registration { loop.close(registration) }
        registration = nil
        if notifyingLater {
            loop.runAfterRound { [self] in delegate?.connection(self, closedBecause: reason) }
        } else {
            delegate?.connection(self, closedBecause: reason)
        }
    }

    static func now() -> Instant { Instant(nanoseconds: monotonicNanoseconds()) }
}

extension ChannelConnection: CustomStringConvertible {
    /// The channel's id and, when known, the peer's address, for log lines.
    public var description: String {
        "channel \(id)" + (remoteAddress.map { " with \($0)" } ?? "")
    }
}
