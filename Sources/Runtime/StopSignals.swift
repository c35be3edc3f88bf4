import Glibc
import Node
import Posix
import Synchronization

/// Turns SIGTERM and SIGINT (and, optionally, a vanished parent process) into one call of `stop`.
///
/// A signal handler may do almost nothing, and the node's own loop must not be touched from outside, so a small
/// `EventLoop` on its own thread receives the signals (`EventLoop.handleSignals`) and calls `stop`, which for a
/// node is `NodeRuntime.requestStop()`. A second signal means the operator will not wait for a handover: the
/// process exits at once with status 1, which the protocol treats like a crash.
public final class StopSignals: Sendable {
    /// How often a requested stop is asked for again until the process exits.
    ///
    /// A request can reach the node between roles (a primary waiting for the arbiter after its backup left, a
    /// backup leaving mid-handover), where the core has nothing to stop yet. Asking again is idempotent (a
    /// handover already under way continues), so repeating makes the stop certain without a second signal.
    public static let stopRepeatInterval: Duration = .milliseconds(250)
    /// How often the parent process is looked for, when one is watched.
    public static let parentCheckInterval: Duration = .milliseconds(200)

    private let loop: EventLoop
    private let thread: PosixThread
    private let stopRequested = Flag()

    /// Starts the signal thread.
    ///
    /// - Parameters:
    ///   - signals: the signals that request a stop.
    ///   - parentProcessID: stop also when this process is no longer the parent (a supervisor that was killed
    ///     leaves no orphan node behind).
    ///   - log: one event per stop request, on the signal thread.
    ///   - stop: asks the node to stop; called again every `stopRepeatInterval` until the process exits.
    public init(
        signals: [CInt] = [SIGTERM, SIGINT], parentProcessID: pid_t? = nil,
        log: @escaping @Sendable (RuntimeEvent) -> Void, stop: @escaping @Sendable () -> Void
    ) throws(RuntimeError) {
        do {
            loop = try EventLoop()
        } catch {
            throw .eventLoopFailed(error)
        }
        let stopRequested = self.stopRequested
        let requestStop: @Sendable (String) -> Void = { why in
            if stopRequested.isSet.exchange(true, ordering: .acquiringAndReleasing) {
                log(.note("\(why) again: exiting at once, without a handover"))
                _exit(1)
            }
            log(.stopRequested(by: why))
            stop()
        }
        let loop = self.loop
        do {
            try loop.handleSignals(signals) { signal in
                requestStop("received \(Self.name(of: signal))")
                Self.repeatStop(stop, on: loop)
            }
        } catch {
            throw .cannotHandleSignals(error)
        }
        if let parentProcessID {
            Self.watchParent(parentProcessID, on: loop, requestStop: requestStop, stop: stop)
        }
        do {
            thread = try loop.runOnNewThread()
        } catch {
            throw .cannotStartThread(error)
        }
    }

    /// Whether a signal (or the parent's end) asked for a stop: a node that exits without one stopped by itself.
    public var isStopRequested: Bool { stopRequested.isSet.load(ordering: .acquiring) }

    /// Stops and joins the signal thread; signals arriving later only set a bit nobody reads.
    public func close() {
        loop.stop()
        thread.join()
    }

    private static func name(of signal: CInt) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        case SIGHUP: "SIGHUP"
        default: "signal \(signal)"
        }
    }

    private static func repeatStop(_ stop: @escaping @Sendable () -> Void, on loop: EventLoop) {
        _ = loop.schedule(after: stopRepeatInterval) {
            stop()
            repeatStop(stop, on: loop)
        }
    }

    private static func watchParent(
        _ parentProcessID: pid_t, on loop: EventLoop, requestStop: @escaping @Sendable (String) -> Void,
        stop: @escaping @Sendable () -> Void
    ) {
        func check() {
            guard getppid() == parentProcessID else {
                requestStop("supervisor process \(parentProcessID) is gone")
                repeatStop(stop, on: loop)
                return
            }
            _ = loop.schedule(after: parentCheckInterval, check)
        }
        check()
    }

    /// An `Atomic` cannot be captured by a closure, so the flag lives in a class.
    private final class Flag: Sendable {
        let isSet = Atomic<Bool>(false)
    }
}

extension NodeRuntime {
    /// Runs the node on the calling thread until it exits, turning SIGTERM and SIGINT into `requestStop()`.
    ///
    /// Returns why the node exited and whether a signal asked for it; a node that exits unasked stopped by itself
    /// (deposed, say), and a supervisor should restart it: it then rejoins as backup.
    public func runUntilStopped(
        signals: [CInt] = [SIGTERM, SIGINT], parentProcessID: pid_t? = nil
    ) throws(RuntimeError) -> (reason: ExitReason, wasRequested: Bool) {
        let stopper = try StopSignals(signals: signals, parentProcessID: parentProcessID, log: log) {
            [weak self] in self?.requestStop()
        }
        defer { stopper.close() }
        let reason = try run()
        return (reason, stopper.isStopRequested)
    }
}
