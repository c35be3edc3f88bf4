import CShim
import Glibc

/// Non-blocking IPv4 TCP sockets: listen, accept, connect, and the socket options the logging channel needs.
///
/// Every socket made here is non-blocking and close-on-exec, and every connected one has `TCP_NODELAY`: frames
/// are small and latency-bound, and Nagle would hold a lone ack back for up to 40 ms (IO-FINDINGS).
public enum TCP {
    /// Pending connections the kernel queues before `accept`; a logging channel has one or two, so this is slack
    /// for reconnect storms, not a throughput knob.
    public static let defaultBacklog: CInt = 64

    /// How a non-blocking `connect` began.
    public enum ConnectProgress: Equatable, Sendable {
        /// Already connected (possible on loopback).
        case connected(FileDescriptor)
        /// In progress: wait until the descriptor is writable, then call `TCP.completeConnect(_:)`.
        case inProgress(FileDescriptor)

        /// The socket, whichever way the connect began.
        public var descriptor: FileDescriptor {
            switch self {
            case .connected(let fd), .inProgress(let fd): fd
            }
        }
    }

    /// A listening socket bound to `address` (port 0: the kernel picks one; read it with `localAddress(of:)`).
    ///
    /// `SO_REUSEADDR` lets a restarted node bind again while old connections sit in TIME_WAIT. A port held by a
    /// live listener is still refused: `SystemError(call: "bind", errno: EADDRINUSE)`.
    public static func listen(
        on address: SocketAddress, backlog: CInt = defaultBacklog
    ) throws(SystemError) -> FileDescriptor {
        let fd = try makeSocket()
        do {
            try setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1)
            var kernelAddress = address.sockaddr
            _ = try withUnsafePointer(to: &kernelAddress) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(SystemError) in
                    try retryingInterrupts("bind") {
                        Glibc.bind(fd.rawValue, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
                    }
                }
            }
            _ = try retryingInterrupts("listen") { Glibc.listen(fd.rawValue, backlog) }
            return fd
        } catch {
            try? fd.close()  // the bind or listen error is the one worth reporting
            throw error.with(context: address.description)
        }
    }

    /// Accepts one pending connection: non-blocking, close-on-exec, `TCP_NODELAY`. `nil` when none is pending.
    ///
    /// A connection the peer reset before we accepted it (`ECONNABORTED`) is skipped, as if it never came.
    public static func accept(from listener: FileDescriptor) throws(SystemError) -> FileDescriptor? {
        while true {
            var address = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let raw: CInt?
            do {
                raw = try withUnsafeMutablePointer(to: &address) { pointer throws(SystemError) in
                    try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(SystemError) in
                        try nilIfWouldBlock("accept") { Glibc.accept(listener.rawValue, generic, &length) }
                    }
                }
            } catch where error.errno == ECONNABORTED {
                continue
            }
            guard let raw else { return nil }
            let fd = FileDescriptor(rawValue: raw)
            do {
                // accept4 is hidden behind _GNU_SOURCE in Swift's Glibc module, so the flags are set afterwards.
                try fd.setNonBlocking()
                try fd.setCloseOnExec()
                try setNoDelay(fd)
            } catch {
                try? fd.close()  // the setup error is the one worth reporting
                throw error
            }
            return fd
        }
    }

    /// Starts a non-blocking connect to `address` on a new socket with `TCP_NODELAY`.
    ///
    /// A refusal the kernel knows at once (possible on loopback) throws here; otherwise the result arrives as
    /// writability (`EPOLLOUT`), and `completeConnect(_:)` reads it.
    public static func connect(to address: SocketAddress) throws(SystemError) -> ConnectProgress {
        let fd = try makeSocket()
        do {
            try setNoDelay(fd)
            var kernelAddress = address.sockaddr
            let started = try withUnsafePointer(to: &kernelAddress) { pointer throws(SystemError) in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(SystemError) in
                    do throws(SystemError) {
                        _ = try retryingInterrupts("connect") {
                            Glibc.connect(fd.rawValue, generic, socklen_t(MemoryLayout<sockaddr_in>.size))
                        }
                        return true
                    } catch where error.errno == EINPROGRESS {
                        return false
                    }
                }
            }
            return started ? .connected(fd) : .inProgress(fd)
        } catch {
            try? fd.close()  // the connect error is the one worth reporting
            throw error.with(context: address.description)
        }
    }

    /// After an in-progress connect reported writable (or an error): returns if connected, throws the
    /// connect's own error (as `call: "connect"`) otherwise.
    public static func completeConnect(_ fd: FileDescriptor) throws(SystemError) {
        let pending = try option(fd, level: SOL_SOCKET, name: SO_ERROR)
        if pending != 0 { throw SystemError(call: "connect", errno: pending) }
    }

    /// The address the socket is bound to: how a listener on port 0 learns its port.
    public static func localAddress(of fd: FileDescriptor) throws(SystemError) -> SocketAddress {
        try address(of: fd, call: "getsockname") { getsockname($0, $1, $2) }
    }

    /// The address of the connected peer.
    public static func peerAddress(of fd: FileDescriptor) throws(SystemError) -> SocketAddress {
        try address(of: fd, call: "getpeername") { getpeername($0, $1, $2) }
    }

    /// Turns Nagle's algorithm off; on for every socket this module makes.
    public static func setNoDelay(_ fd: FileDescriptor) throws(SystemError) {
        try setOption(fd, level: CInt(IPPROTO_TCP), name: TCP_NODELAY, value: 1)
    }

    /// Stops further sends (a FIN to the peer) while the socket can still read: a graceful close.
    public static func shutdownWrites(_ fd: FileDescriptor) throws(SystemError) {
        _ = try retryingInterrupts("shutdown") { Glibc.shutdown(fd.rawValue, CInt(SHUT_WR)) }
    }

    /// Sets an integer socket option.
    public static func setOption(_ fd: FileDescriptor, level: CInt, name: CInt, value: CInt) throws(SystemError) {
        var value = value
        _ = try retryingInterrupts("setsockopt") {
            setsockopt(fd.rawValue, level, name, &value, socklen_t(MemoryLayout<CInt>.size))
        }
    }

    /// Reads an integer socket option.
    public static func option(_ fd: FileDescriptor, level: CInt, name: CInt) throws(SystemError) -> CInt {
        var value: CInt = 0
        var length = socklen_t(MemoryLayout<CInt>.size)
        _ = try retryingInterrupts("getsockopt") { getsockopt(fd.rawValue, level, name, &value, &length) }
        return value
    }

    private static func makeSocket() throws(SystemError) -> FileDescriptor {
        let type = CInt(SOCK_STREAM.rawValue | SOCK_NONBLOCK.rawValue | SOCK_CLOEXEC.rawValue)
        return FileDescriptor(rawValue: try retryingInterrupts("socket") { socket(AF_INET, type, 0) })
    }

    private static func address(
        of fd: FileDescriptor, call: StaticString,
        _ body: (CInt, UnsafeMutablePointer<sockaddr>, UnsafeMutablePointer<socklen_t>) -> CInt
    ) throws(SystemError) -> SocketAddress {
        var address = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = try withUnsafeMutablePointer(to: &address) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic throws(SystemError) in
                try retryingInterrupts(call) { body(fd.rawValue, generic, &length) }
            }
        }
        return SocketAddress(address)
    }
}
