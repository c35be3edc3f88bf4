import Glibc
import Synchronization

/// A loopback relay for the logging channel that holds every byte for `delay`, and loses what it holds when a side
/// dies: the network between two machines, in one.
///
/// Why the kill test needs it: on loopback, whatever a killed process had written to its socket still reaches the
/// peer, so a primary that released a reply *with* its log entry, rather than after the backup's ack, would pass a
/// plain kill test. Between machines, bytes in flight when a machine dies are lost. The relay makes that window
/// `delay` wide, so a reply released before its ack is one whose entry the backup may never see.
///
/// One thread accepts; each connection gets one thread per direction, which reads what arrives, writes what is due,
/// and on EOF or an error from either side drops what it still holds and shuts both sockets. Held bytes are bounded
/// by `heldBytesLimit`: past it the relay stops reading, which is backpressure to the sender.
final class DelayProxy: Sendable {
    /// Bytes one direction may hold; a few delays' worth of a busy channel.
    static let heldBytesLimit = 4 << 20

    let port: UInt16
    private let targetPort: UInt16
    private let delay: Duration
    private let listener: CInt
    /// Every thread started (for `close` to join) and socket opened (to cut and close), and whether `close` ran.
    private let state = Mutex<(threads: [pthread_t], sockets: [CInt], isClosed: Bool)>(([], [], false))

    /// Listens on 127.0.0.1:`port` and relays each connection to 127.0.0.1:`targetPort`.
    init(port: UInt16, targetPort: UInt16, delay: Duration) throws {
        self.port = port
        self.targetPort = targetPort
        self.delay = delay
        listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in.loopback(port: port)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard listener >= 0, bound == 0, listen(listener, 16) == 0 else {
            let code = errno
            Glibc.close(listener)
            throw HarnessError("the proxy cannot listen on 127.0.0.1:\(port): errno \(code)")
        }
        start { proxy in proxy.acceptLoop() }
    }

    /// Stops accepting, cuts every connection and joins every thread. Idempotent.
    func close() {
        let wasClosed = state.withLock { state in
            defer { state.isClosed = true }
            shutdown(listener, Int32(SHUT_RDWR))  // wakes the blocked accept
            state.sockets.forEach { shutdown($0, Int32(SHUT_RDWR)) }
            return state.isClosed
        }
        guard !wasClosed else { return }
        var joined = 0
        while true {  // a connection accepted meanwhile adds threads; join until none are left
            let pending = state.withLock { Array($0.threads[joined...]) }
            if pending.isEmpty { break }
            pending.forEach { pthread_join($0, nil) }
            joined += pending.count
        }
        state.withLock { $0.sockets.forEach { Glibc.close($0) } }
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return  // shut down by close()
            }
            let target = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(target, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let isClosed = state.withLock { state in
                state.sockets += [client, target]
                return state.isClosed
            }
            guard target >= 0, connected == 0, !isClosed else {
                shutdown(client, Int32(SHUT_RDWR))  // the node sees a refused peer and dials again
                continue
            }
            start { proxy in proxy.relay(from: client, to: target) }
            start { proxy in proxy.relay(from: target, to: client) }
        }
    }

    /// Moves bytes from `source` to `destination`, each no sooner than `delay` after it arrived.
    private func relay(from source: CInt, to destination: CInt) {
        var held: [(due: ContinuousClock.Instant, bytes: [UInt8])] = []
        var heldBytes = 0
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        let clock = ContinuousClock()
        defer {
            // A side is gone: what is still held is lost, as on a wire whose machine died.
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(destination, Int32(SHUT_RDWR))
        }
        while true {
            let now = clock.now
            while let first = held.first, first.due <= now {
                guard writeAll(first.bytes, to: destination) else { return }
                heldBytes -= first.bytes.count
                held.removeFirst()
            }
            let wait = held.first.map { max(0, Int32(($0.due - now) / .milliseconds(1)) + 1) } ?? 100
            var watch = pollfd(fd: source, events: Int16(heldBytes < Self.heldBytesLimit ? POLLIN : 0), revents: 0)
            let ready = poll(&watch, 1, wait)
            if ready < 0, errno != EINTR { return }
            guard ready > 0, watch.revents != 0 else { continue }
            let count = recv(source, &chunk, chunk.count, 0)
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            held.append((clock.now + delay, Array(chunk[..<count])))
            heldBytes += count
        }
    }

    private func writeAll(_ bytes: [UInt8], to socket: CInt) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return false }
            sent += count
        }
        return true
    }

    /// Runs `body` on a new thread that `close()` joins.
    private func start(_ body: @escaping (DelayProxy) -> Void) {
        final class Job: @unchecked Sendable {  // handed to exactly one thread
            let proxy: DelayProxy, body: (DelayProxy) -> Void
            init(_ proxy: DelayProxy, _ body: @escaping (DelayProxy) -> Void) {
                (self.proxy, self.body) = (proxy, body)
            }
        }
        let job = Unmanaged.passRetained(Job(self, body)).toOpaque()
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { job in
            let job = Unmanaged<Job>.fromOpaque(job!).takeRetainedValue()
            job.body(job.proxy)
            return nil
        }, job) == 0 else {
            Unmanaged<Job>.fromOpaque(job).release()
            return
        }
        state.withLock { $0.threads.append(thread) }
    }
}
