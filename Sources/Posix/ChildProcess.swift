import Glibc
import Synchronization

/// A child process started with posix_spawn: for the `pair` supervisor and for real-process tests.
///
/// Once reaped, the exit status is remembered and `signal(_:)` becomes a no-op, so a test's teardown can never
/// signal an unrelated process that was given the same pid.
public final class ChildProcess: Sendable {
    /// Where a child's stdout or stderr goes.
    public enum Output: Sendable, Equatable {
        /// The parent's own stream.
        case inherit
        /// /dev/null.
        case discard
        /// A file, created if missing (mode 0644), truncated unless `append`.
        case file(path: String, append: Bool)
        /// A descriptor of the parent's, e.g. a pipe's write end: the child gets a copy, the parent keeps its own.
        case descriptor(FileDescriptor)
    }

    /// How a child ended.
    public enum ExitStatus: Equatable, Sendable, CustomStringConvertible {
        /// The child called exit (or returned from main) with this code, 0 to 255.
        case exited(code: CInt)
        /// A signal ended the child, e.g. `SIGKILL` (9).
        case signaled(signal: CInt)

        /// How the child ended, as a phrase for logs and test failures.
        public var description: String {
            switch self {
            case .exited(let code): "exited with code \(code)"
            case .signaled(let signal): "killed by signal \(signal)"
            }
        }

        /// Decodes a waitpid status (the W* macros are not imported into Swift).
        init(waitStatus status: CInt) {
            let signal = status & 0x7F
            self = signal == 0 ? .exited(code: (status >> 8) & 0xFF) : .signaled(signal: signal)
        }
    }

    /// The child's process id; reused by the kernel once the child is reaped, so signal through `signal(_:)` only.
    public let pid: pid_t
    /// Set once the child is reaped; the lock also keeps a signal from racing the reaping.
    private let reaped = Mutex<ExitStatus?>(nil)

    private init(pid: pid_t) { self.pid = pid }

    /// Starts `executablePath` (an absolute or relative path; PATH is not searched) with `arguments` (without
    /// argv[0], which is the path). `environment` entries are `"NAME=value"`; nil inherits the parent's.
    ///
    /// The child gets default dispositions for SIGPIPE, SIGINT, SIGTERM and SIGHUP (ignored ones would otherwise
    /// survive exec) and an empty signal mask. `newProcessGroup` keeps a terminal's Ctrl-C from reaching it.
    public static func spawn(
        _ executablePath: String, arguments: [String] = [], environment: [String]? = nil,
        standardOutput: Output = .inherit, standardError: Output = .inherit, newProcessGroup: Bool = false
    ) throws(SystemError) -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        try throwingReturnedError("posix_spawn_file_actions_init", posix_spawn_file_actions_init(&actions))
        defer { posix_spawn_file_actions_destroy(&actions) }
        try redirect(FileDescriptor.standardOutput, to: standardOutput, in: &actions)
        try redirect(FileDescriptor.standardError, to: standardError, in: &actions)

        var attributes = posix_spawnattr_t()
        try throwingReturnedError("posix_spawnattr_init", posix_spawnattr_init(&attributes))
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signalNumber in [SIGPIPE, SIGINT, SIGTERM, SIGHUP] { sigaddset(&defaults, signalNumber) }
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        var flags = CInt(POSIX_SPAWN_SETSIGDEF) | CInt(POSIX_SPAWN_SETSIGMASK)
        if newProcessGroup {
            flags |= CInt(POSIX_SPAWN_SETPGROUP)
            try throwingReturnedError("posix_spawnattr_setpgroup", posix_spawnattr_setpgroup(&attributes, 0))
        }
        try throwingReturnedError(
            "posix_spawnattr_setsigdefault", posix_spawnattr_setsigdefault(&attributes, &defaults))
        try throwingReturnedError("posix_spawnattr_setsigmask", posix_spawnattr_setsigmask(&attributes, &emptyMask))
        try throwingReturnedError("posix_spawnattr_setflags", posix_spawnattr_setflags(&attributes, Int16(flags)))

        let argv = CStringArray([executablePath] + arguments)
        defer { argv.free() }
        let environmentArray = environment.map(CStringArray.init)
        defer { environmentArray?.free() }
        var pid: pid_t = 0
        let code = posix_spawn(
            &pid, executablePath, &actions, &attributes, argv.pointers, environmentArray?.pointers ?? environ)
        if code != 0 { throw SystemError(call: "posix_spawn", errno: code, context: executablePath) }
        return ChildProcess(pid: pid)
    }

    /// The exit status, if the child has been reaped.
    public var exitStatus: ExitStatus? { reaped.withLock { $0 } }

    /// Sends `signal` (e.g. SIGKILL, SIGSTOP, SIGCONT, SIGTERM). A no-op once the child is reaped.
    public func signal(_ signal: CInt) throws(SystemError) {
        try reaped.withLock { status throws(SystemError) in
            guard status == nil else { return }
            _ = try retryingInterrupts("kill") { kill(pid, signal) }
        }
    }

    /// Sends `signal` to the child's whole process group, for a child spawned with `newProcessGroup` (whose group
    /// id is its pid): what a shell it runs has started goes too. A no-op once the child is reaped, when the group
    /// id may already be another's.
    public func signalGroup(_ signal: CInt) throws(SystemError) {
        try reaped.withLock { status throws(SystemError) in
            guard status == nil else { return }
            _ = try retryingInterrupts("kill") { kill(-pid, signal) }
        }
    }

    /// This process's environment, `"NAME=value"` each: to hand a child the parent's environment plus more.
    public static var currentEnvironment: [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            entries.append(String(cString: entry))
            index += 1
        }
        return entries
    }

    /// Reaps the child if it has exited, without blocking: `nil` while it runs.
    public func tryWait() throws(SystemError) -> ExitStatus? {
        try reaped.withLock { reaped throws(SystemError) in
            if let reaped { return reaped }
            var status: CInt = 0
            let result = try retryingInterrupts("waitpid") { waitpid(pid, &status, WNOHANG) }
            guard result == pid else { return nil }
            reaped = ExitStatus(waitStatus: status)
            return reaped
        }
    }

    /// Waits up to `timeout` for the child to exit: its status, or `nil` if it still runs at the deadline.
    ///
    /// Polls with a short sleep rather than blocking in waitpid, so the deadline holds without SIGCHLD tricks.
    public func wait(timeout: Duration) throws(SystemError) -> ExitStatus? {
        let deadline = monotonicNanoseconds() &+ UInt64(max(0, timeout.nanoseconds))
        var pause = Duration.microseconds(200)
        while true {
            if let status = try tryWait() { return status }
            if monotonicNanoseconds() >= deadline { return nil }
            sleep(for: pause)
            pause = min(pause * 2, .milliseconds(10))
        }
    }

    /// Sends `signal` and waits up to `timeout` for the exit, then SIGKILLs and reaps: a teardown that always
    /// leaves no child behind.
    @discardableResult
    public func terminate(
        signal: CInt = SIGTERM, timeout: Duration = .seconds(5)
    ) throws(SystemError) -> ExitStatus {
        try self.signal(signal)
        if let status = try wait(timeout: timeout) { return status }
        try self.signal(SIGKILL)
        while true {
            if let status = try wait(timeout: .seconds(60)) { return status }
        }
    }

    private static func redirect(
        _ target: FileDescriptor, to output: Output, in actions: inout posix_spawn_file_actions_t
    ) throws(SystemError) {
        let code: CInt
        switch output {
        case .inherit:
            return
        case .discard:
            code = posix_spawn_file_actions_addopen(&actions, target.rawValue, "/dev/null", O_WRONLY, 0)
        case .file(let path, let append):
            let flags = O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC)
            code = posix_spawn_file_actions_addopen(&actions, target.rawValue, path, flags, 0o644)
        case .descriptor(let source):
            code = posix_spawn_file_actions_adddup2(&actions, source.rawValue, target.rawValue)
        }
        try throwingReturnedError("posix_spawn_file_actions_addopen", code)
    }
}

/// A NULL-terminated array of C strings, as argv and envp want, freed explicitly after the call.
private struct CStringArray {
    let pointers: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>

    init(_ strings: [String]) {
        pointers = .allocate(capacity: strings.count + 1)
        for (index, string) in strings.enumerated() { pointers[index] = strdup(string) }
        pointers[strings.count] = nil
    }

    func free() {
        var index = 0
        while let string = pointers[index] {
            Glibc.free(string)
            index += 1
        }
        pointers.deallocate()
    }
}
