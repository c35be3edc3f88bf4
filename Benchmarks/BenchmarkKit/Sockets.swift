import Glibc
import Posix

/// Connecting and waiting on sockets outside an event loop: setup code, control clients, port checks.
enum Sockets {
    /// Connects to `address`, waiting up to `timeoutNanoseconds`; the socket stays non-blocking, with TCP_NODELAY.
    static func connect(to address: SocketAddress, timeoutNanoseconds: UInt64) throws(SystemError) -> FileDescriptor {
        switch try TCP.connect(to: address) {
        case .connected(let fd):
            return fd
        case .inProgress(let fd):
            do throws(SystemError) {
                guard try waitUntil(fd, events: Int16(POLLOUT), timeoutNanoseconds: timeoutNanoseconds) else {
                    throw SystemError(call: "connect", errno: ETIMEDOUT, context: address.description)
                }
                try TCP.completeConnect(fd)
                return fd
            } catch {
                try? fd.close()  // the connect error is the one worth reporting
                throw error.with(context: address.description)
            }
        }
    }

    /// Waits for `events` on `fd` (POLLIN or POLLOUT): true when ready (or failed: the next call reports it), false
    /// at the timeout.
    static func waitUntil(_ fd: FileDescriptor, events: Int16, timeoutNanoseconds: UInt64) throws(SystemError) -> Bool {
        var entry = pollfd(fd: fd.rawValue, events: events, revents: 0)
        let milliseconds = CInt(clamping: (timeoutNanoseconds + 999_999) / 1_000_000)
        let ready = try retryingInterrupts("poll") { poll(&entry, 1, milliseconds) }
        return ready > 0
    }

    /// Sends `bytes[offset...]` on a non-blocking socket: the count the kernel took, nil if none.
    static func send(_ bytes: [UInt8], from offset: Int, on fd: FileDescriptor) throws(SystemError) -> Int? {
        // withUnsafeBytes rethrows untyped errors; a Result carries the typed one through.
        let result = bytes.withUnsafeBytes { all in
            Result { () throws(SystemError) in try fd.send(UnsafeRawBufferPointer(rebasing: all[offset...])) }
        }
        return try result.get()
    }

    /// Whether something accepts connections on `address` right now.
    static func isListening(_ address: SocketAddress) -> Bool {
        guard let fd = try? connect(to: address, timeoutNanoseconds: 200_000_000) else { return false }  // refused
        try? fd.close()  // a probe
        return true
    }
}

/// Bytes waiting to be written to a non-blocking socket registered on an event loop.
///
/// A closed-loop client or an echo writes everything it has at once, and the kernel takes it in the normal case;
/// the queue only holds a remainder when the socket buffer is full, and arms `.writable` until it drains.
final class OutputQueue {
    private(set) var bytes: [UInt8] = []
    private var offset = 0

    var isEmpty: Bool { offset == bytes.count }
    var pendingCount: Int { bytes.count - offset }

    func append(_ more: UnsafeRawBufferPointer) {
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        bytes.append(contentsOf: more)
    }

    func append(_ more: [UInt8]) { more.withUnsafeBytes { append($0) } }

    /// Sends what the kernel takes now. Returns false if the socket failed (the peer is gone).
    func flush(_ registration: EventLoop.Registration, on loop: EventLoop) -> Bool {
        guard let fd = loop.descriptor(of: registration) else { return false }
        while offset < bytes.count {
            let sent: Int?
            do {
                sent = try Sockets.send(bytes, from: offset, on: fd)
            } catch {
                return false
            }
            guard let sent else { break }
            offset += sent
        }
        let wanted: EventLoop.Interest = offset < bytes.count ? [.readable, .writable] : .readable
        do {
            try loop.setInterest(wanted, for: registration)
        } catch {
            return false
        }
        if offset == bytes.count {
            bytes.removeAll(keepingCapacity: true)
            offset = 0
        }
        return true
    }
}

/// What one readiness event on a floor server's client socket brought.
enum ClientRead {
    /// This many bytes are in the buffer.
    case bytes(Int)
    /// Nothing to read now (spurious wakeup, or only writable).
    case nothing
    /// The client is gone (end of stream, reset, or a failed flush): close it.
    case closed
}

extension OutputQueue {
    /// The first half of every floor server's event handler: flush pending output when writable, then read once.
    func serviceEvent(
        _ events: EventLoop.Events, _ registration: EventLoop.Registration, on loop: EventLoop,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> ClientRead {
        if events.contains(.writable), !flush(registration, on: loop) { return .closed }
        guard events.contains(.readable) || events.contains(.hangup) || events.contains(.error),
            let fd = loop.descriptor(of: registration)
        else { return .nothing }
        do {
            guard let count = try fd.read(into: buffer) else { return .nothing }  // spurious wakeup
            return count > 0 ? .bytes(count) : .closed
        } catch {
            return .closed  // reset by the client: nothing to answer
        }
    }
}
