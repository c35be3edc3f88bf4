import Glibc
import Posix
import Replication
@testable import Runtime
import Testing

/// The `--on-role-change` hook: what its environment holds, how its output is logged, its time limit, its order,
/// its bounded queue, and that a real node runs it on its own role changes. Each test works in a fresh directory
/// of its own; the hooks are `/bin/sh` one-liners writing there.
@Suite("the role-change hook", .serialized)
struct RoleChangeHookTests {
    static func notice(epoch: UInt64, reason: String = "primary_lost") -> RoleChangeNotice {
        RoleChangeNotice(previousRole: .backup, role: .primary, epoch: epoch, reason: reason, node: "b")
    }

    /// A runner of `command` logging into `events`, started; the test calls `finish()` or `halt()`.
    static func runner(_ command: String, timeout: Duration = .seconds(10), events: RecordedEvents) throws
        -> RoleChangeHookRunner
    {
        let runner = RoleChangeHookRunner(hook: RoleChangeHook(command: command, timeout: timeout)) { event in
            print("[hook] \(event)")
            events.append(event)
        }
        try runner.start()
        return runner
    }

    static func hookEvents(_ events: RecordedEvents) -> [RoleChangeHookEvent] {
        events.all.compactMap { if case .roleChangeHook(let event) = $0 { event } else { nil } }
    }

    static func finishedCount(_ events: RecordedEvents) -> Int {
        hookEvents(events).filter { if case .finished = $0 { true } else { false } }.count
    }

    static func outputLines(_ events: RecordedEvents) -> [String] {
        hookEvents(events).compactMap { if case .output(_, let line) = $0 { line } else { nil } }
    }

    static func lines(_ path: String) -> [String] {
        (FileDescriptor.readText(atPath: path) ?? "").split(separator: "\n").map(String.init)
    }

    @Test("the hook's environment names the new and previous role, the epoch, the reason code and the node")
    func environment() throws {
        let events = RecordedEvents()
        let runner = try Self.runner(
            #"printf '%s|%s|%s|%s|%s|%s\n' "$LOCKSTEP_ROLE" "$LOCKSTEP_PREVIOUS_ROLE" "$LOCKSTEP_EPOCH" "#
                + #""$LOCKSTEP_REASON" "$LOCKSTEP_NODE" "${PATH:+inherited}""#, events: events)
        runner.submit(Self.notice(epoch: 7))
        #expect(Waiting.until(.seconds(10)) { Self.finishedCount(events) == 1 }, "the hook did not finish")
        runner.finish()
        #expect(Self.outputLines(events) == ["primary|backup|7|primary_lost|b|inherited"])
        let finished = Self.hookEvents(events).compactMap { if case .finished(_, let status, _) = $0 { status } else { nil } }
        #expect(finished == [.exited(code: 0)])
    }

    @Test("stdout and stderr are logged line by line, at most outputLinesLimit lines a run, the rest counted")
    func outputLogged() throws {
        let events = RecordedEvents()
        let total = RoleChangeHook.outputLinesLimit + 50
        let runner = try Self.runner(
            "echo to-stdout; echo to-stderr >&2; i=3; while [ $i -le \(total) ]; do echo line $i; i=$((i+1)); done",
            events: events)
        runner.submit(Self.notice(epoch: 1))
        #expect(Waiting.until(.seconds(10)) { Self.finishedCount(events) == 1 }, "the hook did not finish")
        runner.finish()
        let lines = Self.outputLines(events)
        #expect(lines.count == RoleChangeHook.outputLinesLimit)
        #expect(Array(lines.prefix(3)) == ["to-stdout", "to-stderr", "line 3"])
        #expect(lines.last == "line \(RoleChangeHook.outputLinesLimit)")
        let cut = Self.hookEvents(events).compactMap { if case .outputCut(_, let dropped) = $0 { dropped } else { nil } }
        #expect(cut == [50])
    }

    @Test("a hook past its time limit is killed with what it started, and the next run goes ahead")
    func timeoutKills() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = RecordedEvents()
        let command = #"if [ "$LOCKSTEP_EPOCH" = 1 ]; then echo $$ > "# + directory.path + #"/shell; "#
            + #"sleep 30 & echo $! > "# + directory.path + #"/sleeper; wait; fi; echo done $LOCKSTEP_EPOCH"#
        let runner = try Self.runner(command, timeout: .milliseconds(300), events: events)
        let started = monotonicNanoseconds()
        runner.submit(Self.notice(epoch: 1))
        runner.submit(Self.notice(epoch: 2))
        #expect(Waiting.until(.seconds(10)) { Self.finishedCount(events) == 1 }, "the second run did not finish")
        let elapsed = millisecondsSince(started)
        runner.finish()
        let timedOut = Self.hookEvents(events).compactMap {
            if case .timedOut(let notice, let limit, _) = $0 { (notice.epoch, limit) } else { nil }
        }
        #expect(timedOut.map(\.0) == [1])
        #expect(timedOut.first?.1 == .milliseconds(300))
        #expect(Self.outputLines(events) == ["done 2"], "the killed run printed nothing after its kill")
        #expect(elapsed < 5_000, "the run was not cut at its 300 ms limit: \(elapsed) ms")
        for name in ["shell", "sleeper"] {
            let pid = pid_t(Self.lines(directory.path + "/" + name).first ?? "") ?? 0
            #expect(pid > 0, "the hook did not record its \(name)'s pid")
            #expect(Waiting.until(.seconds(5)) { !Self.isRunning(pid) }, "the hook's \(name) \(pid) still runs")
        }
    }

    @Test("a hook that closes its output but keeps running is still killed at its limit")
    func silentHookKilled() throws {
        let events = RecordedEvents()
        let runner = try Self.runner("exec >/dev/null 2>&1; sleep 30", timeout: .milliseconds(300), events: events)
        let started = monotonicNanoseconds()
        runner.submit(Self.notice(epoch: 1))
        let ended = Waiting.until(.seconds(10)) {
            Self.hookEvents(events).contains { if case .timedOut = $0 { true } else { false } }
        }
        let elapsed = millisecondsSince(started)
        runner.finish()
        #expect(ended, "the silent hook was not killed")
        #expect(elapsed < 5_000, "the silent hook was not cut at its 300 ms limit: \(elapsed) ms")
    }

    /// Whether `pid` is a live process (a zombie, killed and waiting for its reaper, is not).
    static func isRunning(_ pid: pid_t) -> Bool {
        guard pid > 0, let stat = FileDescriptor.readText(atPath: "/proc/\(pid)/stat"),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].split(separator: " ").first
        return state != "Z" && state != "X"
    }

    @Test("runs happen one at a time, in the order the role changes came")
    func ordering() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = RecordedEvents()
        let file = directory.path + "/order"
        let runner = try Self.runner(
            #"echo "start $LOCKSTEP_EPOCH" >> "# + file + #"; sleep 0.05; echo "end $LOCKSTEP_EPOCH" >> "# + file,
            events: events)
        for epoch in 1...5 { runner.submit(Self.notice(epoch: UInt64(epoch))) }
        #expect(Waiting.until(.seconds(20)) { Self.finishedCount(events) == 5 }, "five runs did not finish")
        runner.finish()
        #expect(Self.lines(file) == (1...5).flatMap { ["start \($0)", "end \($0)"] })
    }

    @Test("past pendingRunsLimit waiting runs, the oldest waiting one is dropped and logged")
    func boundedQueue() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let events = RecordedEvents()
        let (gate, started, ran) = (directory.path + "/gate", directory.path + "/started", directory.path + "/ran")
        let runner = try Self.runner(
            #"echo $LOCKSTEP_EPOCH >> "# + started + #"; while [ ! -e "# + gate + #" ]; do sleep 0.01; done; "#
                + #"echo $LOCKSTEP_EPOCH >> "# + ran, events: events)
        runner.submit(Self.notice(epoch: 1))
        #expect(Waiting.until(.seconds(10)) { Self.lines(started) == ["1"] }, "the first run did not start")
        let extra = 3
        let submitted = 1 + RoleChangeHook.pendingRunsLimit + extra
        for epoch in 2...submitted { runner.submit(Self.notice(epoch: UInt64(epoch))) }
        close(open(gate, O_CREAT | O_WRONLY, 0o644))
        let expectedRuns = 1 + RoleChangeHook.pendingRunsLimit
        #expect(Waiting.until(.seconds(20)) { Self.finishedCount(events) == expectedRuns }, "the runs did not finish")
        runner.finish()
        // Epochs 2 to 1 + extra were the oldest waiting when the queue overflowed.
        #expect(Self.lines(ran) == ["1"] + (2 + extra...submitted).map(String.init))
        let dropped = Self.hookEvents(events).compactMap { if case .dropped(let total, _) = $0 { total } else { nil } }
        #expect(dropped == [1], "the first drop is logged, later ones only every \(RoleChangeHookRunner.droppedLogEvery)th")
    }

    @Test("a node runs the hook on its own role changes, the last one (its stop) before it exits")
    func nodeRunsHook() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let hookDirectory = try TemporaryDirectory()
        defer { hookDirectory.remove() }
        let file = hookDirectory.path + "/changes"
        let node = try TestNode.start(name: "a", arbiterDirectory: directory.path) {
            $0.roleChangeHook = RoleChangeHook(
                command: #"echo "$LOCKSTEP_PREVIOUS_ROLE $LOCKSTEP_ROLE $LOCKSTEP_EPOCH $LOCKSTEP_REASON $LOCKSTEP_NODE" >> "#
                    + file)
        }
        defer { node.shutDown() }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")
        #expect(Waiting.until(.seconds(10)) { Self.lines(file).count == 1 }, "the hook did not run on going live")
        node.runtime.requestStop()
        #expect(node.waitForExit(.seconds(15)), "the node did not stop")
        #expect(Self.lines(file) == ["joining solo 1 new_cluster a", "solo stopped 1 primary_stopped a"])
    }
}
