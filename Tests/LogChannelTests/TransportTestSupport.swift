import Glibc
import LogChannel
import Posix
import Synchronization

/// Deadline-bounded polling: every wait in the transport and Posix tests goes through here.
enum Waiting {
    /// Polls `condition` every millisecond until it holds (`true`) or `deadline` passes (`false`).
    static func until(_ deadline: Duration, _ condition: () -> Bool) -> Bool {
        let end = monotonicNanoseconds() + UInt64(deadline.nanoseconds)
        while true {
            if condition() { return true }
            if monotonicNanoseconds() >= end { return false }
            sleep(for: .milliseconds(1))
        }
    }
}

/// A test's stand-in for a primary or backup runtime: the delegate of one connection, on one loop.
///
/// State marked "loop thread" is touched only there (or after the loop stopped); what the test thread reads goes
/// through `observed`.
final class Endpoint: ChannelConnectionDelegate, @unchecked Sendable {
    enum Role { case primary, backup }

    struct Observed {
        var openedAt: UInt64?
        var closedAt: UInt64?
        var closeReason: ChannelCloseReason?
        var frames: [Frame] = []
        var deliveries = 0
        /// The highest cumulative ack the primary received.
        var releasedThrough: UInt64 = 0
        var highestEntryReceived: UInt64 = 0

        var entries: [UInt64] {
            frames.compactMap { if case .entry(_, let sequence, _) = $0 { sequence } else { nil } }
        }
        var heartbeats: Int { frames.filter { $0.kind == .heartbeat }.count }
        var acks: Int { frames.filter { $0.kind == .ack }.count }
    }

    let role: Role
    let loop: EventLoop
    let observed = Mutex(Observed())
    /// Whether the backup acks every read at once; off to let the primary's buffer fill.
    let isAutoAcking = Atomic<Bool>(true)

    // Loop thread:
    var connection: ChannelConnection?
    private var nextSequence: UInt64 = 1
    private var lastSequenceWanted: UInt64 = 0
    private var payloadBytes = 0
    private var highestReceived: UInt64 = 0
    private var ackedThrough: UInt64 = 0

    init(role: Role, loop: EventLoop) {
        self.role = role
        self.loop = loop
    }

    /// Primary, loop thread: sends entries up to `last`, all in this round.
    func sendEntries(through last: UInt64, payloadBytes: Int = 100) {
        lastSequenceWanted = last
        self.payloadBytes = payloadBytes
        pump()
    }

    /// Backup, loop thread: one cumulative ack for everything received.
    func ackNow() {
        ackedThrough = highestReceived
        connection?.send(.ack(epoch: 1, received: ackedThrough, applied: ackedThrough))
    }

    private func pump() {
        guard let connection else { return }
        while nextSequence <= lastSequenceWanted {
            let payload = [UInt8](repeating: UInt8(truncatingIfNeeded: nextSequence), count: payloadBytes)
            connection.send(.entry(epoch: 1, sequence: nextSequence, payload: payload))
            nextSequence += 1
        }
    }

    func connectionOpened(_ connection: ChannelConnection) {
        let now = monotonicNanoseconds()
        observed.withLock { $0.openedAt = now }
    }

    func connection(_ connection: ChannelConnection, framesArrived frames: [Frame]) {
        var highestAck: UInt64 = 0
        for frame in frames {
            switch frame {
            case .entry(_, let sequence, _): highestReceived = max(highestReceived, sequence)
            case .ack(_, let received, _): highestAck = max(highestAck, received)
            default: break
            }
        }
        let received = highestReceived
        observed.withLock {
            $0.frames.append(contentsOf: frames)
            $0.deliveries += 1
            $0.releasedThrough = max($0.releasedThrough, highestAck)
            $0.highestEntryReceived = received
        }
        if role == .backup, isAutoAcking.load(ordering: .relaxed), highestReceived > ackedThrough { ackNow() }
    }

    func connection(_ connection: ChannelConnection, closedBecause reason: ChannelCloseReason) {
        let now = monotonicNanoseconds()
        observed.withLock {
            $0.closedAt = now
            $0.closeReason = reason
        }
    }

    func heartbeatFrame(for connection: ChannelConnection) -> Frame {
        switch role {
        case .primary: .heartbeat(epoch: 1, sequence: nextSequence - 1)
        // Only what was acked explicitly, so a test that holds acks back is not undone by heartbeats.
        case .backup: .ack(epoch: 1, received: ackedThrough, applied: ackedThrough)
        }
    }
}

/// One event loop on its own thread, stopped and shut down exactly once whatever the test did.
final class LoopThread: @unchecked Sendable {
    let loop: EventLoop
    private var thread: PosixThread?

    init() throws { loop = try EventLoop() }

    func start() throws { thread = try loop.runOnNewThread() }

    /// Stops the loop and waits for its thread; its sockets stay open, as in a frozen process.
    func freeze() {
        loop.stop()
        thread?.join()
    }

    /// Stops the loop and closes every descriptor it still owns.
    func tearDown() {
        freeze()
        loop.shutdown()
    }

    /// Runs `body` on the loop thread and waits (bounded) for it to finish.
    @discardableResult
    func sync(_ body: @escaping @Sendable () -> Void) -> Bool {
        let done = Atomic<Bool>(false)
        let queued = loop.execute {
            body()
            done.store(true, ordering: .releasing)
        }
        return queued && Waiting.until(.seconds(5)) { done.load(ordering: .acquiring) }
    }
}

/// A primary dialing a backup's listener over loopback, each on its own loop thread.
final class ChannelPair: @unchecked Sendable {
    let primaryThread: LoopThread
    let backupThread: LoopThread
    let primary: Endpoint
    let backup: Endpoint
    let listener: ChannelListener

    init(configuration: ChannelConnection.Configuration) throws {
        primaryThread = try LoopThread()
        backupThread = try LoopThread()
        let primary = Endpoint(role: .primary, loop: primaryThread.loop)
        let backup = Endpoint(role: .backup, loop: backupThread.loop)
        self.primary = primary
        self.backup = backup
        // Set up before either loop runs, which the loop API allows from this thread.
        listener = try ChannelListener(
            on: .loopback(port: 0), loop: backupThread.loop, configuration: configuration
        ) { connection in
            backup.connection = connection
            connection.delegate = backup
        }
        primary.connection = ChannelConnection.dial(
            listener.address, on: primaryThread.loop, configuration: configuration, delegate: primary)
        try primaryThread.start()
        try backupThread.start()
    }

    /// Waits until both sides have reported `connectionOpened`.
    func waitUntilOpen() -> Bool {
        Waiting.until(.seconds(5)) {
            primary.observed.withLock { $0.openedAt != nil } && backup.observed.withLock { $0.openedAt != nil }
        }
    }

    func tearDown() {
        primaryThread.tearDown()
        backupThread.tearDown()
    }
}

/// A bare TCP client that speaks raw bytes (or nothing at all) to a listener: a broken or silent peer.
struct RawPeer {
    let descriptor: FileDescriptor

    /// Connects, blocking up to 5 s, and leaves the socket blocking for simple writes.
    static func connect(to address: SocketAddress) throws -> RawPeer {
        let descriptor = try TCP.connect(to: address).descriptor
        var request = pollfd(fd: descriptor.rawValue, events: Int16(POLLOUT), revents: 0)
        guard poll(&request, 1, 5_000) == 1 else {
            try? descriptor.close()
            throw SystemError(call: "poll", errno: ETIMEDOUT)
        }
        try TCP.completeConnect(descriptor)
        try descriptor.setNonBlocking(false)
        return RawPeer(descriptor: descriptor)
    }

    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try descriptor.writeAll($0) }
    }

    /// Reads frames, blocking, until `frames` holds one that `isWanted` accepts (or the peer closes): the frames.
    func read(until isWanted: (Frame) -> Bool) throws -> [Frame] {
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 20), frames: [Frame] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 1)
        defer { buffer.deallocate() }
        while !frames.contains(where: isWanted) {
            guard let count = try descriptor.read(into: buffer), count > 0 else { break }
            decoder.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
            while let frame = try decoder.next() { frames.append(frame) }
        }
        return frames
    }

    func close() { try? descriptor.close() }  // teardown: nothing to do about a failure
}

/// A backup endpoint listening on its own loop thread: for tests that talk to it with raw bytes.
final class ListeningBackup: @unchecked Sendable {
    let server: LoopThread
    let endpoint: Endpoint
    let listener: ChannelListener

    /// With `handshake`, the accepted connection must pass it before the endpoint hears of it.
    init(configuration: ChannelConnection.Configuration, handshake: ChannelHandshake? = nil) throws {
        server = try LoopThread()
        let endpoint = Endpoint(role: .backup, loop: server.loop)
        self.endpoint = endpoint
        listener = try ChannelListener(on: .loopback(port: 0), loop: server.loop, configuration: configuration) {
            endpoint.connection = $0
            $0.delegate = endpoint
            if let handshake { $0.requireHandshake(handshake) }
        }
        try server.start()
    }

    func connectRawPeer() throws -> RawPeer { try RawPeer.connect(to: listener.address) }

    func tearDown() { server.tearDown() }
}
