import Glibc
import Posix

/// `pair`'s supervisor: starts both nodes, restarts one that exits, and stops both on SIGTERM or SIGINT.
///
/// Runs an `EventLoop` on the main thread: signals arrive there (`EventLoop.handleSignals`) and a timer polls the
/// children with `waitpid(WNOHANG)`, so there are no SIGCHLD races and every deadline is a timer.
final class Supervisor {
    /// The wait before restarting a node that exited: long enough for the survivor to notice (its silence
    /// timeout is 300 ms by default) and go live, so the restarted node finds a primary to join.
    static let restartDelay: Duration = .milliseconds(500)
    /// Restarts of one node allowed within `restartWindow`; beyond it, something is persistently wrong (a
    /// port taken by another program, a broken arbiter) and restarting would only spin.
    static let restartsLimit = 10
    static let restartWindow: Duration = .seconds(60)
    /// How long a stopping node gets after SIGTERM (a primary may be handing over) before SIGKILL.
    static let stopDeadline: Duration = .seconds(5)
    /// How often children are polled; bounds how late a crash is noticed.
    static let pollInterval: Duration = .milliseconds(50)
    /// Node a gets a head start so that it, the node on the advertised port, normally becomes the primary.
    static let secondNodeDelay: Duration = .milliseconds(200)

    /// One supervised node.
    struct Member {
        var name: String
        var client: SocketAddress
        var channel: SocketAddress
        /// Where the node serves Prometheus metrics; nil: no metrics port.
        var metrics: SocketAddress?
        /// The node's `--data-dir`.
        var dataDirectory: String
    }

    private struct Child {
        var member: Member
        var arguments: [String]
        var process: ChildProcess?
        /// Monotonic nanoseconds of recent restarts, pruned to `restartWindow`.
        var restarts: [UInt64] = []
        var pendingStart: EventLoop.TimerID?
    }

    private let loop: EventLoop
    private let parentProcessID: pid_t?
    private var children: [Child]
    private var isStopping = false
    private var exitCode = ExitCode.success

    /// `nodeArguments` go to every node as they are (the client options).
    init(
        members: [Member], arbiterDirectory: String, clusterSecretFile: String, parentProcessID: pid_t?,
        nodeArguments: [String] = []
    ) throws(CommandError) {
        precondition(members.count == 2, "a pair has two nodes")
        self.parentProcessID = parentProcessID
        do {
            loop = try EventLoop()
        } catch {
            throw .failure("cannot set up the supervisor's event loop: \(error)")
        }
        children = members.enumerated().map { index, member in
            let peer = members[1 - index]
            return Child(
                member: member,
                arguments: [
                    "node", "--name", member.name, "--client", member.client.description,
                    "--channel", member.channel.description, "--peer", peer.channel.description,
                    "--arbiter", arbiterDirectory, "--cluster-secret-file", clusterSecretFile,
                    "--parent-pid", String(getpid()), "--data-dir", member.dataDirectory,
                ] + (member.metrics.map { ["--metrics", $0.description] } ?? []) + nodeArguments)
        }
    }

    /// Supervises until both nodes have stopped; the exit code for `pair`.
    func run() -> Int32 {
        do {
            try loop.handleSignals([SIGTERM, SIGINT, SIGHUP]) { [unowned self] signal in
                let name = signal == SIGTERM ? "SIGTERM" : signal == SIGINT ? "SIGINT" : "SIGHUP"
                beginStop("received \(name)")
            }
        } catch {
            LogLine.write("pair", "cannot install signal handlers: \(error)")
            return ExitCode.failure
        }
        start(0)
        children[1].pendingStart = loop.schedule(after: Self.secondNodeDelay) { [unowned self] in start(1) }
        schedulePoll()
        do {
            try loop.run()
        } catch {
            LogLine.write("pair", "the supervisor's event loop failed: \(error); killing both nodes")
            for child in children { _ = try? child.process?.terminate(signal: SIGKILL, timeout: .seconds(1)) }
            exitCode = ExitCode.failure
        }
        loop.shutdown()
        return exitCode
    }

    private func start(_ index: Int) {
        children[index].pendingStart = nil
        guard !isStopping else { return }
        let child = children[index]
        do {
            // A new process group: a terminal's Ctrl-C reaches only the supervisor, which stops the nodes in
            // order rather than have them all die at once.
            let process = try ChildProcess.spawn("/proc/self/exe", arguments: child.arguments, newProcessGroup: true)
            children[index].process = process
            LogLine.write("pair", "started node \(child.member.name) (pid \(process.pid))")
        } catch {
            LogLine.write("pair", "cannot start node \(child.member.name): \(error)")
            exitCode = ExitCode.failure
            beginStop("a node could not be started")
        }
    }

    private func schedulePoll() {
        _ = loop.schedule(after: Self.pollInterval) { [unowned self] in
            poll()
            if !isFinished { schedulePoll() }
        }
    }

    private var isFinished: Bool { isStopping && children.allSatisfy { $0.process == nil } }

    private func poll() {
        if let parentProcessID, !isStopping, getppid() != parentProcessID {
            beginStop("parent process \(parentProcessID) is gone")
        }
        for index in children.indices {
            guard let process = children[index].process else { continue }
            let status: ChildProcess.ExitStatus
            do {
                guard let exited = try process.tryWait() else { continue }
                status = exited
            } catch {
                LogLine.write("pair", "cannot wait for node \(children[index].member.name): \(error)")
                continue
            }
            children[index].process = nil
            let name = children[index].member.name
            if isStopping {
                LogLine.write("pair", "node \(name) \(status)")
                continue
            }
            handleUnexpectedExit(index, name: name, status: status)
        }
        if isFinished {
            LogLine.write("pair", "both nodes stopped")
            loop.stop()
        }
    }

    private func handleUnexpectedExit(_ index: Int, name: String, status: ChildProcess.ExitStatus) {
        if status == .exited(code: ExitCode.usage) {
            LogLine.write("pair", "node \(name) rejected its command line (\(status)); not restarting it")
            exitCode = ExitCode.failure
            beginStop("a node cannot run")
            return
        }
        let now = monotonicNanoseconds()
        let window = UInt64(Self.restartWindow.components.seconds) * 1_000_000_000
        children[index].restarts.removeAll { now - $0 > window }
        guard children[index].restarts.count < Self.restartsLimit else {
            LogLine.write(
                "pair",
                "node \(name) \(status); it was restarted \(Self.restartsLimit) times within "
                    + "\(Self.restartWindow.components.seconds) s, so something is persistently wrong; giving up")
            exitCode = ExitCode.failure
            beginStop("restart limit reached")
            return
        }
        children[index].restarts.append(now)
        LogLine.write(
            "pair",
            "node \(name) \(status); restarting it in \(Self.restartDelay.wholeMilliseconds) ms (it rejoins as backup)")
        children[index].pendingStart = loop.schedule(after: Self.restartDelay) { [unowned self] in start(index) }
    }

    /// SIGTERM to every running node, SIGKILL to any still running after `stopDeadline`; the loop ends once
    /// both are reaped. A second signal while stopping changes nothing: the deadline already bounds the wait.
    private func beginStop(_ reason: String) {
        guard !isStopping else {
            LogLine.write("pair", "\(reason); already stopping (SIGKILL follows at the deadline)")
            return
        }
        isStopping = true
        for index in children.indices {
            if let timer = children[index].pendingStart { loop.cancel(timer) }
            children[index].pendingStart = nil
        }
        let running = children.filter { $0.process != nil }.map(\.member.name)
        let what = running.isEmpty ? "(no node running)" : "node " + running.joined(separator: " and ")
        LogLine.write("pair", "\(reason): stopping \(what)")
        for child in children {
            guard let process = child.process else { continue }
            do {
                try process.signal(SIGTERM)
            } catch {
                LogLine.write("pair", "cannot signal node \(child.member.name): \(error)")
            }
        }
        _ = loop.schedule(after: Self.stopDeadline) { [unowned self] in
            for child in children {
                guard let process = child.process else { continue }
                LogLine.write(
                    "pair",
                    "node \(child.member.name) still running \(Self.stopDeadline.components.seconds) s after "
                        + "SIGTERM; sending SIGKILL")
                // Signalling a child we have not reaped cannot hit another process; a failure leaves it to
                // the poll, which reaps it either way.
                try? process.signal(SIGKILL)
            }
        }
        if isFinished { loop.stop() }
    }
}
