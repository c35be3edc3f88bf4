import Glibc
import Posix
import Synchronization

/// Every process and temporary directory the harness made, so that all of them go away at the end, on an error,
/// and on Ctrl-C.
///
/// The issue requires it: a benchmark that leaves a node or a Redis running would skew the next run and hold its
/// ports. Children are stopped by their PID only (SIGKILL, then reaped), never by name. Children run in their own
/// process group, so a terminal's Ctrl-C reaches only the harness, which then cleans up in order.
public final class ProcessSupervisor: Sendable {
    public static let shared = ProcessSupervisor()

    /// Children still to stop; nil once `cleanUp()` ran, after which a new child is stopped at once.
    private let children = Mutex<[ChildProcess]?>([])
    private let directories = Mutex<[String]>([])
    private let signalLoop = Mutex<(EventLoop, PosixThread)?>(nil)

    private init() {}

    /// Starts a child in its own process group and remembers it.
    public func spawn(
        _ executable: String, arguments: [String], standardOutput: ChildProcess.Output = .discard,
        standardError: ChildProcess.Output = .discard
    ) throws(SystemError) -> ChildProcess {
        let child = try ChildProcess.spawn(
            executable, arguments: arguments, standardOutput: standardOutput, standardError: standardError,
            newProcessGroup: true)
        // A Ctrl-C may clean up while another thread spawns; that child must not outlive the harness either.
        let isAccepted = children.withLock { list -> Bool in
            guard list != nil else { return false }
            list!.append(child)
            return true
        }
        guard isAccepted else {
            _ = try? child.terminate(signal: SIGKILL, timeout: .seconds(5))  // gone already is fine
            throw SystemError(call: "posix_spawn", errno: ECANCELED, context: "\(executable) (harness stopping)")
        }
        return child
    }

    /// Kills (SIGKILL) and reaps one child, and forgets it.
    ///
    /// Its process group (its own, by `spawn`) gets the SIGKILL first, while the unreaped child still holds the
    /// group id: what the child forked goes with it, such as a Redis rewriting its append-only file or feeding a
    /// replica, which would otherwise outlive it and write into a directory the harness is about to remove.
    public func kill(_ child: ChildProcess) {
        try? child.signalGroup(SIGKILL)  // a group already gone is the goal
        _ = try? child.terminate(signal: SIGKILL, timeout: .seconds(5))  // a child already gone is the goal
        children.withLock { $0?.removeAll { $0 === child } }
    }

    /// A temporary directory removed at cleanup.
    public func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        let path = try TextFile.makeTemporaryDirectory(prefix: prefix)
        directories.withLock { $0.append(path) }
        return path
    }

    /// Removes a temporary directory now.
    public func removeDirectory(_ path: String) {
        TextFile.removeTree(path)
        directories.withLock { $0.removeAll { $0 == path } }
    }

    /// Kills every child still running (SIGCONT first, so a stopped one can die) and removes the directories.
    public func cleanUp() {
        let all = children.withLock { list -> [ChildProcess] in
            let taken = list ?? []
            list = nil
            return taken
        }
        for child in all {
            try? child.signal(SIGCONT)  // a stopped process still dies of SIGKILL; this only tidies its state
            try? child.signalGroup(SIGKILL)  // what it forked too (see `kill`); a group already gone is the goal
            _ = try? child.terminate(signal: SIGKILL, timeout: .seconds(5))  // gone already is fine
        }
        let paths = directories.withLock { list -> [String] in
            let taken = list
            list = []
            return taken
        }
        for path in paths { TextFile.removeTree(path) }
    }

    /// Cleans up when the process exits normally too (any `exit()`), so an early error leaves nothing behind.
    ///
    /// Registered from here rather than from `main.swift`, whose top-level closures are main-actor isolated and
    /// would trap when `exit` runs them on the signal thread.
    public func cleanUpAtExit() {
        atexit { ProcessSupervisor.shared.cleanUp() }
    }

    /// On SIGINT or SIGTERM: print a line, clean up, and exit with 130 (or 143), from a dedicated loop thread.
    public func cleanUpOnInterrupt() throws(SystemError) {
        let loop = try EventLoop()
        try loop.handleSignals([SIGINT, SIGTERM]) { [self] signalNumber in
            let line = "\nlockstep-bench: interrupted; stopping every process it started\n"
            _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            cleanUp()
            exit(128 + signalNumber)
        }
        let thread = try loop.runOnNewThread()
        signalLoop.withLock { $0 = (loop, thread) }
    }
}
