import Glibc
import Posix
import Synchronization

/// The helper thread that runs the `RoleChangeHook`, one run at a time, in the order the role changes happened.
///
/// The loop only queues a notice (`submit`), which never blocks. The queue holds `RoleChangeHook.pendingRunsLimit`
/// notices waiting behind the run in progress; past it the oldest waiting notice is dropped (and logged, at the
/// first and every `droppedLogEvery`th): role changes that pile up faster than the hook runs are a flapping node,
/// and the latest roles are the ones a hook must act on. Each run's output is logged line by line, at most
/// `RoleChangeHook.outputLinesLimit` lines of at most `RoleChangeHook.outputLineBytesLimit` bytes (the rest
/// counted, not logged), and a run past the hook's time limit is killed with SIGKILL to its process group (the
/// shell and whatever it started).
final class RoleChangeHookRunner: Sendable {
    /// Dropped notices are logged at the first and then every this many.
    static let droppedLogEvery = 100
    /// How long the thread waits for output at a time before it looks at the clock and the child again.
    static let readSlice: Duration = .milliseconds(20)

    private struct State {
        var queue: [RoleChangeNotice] = []
        var isStopping = false
        /// When stopping: runs end by then (killed if need be), and queued ones past it never start.
        var exitDeadline: UInt64?
        var dropped = 0
    }

    let hook: RoleChangeHook
    private let log: @Sendable (RuntimeEvent) -> Void
    private let state = Mutex(State())
    private let helper = HelperThread()

    init(hook: RoleChangeHook, log: @escaping @Sendable (RuntimeEvent) -> Void) {
        self.hook = hook
        self.log = log
    }

    /// Starts the thread.
    func start() throws(SystemError) {
        try helper.start { [self] in work() }
    }

    /// Queues a run for `notice`; never blocks. Any thread.
    func submit(_ notice: RoleChangeNotice) {
        let dropped = state.withLock { state -> Int? in
            guard !state.isStopping else { return nil }
            state.queue.append(notice)
            guard state.queue.count > RoleChangeHook.pendingRunsLimit else { return nil }
            state.queue.removeFirst()
            state.dropped += 1
            return state.dropped
        }
        helper.wake()
        if let dropped, dropped == 1 || dropped % Self.droppedLogEvery == 0 {
            log(.roleChangeHook(.dropped(total: dropped, limit: RoleChangeHook.pendingRunsLimit)))
        }
    }

    /// Runs what is queued, all within one hook time limit from now (the run then going is killed, and notices
    /// still waiting are dropped), then ends the thread: for a node that exits. After `halt()` it only waits.
    func finish() {
        state.withLock {
            guard !$0.isStopping else { return }
            $0.isStopping = true
            $0.exitDeadline = monotonicNanoseconds() + UInt64(hook.timeout.nanoseconds)
        }
        helper.wake()
        join()
    }

    /// Stops at once, like a crash: the run in progress is killed, queued ones never start. Any thread.
    func halt() {
        state.withLock {
            $0.isStopping = true
            $0.exitDeadline = 0
        }
        helper.wake()
    }

    /// Waits for the thread to end; call after `halt()` or from `finish()`.
    func join() {
        helper.join()
    }

    // MARK: The thread

    private func work() {
        while true {
            helper.waitForWake()
            while true {
                let (next, unrun) = state.withLock { state -> ((RoleChangeNotice, UInt64?)?, Int) in
                    if let deadline = state.exitDeadline, monotonicNanoseconds() >= deadline {
                        defer { state.queue.removeAll() }
                        return (nil, state.queue.count)
                    }
                    guard !state.queue.isEmpty else { return (nil, 0) }
                    return ((state.queue.removeFirst(), state.exitDeadline), 0)
                }
                if unrun > 0 { log(.roleChangeHook(.notRunAtExit(count: unrun))) }
                guard let (notice, exitDeadline) = next else { break }
                let limit = monotonicNanoseconds() + UInt64(hook.timeout.nanoseconds)
                run(notice, until: min(limit, exitDeadline ?? limit))
            }
            if state.withLock({ $0.isStopping }) { return }
        }
    }

    /// One run: spawn, log its output until it ends or `deadline` (monotonic nanoseconds) passes, then reap.
    private func run(_ notice: RoleChangeNotice, until deadline: UInt64) {
        let started = monotonicNanoseconds()
        let pipe: (read: FileDescriptor, write: FileDescriptor)
        let child: ChildProcess
        do {
            pipe = try FileDescriptor.pipe()
        } catch {
            log(.roleChangeHook(.cannotStart(notice, error)))
            return
        }
        defer { try? pipe.read.close() }  // the read end only: nothing to lose
        do {
            let ours = Set(notice.environment.map { $0.prefix { $0 != "=" } })
            let environment = ChildProcess.currentEnvironment.filter { !ours.contains($0.prefix { $0 != "=" }) }
                + notice.environment
            child = try ChildProcess.spawn(
                "/bin/sh", arguments: ["-c", hook.command], environment: environment,
                standardOutput: .descriptor(pipe.write), standardError: .descriptor(pipe.write), newProcessGroup: true)
        } catch {
            try? pipe.write.close()  // the spawn error is the one worth reporting
            log(.roleChangeHook(.cannotStart(notice, error)))
            return
        }
        try? pipe.write.close()  // the child holds its own copy; ours must go, or the read never ends
        var output = OutputLines(notice: notice, log: log)
        var isTimedOut = false
        var status: ChildProcess.ExitStatus?
        var buffer = [UInt8](repeating: 0, count: 4_096)
        reading: while true {
            let now = monotonicNanoseconds()
            if now >= deadline || state.withLock({ $0.exitDeadline.map { now >= $0 } ?? false }) {
                isTimedOut = true
                break
            }
            let slice = min(Self.readSlice, .nanoseconds(Int64(deadline - now)))
            let isReadable = (try? pipe.read.waitReadable(timeout: slice)) ?? false  // a poll error: look again
            if isReadable {
                // A read error ends the output as its end does: the run's status is still awaited below.
                let count = buffer.withUnsafeMutableBytes { (try? pipe.read.read(into: $0)) ?? 0 }
                if count == 0 { break reading }  // every writer closed: the shell and anything it started
                output.take(buffer[..<count])
            } else if let ended = try? child.tryWait() {
                // Exited, with a background process of its own still holding the pipe: what it writes later is
                // not this run's.
                status = ended
                break reading
            }
        }
        if !isTimedOut, status == nil {
            // The output ended (the shell closed it) but the shell may still run: it gets the rest of its time.
            let now = monotonicNanoseconds()
            let remaining = Duration.nanoseconds(Int64(deadline > now ? deadline - now : 0))
            status = try? child.wait(timeout: remaining)  // a waitpid error: treated as still running, so killed
            isTimedOut = status == nil
        }
        if isTimedOut {
            try? child.signalGroup(SIGKILL)  // the group may be gone already; the reaping below still waits
            // SIGKILL cannot be caught, so the reaping is prompt; `terminate` only bounds it.
            status = try? child.terminate(signal: SIGKILL, timeout: .seconds(5))
        }
        output.finish()
        let elapsed = Duration.nanoseconds(Int64(monotonicNanoseconds() - started))
        if isTimedOut {
            log(.roleChangeHook(.timedOut(notice, limit: hook.timeout, pid: child.pid)))
        } else if let status {
            log(.roleChangeHook(.finished(notice, status, elapsed: elapsed)))
        }
    }
}

/// A run's output cut into lines, each logged as it completes, within the runner's bounds.
private struct OutputLines {
    let notice: RoleChangeNotice
    let log: @Sendable (RuntimeEvent) -> Void
    private var partial: [UInt8] = []
    private var logged = 0
    private var dropped = 0

    init(notice: RoleChangeNotice, log: @escaping @Sendable (RuntimeEvent) -> Void) {
        self.notice = notice
        self.log = log
    }

    mutating func take(_ bytes: ArraySlice<UInt8>) {
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                emit()
            } else if partial.count < RoleChangeHook.outputLineBytesLimit {
                partial.append(byte)
            }
        }
    }

    mutating func finish() {
        if !partial.isEmpty { emit() }
        if dropped > 0 { log(.roleChangeHook(.outputCut(notice, droppedLines: dropped))) }
    }

    private mutating func emit() {
        defer { partial.removeAll(keepingCapacity: true) }
        guard logged < RoleChangeHook.outputLinesLimit else {
            dropped += 1
            return
        }
        logged += 1
        log(.roleChangeHook(.output(notice, line: String(decoding: partial, as: UTF8.self))))
    }
}
