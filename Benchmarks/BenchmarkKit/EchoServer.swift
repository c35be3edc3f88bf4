import Posix
import Synchronization

/// A loopback TCP echo server on one epoll thread: the 1-hop floor, and the far end of the 2-hop relay.
///
/// Everything one `read()` returned goes back in one write, so behind the relay it acts like a backup that sends
/// one cumulative ack per read (IO-FINDINGS, recommended structure).
public final class EchoServer: Sendable {
    public let address: SocketAddress
    private let thread: LoopThread

    /// Starts listening on a free loopback port; the loop polls `pollBeforeSleep` before each sleep.
    public init(pollBeforeSleep: Duration = .zero) throws(SystemError) {
        let listener = try TCP.listen(on: .loopback(port: 0))
        let address: SocketAddress
        do {
            address = try TCP.localAddress(of: listener)
        } catch {
            try? listener.close()  // the getsockname error is the one worth reporting
            throw error
        }
        self.address = address
        thread = try LoopThread(pollBeforeSleep: pollBeforeSleep) { loop throws(SystemError) in
            let state = EchoState(loop: loop)
            _ = try loop.register(listener, interest: .readable) { _ in state.acceptAll(from: listener) }
        }
    }

    /// CPU the server thread has used so far.
    public func cpuNanoseconds() -> UInt64? { thread.cpuNanoseconds() }

    /// Stops the thread and closes every connection.
    public func stop() { thread.stop() }
}

/// The echo server's loop-thread state.
private final class EchoState {
    let loop: EventLoop
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 16)

    init(loop: EventLoop) { self.loop = loop }

    deinit { buffer.deallocate() }

    func acceptAll(from listener: FileDescriptor) {
        while let fd = try? TCP.accept(from: listener) {  // nil: none pending; an error: try next round
            let output = OutputQueue()
            var registration: EventLoop.Registration?
            // A failed registration drops the client below: the load generator then reports the disconnect.
            registration = try? loop.register(fd, interest: .readable) { [unowned self] events in
                guard let registration else { return }
                let count: Int
                switch output.serviceEvent(events, registration, on: loop, into: buffer) {
                case .bytes(let read): count = read
                case .nothing: return
                case .closed:
                    loop.close(registration)
                    return
                }
                output.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                if !output.flush(registration, on: loop) { loop.close(registration) }
            }
            if registration == nil { try? fd.close() }  // could not watch it: drop the client
        }
    }
}
