import Arbiter
import Node
import Posix
import Replication
import Synchronization

/// One Lockstep node in a process: a `NodeCore` driven by real sockets, timers and an arbiter.
///
/// `init` binds the client, logging-channel and (if configured) metrics ports (a busy port is a typed error before
/// anything runs); `run()` then blocks the calling thread on the node's single epoll loop until the node exits.
/// Everything the node does happens on that thread (see `NodeDriver` for how a round flows); the arbiter, which is
/// disk I/O that may hang, gets one helper thread. Other threads may only call `requestStop()`, `crash()` and `status`.
///
/// `runUntilStopped()` turns SIGTERM and SIGINT into `requestStop()` (see `StopSignals`); `run()` leaves signals alone.
public final class NodeRuntime<P: ClientProtocol>: @unchecked Sendable {  // unchecked: the driver is loop-only
    /// The client address actually bound (port 0 resolved).
    public let clientAddress: SocketAddress
    /// The logging-channel address actually bound (port 0 resolved).
    public let channelAddress: SocketAddress
    /// The metrics address actually bound (port 0 resolved); nil without `metricsListenAddress`.
    public let metricsAddress: SocketAddress?
    /// The configuration in force, with advertised addresses that ended in `:0` replaced by the bound ones.
    public let configuration: RuntimeConfiguration

    private let loop: EventLoop
    private let driver: NodeDriver<P>
    private let shared: RuntimeShared
    private let hasRun = Atomic<Bool>(false)
    let log: @Sendable (RuntimeEvent) -> Void

    /// Makes the node and binds its listeners.
    ///
    /// - Parameters:
    ///   - protocol: the application's wire protocol on the client port.
    ///   - emptyMachine: the state a new cluster starts from, and what a joining backup restores into.
    ///   - arbiter: who may go live; the same arbiter (the same shared directory, say) on both nodes.
    ///   - entropy: where the primary's clock reads and random values come from (recorded into the log).
    ///   - log: one event per role transition, core note and client or channel trouble, on the loop thread (and, for
    ///     stop requests, the signal thread); its description is the log line.
    public init(
        configuration: RuntimeConfiguration, protocol clientProtocol: P, emptyMachine: P.Machine, arbiter: any Arbiter,
        entropy: any EntropySource = SystemEntropy(), log: @escaping @Sendable (RuntimeEvent) -> Void
    ) throws(RuntimeError) {
        // Freed request buffers and values go back to the system at once, with no whole-heap trim on the loop.
        Memory.returnLargeBuffersWhenFreed()
        do {
            loop = try EventLoop()
        } catch {
            throw .eventLoopFailed(error)
        }
        driver = try NodeDriver(
            configuration: configuration, clientProtocol: clientProtocol, emptyMachine: emptyMachine,
            arbiter: arbiter, entropy: entropy, loop: loop, log: log)
        self.log = log
        loop.pollBeforeSleep = driver.configuration.pollBeforeSleep
        shared = driver.shared
        clientAddress = driver.clientAddress
        channelAddress = driver.channelAddress
        metricsAddress = driver.metrics?.address
        self.configuration = driver.configuration
    }

    /// Runs the node on the calling thread until it exits; returns why.
    ///
    /// Call once. Throws only if the node cannot start its arbiter thread or the event loop itself fails.
    @discardableResult
    public func run() throws(RuntimeError) -> ExitReason {
        let isFirst = !hasRun.exchange(true, ordering: .acquiringAndReleasing)
        precondition(isFirst, "NodeRuntime.run() called twice")
        do {
            try driver.start()
        } catch {
            loop.shutdown()
            throw error
        }
        var failure: SystemError?
        do {
            try loop.run()
        } catch {
            failure = error
        }
        driver.finish()
        loop.shutdown()
        if let failure { throw .eventLoopFailed(failure) }
        return driver.exitReason ?? .crashed
    }

    /// Asks the node to stop, from any thread (e.g. on SIGTERM). A primary with a caught-up backup hands over to
    /// it first, so the backup goes live at once instead of after the silence timeout; `run()` returns when done.
    public func requestStop() {
        _ = loop.execute { [driver] in driver.drive(.stopRequested) }  // false: the loop is gone, nothing to stop
    }

    /// Stops the node at once, closing every socket without telling the core, like `kill -9`. Any thread; for
    /// tests that need a crash inside one process. `run()` returns "crashed".
    public func crash() {
        shared.isCrashed.store(true, ordering: .releasing)
        driver.halt()
        loop.stop()
    }

    /// The node's role, epoch, log positions and counters, at most a millisecond old (a role change shows at once,
    /// at the end of the loop round that made it). Any thread.
    public var status: NodeStatus {
        let published = shared.published.withLock { $0 }
        var status = published.status
        status.counters = published.counters.dictionary
        return status
    }
}
