import Glibc
import Posix
import Synchronization

/// A TCP relay between two nodes' logging channels, on loopback unless told otherwise, whose behaviour the test
/// switches at will.
///
/// A node advertises the proxy's address, so its peer dials the proxy and every channel byte crosses it. One
/// thread polls every socket; all state lives on that thread except the mode and counters. Sockets belong to the
/// network namespace of the thread that makes them, and a thread starts in its creator's: a proxy made on a thread
/// inside a namespace (NetworkTests' `Topology.runInClients`) listens and dials there.
final class FaultProxy: Sendable {
    /// What the proxy does to the bytes. "Forward" is from the dialing side (the backup) to the listening side
    /// (the node behind the proxy); "backward" is the reverse.
    enum Mode: Sendable, Equatable, CustomStringConvertible {
        /// Relay everything.
        case pass
        /// Silently drop everything both ways and keep connections open: a partition only a heartbeat timeout
        /// can detect.
        case blackhole
        /// Close every connection and refuse new ones at once.
        case reset
        /// Drop bytes going forward only (the backup's acks and heartbeats, when the primary is behind the proxy).
        case dropForward
        /// Drop bytes going backward only.
        case dropBackward
        /// Hold every chunk this long before relaying it. When either side closes, chunks still held are dropped:
        /// bytes in flight when a node dies are lost with it, as with a crashed machine.
        case delay(Duration)
        /// `.delay`, and every `everyChunks`-th chunk read (counted over both directions) held `stall` longer. Bytes
        /// keep their order, so the chunks behind a stalled one wait too: what a lost segment looks like above TCP
        /// until its retransmission arrives (head-of-line blocking). Nothing is lost.
        case delayWithStalls(Duration, stall: Duration, everyChunks: Int)
        /// Flip one bit in every `everyBytes`-th byte, both ways.
        case flipBits(everyBytes: Int)

        var description: String {
            switch self {
            case .pass: "pass"
            case .blackhole: "blackhole"
            case .reset: "reset"
            case .dropForward: "drop forward"
            case .dropBackward: "drop backward"
            case .delay(let duration): "delay \(duration)"
            case .delayWithStalls(let duration, let stall, let every):
                "delay \(duration), every \(every)th chunk \(stall) more"
            case .flipBits(let every): "flip a bit every \(every) bytes"
            }
        }

        /// Modes after which a connection's byte stream no longer matches what was sent: on a return to
        /// `.pass` such connections are closed, as a real healed network would have timed them out.
        var isLossy: Bool {
            switch self {
            case .blackhole, .dropForward, .dropBackward: true
            default: false
            }
        }
    }

    /// Relay totals, for assertions and the report.
    struct Counters: Sendable, Equatable {
        var accepted = 0
        var bytesRelayed = 0
        var bytesDropped = 0
        var bitsFlipped = 0
        var chunksStalled = 0
    }

    /// Bytes a direction may hold before the proxy stops reading its source: backpressure, not growth.
    static let pendingBytesLimit = 4 << 20

    let address: SocketAddress
    let target: SocketAddress
    private let mode = Mutex<Mode>(.pass)
    private let counters = Mutex(Counters())
    private let isStopRequested = Atomic<Bool>(false)
    private let thread: Mutex<PosixThread?> = Mutex(nil)

    /// Listens on `listenAddress` (port 0: any free port) and relays to `target`.
    init(target: SocketAddress, listenAddress: SocketAddress = .loopback(port: 0)) throws {
        let listener = try TCP.listen(on: listenAddress)
        address = try TCP.localAddress(of: listener)
        self.target = target
        let thread = try PosixThread.spawn { [self] in run(listener: listener) }
        self.thread.withLock { $0 = thread }
    }

    func set(_ newMode: Mode) { mode.withLock { $0 = newMode } }
    var currentMode: Mode { mode.withLock { $0 } }
    var totals: Counters { counters.withLock { $0 } }

    /// Stops the relay and closes every socket it holds.
    func stop() {
        isStopRequested.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
    }

    /// Bytes waiting to go one way, each chunk with the instant it may leave.
    private struct Pending {
        var chunks: [(bytes: [UInt8], releaseAt: ContinuousClock.Instant)] = []
        var count = 0
    }

    /// One relayed connection: the accepted side, the side dialed to the target, and what waits each way.
    private final class Link {
        let near: FileDescriptor
        let far: FileDescriptor
        var forward = Pending()
        var backward = Pending()
        var isTainted = false
        var isClosed = false

        init(near: FileDescriptor, far: FileDescriptor) {
            self.near = near
            self.far = far
        }

        func close() {
            guard !isClosed else { return }
            isClosed = true
            try? near.close()  // tearing down a relay: errors change nothing
            try? far.close()
        }
    }

    private func run(listener: FileDescriptor) {
        var links: [Link] = []
        var lastMode = Mode.pass
        var flipCountdown = 0
        var flipSerial = 0
        var stallCountdown = 0
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        defer {
            for link in links { link.close() }
            try? listener.close()  // as above
        }
        while !isStopRequested.load(ordering: .relaxed) {
            let mode = self.mode.withLock { $0 }
            if mode != lastMode {
                if mode == .reset || (mode == .pass && lastMode.isLossy) {
                    for link in links where mode == .reset || link.isTainted { link.close() }
                }
                lastMode = mode
            }
            links.removeAll { $0.isClosed }

            var requests = [pollfd(fd: listener.rawValue, events: Int16(POLLIN), revents: 0)]
            for link in links {
                let readNear = link.forward.count < Self.pendingBytesLimit
                let readFar = link.backward.count < Self.pendingBytesLimit
                let writeFar = link.forward.chunks.first.map { $0.releaseAt <= Stopwatch.now } ?? false
                let writeNear = link.backward.chunks.first.map { $0.releaseAt <= Stopwatch.now } ?? false
                requests.append(pollfd(
                    fd: link.near.rawValue,
                    events: Int16(readNear ? POLLIN : 0) | Int16(writeNear ? POLLOUT : 0), revents: 0))
                requests.append(pollfd(
                    fd: link.far.rawValue,
                    events: Int16(readFar ? POLLIN : 0) | Int16(writeFar ? POLLOUT : 0), revents: 0))
            }
            let hasDelayed = links.contains { !$0.forward.chunks.isEmpty || !$0.backward.chunks.isEmpty }
            // A short timeout keeps delayed chunks on time and mode changes prompt; -1 (EINTR) just loops.
            _ = poll(&requests, nfds_t(requests.count), hasDelayed ? 2 : 10)

            for (index, link) in links.enumerated() where !link.isClosed {
                if mode.isLossy { link.isTainted = true }
                let nearEvents = requests[1 + 2 * index].revents, farEvents = requests[2 + 2 * index].revents
                relay(
                    from: link.near, events: nearEvents, into: &link.forward,
                    dropping: mode == .blackhole || mode == .dropForward, mode: mode, flipCountdown: &flipCountdown,
                    flipSerial: &flipSerial, stallCountdown: &stallCountdown, chunk: &chunk, link: link)
                relay(
                    from: link.far, events: farEvents, into: &link.backward,
                    dropping: mode == .blackhole || mode == .dropBackward, mode: mode, flipCountdown: &flipCountdown,
                    flipSerial: &flipSerial, stallCountdown: &stallCountdown, chunk: &chunk, link: link)
                flush(&link.forward, to: link.far, link: link)
                flush(&link.backward, to: link.near, link: link)
            }
            if requests[0].revents & Int16(POLLIN) != 0, let near = try? TCP.accept(from: listener) {
                if mode == .reset {
                    try? near.close()  // refusing: nothing to report
                } else if let far = connectToTarget() {
                    links.append(Link(near: near, far: far))
                    counters.withLock { $0.accepted += 1 }
                } else {
                    try? near.close()  // the target is down: the dialer sees a closed connection, as it would
                }
            }
        }
    }

    private func relay(
        from source: FileDescriptor, events: Int16, into pending: inout Pending, dropping: Bool, mode: Mode,
        flipCountdown: inout Int, flipSerial: inout Int, stallCountdown: inout Int, chunk: inout [UInt8], link: Link
    ) {
        guard !link.isClosed, events & Int16(POLLIN | POLLHUP | POLLERR) != 0 else { return }
        let result = chunk.withUnsafeMutableBytes { raw in
            Result { () throws(SystemError) in try source.read(into: raw) }
        }
        guard case .success(let read) = result else { return link.close() }
        guard let count = read else { return }
        guard count > 0 else { return link.close() }
        if dropping {
            counters.withLock { $0.bytesDropped += count }
            return
        }
        var bytes = Array(chunk[..<count])
        var releaseAt = Stopwatch.now
        switch mode {
        case .delay(let duration):
            releaseAt = releaseAt + duration
        case .delayWithStalls(let duration, let stall, let every):
            releaseAt = releaseAt + duration
            stallCountdown -= 1
            if stallCountdown <= 0 {
                // Held behind its own stall only: `flush` sends chunks in order, so those read later wait for it.
                releaseAt = releaseAt + stall
                stallCountdown = every
                counters.withLock { $0.chunksStalled += 1 }
            }
        case .flipBits(let every):
            var flipped = 0
            for index in bytes.indices {
                flipCountdown -= 1
                if flipCountdown <= 0 {
                    // The bit moves on with every flip, so a byte flipped going out is not flipped back coming in.
                    flipSerial &+= 3
                    bytes[index] ^= UInt8(1) << UInt8(flipSerial % 8)
                    flipped += 1
                    flipCountdown = every
                }
            }
            counters.withLock { $0.bitsFlipped += flipped }
        default:
            break
        }
        pending.chunks.append((bytes, releaseAt))
        pending.count += count
    }

    private func flush(_ pending: inout Pending, to destination: FileDescriptor, link: Link) {
        while !link.isClosed, let first = pending.chunks.first, first.releaseAt <= Stopwatch.now {
            let result = first.bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try destination.send(raw) }
            }
            guard case .success(let sent) = result else { return link.close() }
            guard let sent else { return }  // the kernel buffer is full: POLLOUT will bring us back
            counters.withLock { $0.bytesRelayed += sent }
            pending.count -= sent
            if sent == first.bytes.count {
                pending.chunks.removeFirst()
            } else {
                pending.chunks[0].bytes.removeFirst(sent)
            }
        }
    }

    /// Dials the target, waiting at most a second (loopback answers at once or refuses).
    private func connectToTarget() -> FileDescriptor? {
        guard let progress = try? TCP.connect(to: target) else { return nil }
        guard case .inProgress(let fd) = progress else { return progress.descriptor }
        let deadline = FaultProxy.deadline(after: .seconds(1))
        guard FaultProxy.waitFor(Int16(POLLOUT), on: fd, until: deadline), (try? TCP.completeConnect(fd)) != nil
        else {
            try? fd.close()  // a failed dial: the caller reports it by closing the near side
            return nil
        }
        return fd
    }
}

extension FaultProxy {
    /// poll(2) on one descriptor until `deadline` (monotonic nanoseconds): whether it became ready (readiness
    /// includes hangup and error, which the next read or send reports). For the proxy's dials and its test's echo server.
    static func waitFor(_ events: Int16, on fd: FileDescriptor, until deadline: UInt64) -> Bool {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { return false }
            var request = pollfd(fd: fd.rawValue, events: events, revents: 0)
            let milliseconds = CInt(clamping: (deadline - now + 999_999) / 1_000_000)
            // -1 can only be EINTR here (valid descriptor and arguments): poll again with the time left.
            if poll(&request, 1, milliseconds) > 0 { return true }
        }
    }

    /// The monotonic-nanosecond deadline `duration` from now, for `waitFor`.
    static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return monotonicNanoseconds() &+ UInt64(max(0, seconds)) &* 1_000_000_000
            &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
