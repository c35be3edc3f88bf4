import CShim
import Glibc

/// A failed system call: which call, and the `errno` it left.
///
/// The only error type of this module, so every layer above can say exactly which call failed and why without
/// reading `errno` itself. `context` (an address, a path) only enriches the description; equality ignores it, so
/// a test can expect `SystemError(call: "bind", errno: EADDRINUSE)` without knowing the port.
public struct SystemError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The C function that failed, e.g. `"bind"`.
    public let call: String
    /// The `errno` the call left, or the error number a pthread or posix_spawn function returned.
    public let errno: CInt
    /// What the call was working on, e.g. `"127.0.0.1:7000"`; for the description only.
    public let context: String?

    /// The failure of `call` with `errno`, optionally naming what it worked on.
    public init(call: String, errno: CInt, context: String? = nil) {
        self.call = call
        self.errno = errno
        self.context = context
    }

    /// Equal when the call and `errno` match; `context` is ignored, so tests need not know ports or paths.
    public static func == (a: SystemError, b: SystemError) -> Bool { a.call == b.call && a.errno == b.errno }

    /// The same error, naming what the call was working on.
    public func with(context: String) -> SystemError { SystemError(call: call, errno: errno, context: context) }

    /// Whether the call would have blocked; the wrappers turn this into `nil`, so callers rarely see it.
    public var isWouldBlock: Bool { errno == EAGAIN || errno == EWOULDBLOCK }

    /// The symbolic name of `errno` (`"EADDRINUSE"`), or its number for the rare ones not listed.
    public var errnoName: String { Self.names[errno] ?? "errno \(errno)" }

    /// One sentence for the log: the call, what it worked on, the errno's name and text, and for a busy port or a
    /// refused connection what to do.
    public var description: String {
        let subject = context.map { "\(call) \($0)" } ?? call
        let reason = "\(errnoName): \(Self.message(for: errno))"
        switch (call, errno) {
        case ("bind", EADDRINUSE):
            return "\(subject) failed: the port is already in use (\(reason)); stop whatever holds it or pick "
                + "another port"
        case ("connect", ECONNREFUSED):
            return "\(subject) failed: nothing is listening there (\(reason))"
        default:
            return "\(subject) failed (\(reason))"
        }
    }

    /// `strerror`'s text. glibc returns static strings for every known errno, so this is thread-safe in practice.
    private static func message(for code: CInt) -> String {
        guard let text = strerror(code) else { return "unknown error" }
        return String(cString: text)
    }

    private static let names: [CInt: String] = [
        EPERM: "EPERM", ENOENT: "ENOENT", ESRCH: "ESRCH", EINTR: "EINTR", EIO: "EIO", E2BIG: "E2BIG",
        ENOEXEC: "ENOEXEC", EBADF: "EBADF", ECHILD: "ECHILD", EAGAIN: "EAGAIN", ENOMEM: "ENOMEM",
        EACCES: "EACCES", EFAULT: "EFAULT", EBUSY: "EBUSY", EEXIST: "EEXIST", ENOTDIR: "ENOTDIR",
        EISDIR: "EISDIR", EINVAL: "EINVAL", ENFILE: "ENFILE", EMFILE: "EMFILE", ENOSPC: "ENOSPC",
        EPIPE: "EPIPE", ENAMETOOLONG: "ENAMETOOLONG", ENOTSOCK: "ENOTSOCK", EADDRINUSE: "EADDRINUSE",
        EADDRNOTAVAIL: "EADDRNOTAVAIL", ENETDOWN: "ENETDOWN", ENETUNREACH: "ENETUNREACH",
        ECONNABORTED: "ECONNABORTED", ECONNRESET: "ECONNRESET", ENOBUFS: "ENOBUFS", EISCONN: "EISCONN",
        ENOTCONN: "ENOTCONN", ETIMEDOUT: "ETIMEDOUT", ECONNREFUSED: "ECONNREFUSED", EHOSTUNREACH: "EHOSTUNREACH",
        EALREADY: "EALREADY", EINPROGRESS: "EINPROGRESS", EPROTO: "EPROTO", EAFNOSUPPORT: "EAFNOSUPPORT",
        EFBIG: "EFBIG", EDQUOT: "EDQUOT", EROFS: "EROFS",
    ]
}

/// Runs one system call, retrying it while a signal interrupts it, and turns `-1` into a `SystemError`.
///
/// The single funnel through which this module reads `errno`. `EBADF` is never an operating error here: every
/// descriptor is owned by exactly one object, so using a closed one is our bug and stops the process.
@inline(never)  // read errno before anything else can overwrite it
public func retryingInterrupts<R: FixedWidthInteger>(
    _ call: StaticString, _ body: () -> R
) throws(SystemError) -> R {
    while true {
        let result = body()
        let code = cshim_errno()
        if result != -1 { return result }
        if code == EINTR { continue }
        precondition(code != EBADF, "\(call) on a closed or foreign file descriptor: a use-after-close bug")
        throw SystemError(call: "\(call)", errno: code)
    }
}

/// `retryingInterrupts` for a non-blocking call: would-block is `nil`, not an error.
@inline(__always)
func nilIfWouldBlock<R: FixedWidthInteger>(_ call: StaticString, _ body: () -> R) throws(SystemError) -> R? {
    do {
        return try retryingInterrupts(call, body)
    } catch where error.isWouldBlock {
        return nil
    }
}

/// Turns the error number a pthread or posix_spawn function returns (instead of setting errno) into a throw.
func throwingReturnedError(_ call: StaticString, _ code: CInt) throws(SystemError) {
    if code != 0 { throw SystemError(call: "\(call)", errno: code) }
}
