import Glibc

/// A process this test started, by PID: the only processes the test ever signals.
///
/// Its stdout and stderr go to files, so a failure can show the node's log. `killAndReap` is the teardown: SIGKILL,
/// then `waitpid` with a deadline, so nothing is left running and no zombie is left behind.
final class ChildProcess: @unchecked Sendable {  // unchecked: `isReaped` is touched by the test's one task only
    let pid: pid_t
    private(set) var isReaped = false

    /// Starts `executable` with `arguments`, its stdout and stderr appended to the given files (or /dev/null).
    init(executable: String, _ arguments: [String], standardOutput: String = "/dev/null",
         standardError: String = "/dev/null") throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, standardOutput, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, standardError, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let code = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard code == 0 else { throw HarnessError("posix_spawn \(executable) failed: errno \(code)") }
        self.pid = pid
    }

    /// Whether it has exited (and is now reaped).
    func hasExited() -> Bool {
        guard !isReaped else { return true }
        var status: CInt = 0
        if waitpid(pid, &status, WNOHANG) == pid { isReaped = true }
        return isReaped
    }

    /// Waits up to `grace` for it to exit by itself, then SIGKILLs it and reaps it (SIGKILL cannot be ignored, so
    /// the reap follows at once). Idempotent.
    func killAndReap(grace: Duration = .zero) {
        let clock = ContinuousClock()
        let end = clock.now + grace
        while !hasExited(), clock.now < end { usleep(10_000) }
        guard !isReaped else { return }
        kill(pid, SIGKILL)
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1, errno == EINTR {}
        isReaped = true
    }
}
