import CShim
import Glibc

/// An open file descriptor: a plain `CInt` with the calls that take one.
///
/// A value type on purpose, so it costs nothing to pass around; ownership is a convention, not the type's job:
/// exactly one object (an `EventLoop` registration, a `ChildProcess`, a test) closes each descriptor, once.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The kernel's descriptor number.
    public let rawValue: CInt

    /// Wraps a descriptor number; the wrapper takes no ownership by itself.
    public init(rawValue: CInt) { self.rawValue = rawValue }

    /// The process's standard input, descriptor 0.
    public static let standardInput = FileDescriptor(rawValue: 0)
    /// The process's standard output, descriptor 1.
    public static let standardOutput = FileDescriptor(rawValue: 1)
    /// The process's standard error, descriptor 2.
    public static let standardError = FileDescriptor(rawValue: 2)

    /// `fd 7`, for log lines.
    public var description: String { "fd \(rawValue)" }

    /// Closes the descriptor.
    ///
    /// `EINTR` is success: on Linux the descriptor is released before `close` can be interrupted, and retrying
    /// could close a descriptor another thread has just been given.
    public func close() throws(SystemError) {
        if Glibc.close(rawValue) == -1 {
            let code = cshim_errno()
            if code == EINTR { return }
            precondition(code != EBADF, "close of a closed or foreign file descriptor: a double-close bug")
            throw SystemError(call: "close", errno: code)
        }
    }

    /// Reads what is available into `buffer`: the byte count, `0` at end of stream, `nil` if nothing is ready.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> Int? {
        try nilIfWouldBlock("read") { Glibc.read(rawValue, buffer.baseAddress, buffer.count) }
    }

    /// Writes as much of `bytes` as the kernel takes now: the count, or `nil` if it takes nothing yet.
    ///
    /// For sockets prefer `send(_:)`, which cannot raise SIGPIPE.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        try nilIfWouldBlock("write") { Glibc.write(rawValue, bytes.baseAddress, bytes.count) }
    }

    /// Writes every byte, waiting as needed; for blocking descriptors such as files and pipes.
    public func writeAll(_ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let rest = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            guard let written = try write(rest) else {
                throw SystemError(call: "write", errno: EAGAIN)  // a non-blocking descriptor: the caller's bug
            }
            offset += written
        }
    }

    /// Sends on a socket like `write`, but with `MSG_NOSIGNAL`: a peer that closed is `EPIPE`, never a signal.
    public func send(_ bytes: UnsafeRawBufferPointer) throws(SystemError) -> Int? {
        try nilIfWouldBlock("send") { Glibc.send(rawValue, bytes.baseAddress, bytes.count, CInt(MSG_NOSIGNAL)) }
    }

    /// Buffers one gathered send takes; Linux's UIO_MAXIOV (IOV_MAX is not imported). Any beyond wait for the
    /// next call, as a short write would.
    public static let gatherBuffersLimit = 1_024

    /// Gathers several buffers into one `sendmsg` on a socket; for callers whose bytes are not contiguous.
    public func send(_ buffers: [UnsafeRawBufferPointer]) throws(SystemError) -> Int? {
        var vectors = buffers.map {
            iovec(iov_base: UnsafeMutableRawPointer(mutating: $0.baseAddress), iov_len: $0.count)
        }
        let count = CInt(min(vectors.count, Self.gatherBuffersLimit))
        return try vectors.withUnsafeMutableBufferPointer { vectors throws(SystemError) in
            var message = msghdr()
            message.msg_iov = vectors.baseAddress
            message.msg_iovlen = Int(count)
            return try nilIfWouldBlock("sendmsg") { Glibc.sendmsg(rawValue, &message, CInt(MSG_NOSIGNAL)) }
        }
    }

    /// Sets or clears `O_NONBLOCK`.
    public func setNonBlocking(_ isNonBlocking: Bool = true) throws(SystemError) {
        let flags = try retryingInterrupts("fcntl") { fcntl(rawValue, F_GETFL) }
        let wanted = isNonBlocking ? flags | O_NONBLOCK : flags & ~O_NONBLOCK
        if wanted != flags { _ = try retryingInterrupts("fcntl") { fcntl(rawValue, F_SETFL, wanted) } }
    }

    /// Sets `FD_CLOEXEC`, so children started with `ChildProcess` do not inherit the descriptor.
    public func setCloseOnExec() throws(SystemError) {
        let flags = try retryingInterrupts("fcntl") { fcntl(rawValue, F_GETFD) }
        if flags & FD_CLOEXEC == 0 {
            _ = try retryingInterrupts("fcntl") { fcntl(rawValue, F_SETFD, flags | FD_CLOEXEC) }
        }
    }

    /// A pipe: bytes written to `write` are read from `read`. Both ends close-on-exec (a child gets one only as a
    /// redirected standard stream) and blocking.
    public static func pipe() throws(SystemError) -> (read: FileDescriptor, write: FileDescriptor) {
        var ends: [CInt] = [-1, -1]
        _ = try retryingInterrupts("pipe2") { cshim_pipe_cloexec(&ends) }
        return (FileDescriptor(rawValue: ends[0]), FileDescriptor(rawValue: ends[1]))
    }

    /// Waits up to `timeout` for the descriptor to become readable (or reach its end): whether it did.
    public func waitReadable(timeout: Duration) throws(SystemError) -> Bool {
        var entry = pollfd(fd: rawValue, events: Int16(POLLIN), revents: 0)
        let milliseconds = CInt(clamping: max(0, timeout.nanoseconds / 1_000_000))
        return try retryingInterrupts("poll") { poll(&entry, 1, milliseconds) } > 0
    }

    /// Opens a file; `O_CLOEXEC` is always added.
    public static func open(
        _ path: String, flags: CInt, permissions: mode_t = 0o644
    ) throws(SystemError) -> FileDescriptor {
        do {
            let raw = try retryingInterrupts("open") { Glibc.open(path, flags | O_CLOEXEC, permissions) }
            return FileDescriptor(rawValue: raw)
        } catch {
            throw error.with(context: path)
        }
    }
}

extension FileDescriptor {
    /// Bytes read at most by `readText`: it is for small files (/proc entries, logs).
    public static let readTextLimitBytes = 4 << 20

    /// A small file's contents as UTF-8 (invalid bytes replaced), at most `limitBytes` of it; nil if it cannot be
    /// opened. A read error ends the file early.
    public static func readText(atPath path: String, limitBytes: Int = readTextLimitBytes) -> String? {
        guard let fd = try? open(path, flags: O_RDONLY) else { return nil }
        defer { try? fd.close() }  // read-only: nothing to lose
        var bytes: [UInt8] = []
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { chunk.deallocate() }
        while bytes.count < limitBytes {
            guard let count = try? fd.read(into: chunk), count > 0 else { break }
            bytes.append(contentsOf: chunk.prefix(min(count, limitBytes - bytes.count)))
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension FileDescriptor {
    /// The open file's permission bits and whether it is a regular file (`fstat`).
    public func fileMode() throws(SystemError) -> (permissions: mode_t, isRegularFile: Bool) {
        var information = stat()
        _ = try retryingInterrupts("fstat") { fstat(rawValue, &information) }
        return (information.st_mode & 0o7777, information.st_mode & S_IFMT == S_IFREG)
    }
}
