import Posix
import Synchronization

/// A client of a Lockstep pair that applies each request exactly once, across failovers.
///
/// It finds the primary among `addresses` (asking each node's `ROLE`, following a refusal that names the primary,
/// or asking `SENTINEL get-master-addr-by-name`), opens a session there (`SESSION OPEN`), and sends every request
/// as `SESSION EXEC <session> <number> <command...>`, many pipelined on one connection. When the connection drops,
/// or a node refuses (`READONLY`, `TRYAGAIN`, ...), it finds the primary again and resends every unanswered request
/// in the same session, in number order: the server applies each (session, number) at most once and returns the
/// saved reply to a retry, so a caller sees a failover only as latency.
///
/// Bounded: requests wait at most `pendingRequestsLimit` deep, at most `requestsInFlightLimit` are unanswered,
/// each has `requestTimeout`, and the search for a primary gives up after `reconnectTimeout`. Every failure is a
/// `LockstepClientError` that says whether the request may have been applied.
///
/// One I/O thread per client does all socket work; `send` suspends the caller without blocking a thread. Share one
/// client between many tasks: their requests pipeline. Call `close()` when done, which also ends the session.
public final class LockstepClient: Sendable {
    private let loop: EventLoop
    private let driver: ClientDriver
    private let callers: CallerRegistry
    private let configuration: LockstepClientConfiguration
    private let lastRequestID = Atomic<UInt64>(0)
    private let isClosed = Atomic<Bool>(false)

    /// Starts a client for the pair at `addresses` (`"HOST:PORT"`, IPv4 or `localhost`: the nodes' client ports).
    ///
    /// Returns at once; the client begins looking for the primary in the background, and requests sent meanwhile
    /// wait for it. Throws `.invalidConfiguration` for unusable addresses or limits, `.startFailed` if the I/O
    /// thread cannot start.
    public init(
        addresses: [String], configuration: LockstepClientConfiguration = LockstepClientConfiguration()
    ) throws(LockstepClientError) {
        let configuration = try configuration.checked()
        guard !addresses.isEmpty else { throw .invalidConfiguration("at least one node address is needed") }
        var seeds: [SocketAddress] = []
        for text in addresses {
            do {
                seeds.append(try SocketAddress(parsing: text))
            } catch {
                throw .invalidConfiguration(error.description)
            }
        }
        let loop: EventLoop
        do {
            loop = try EventLoop()
        } catch {
            throw .startFailed(error.description)
        }
        let callers = CallerRegistry()
        let core = ClientCore(configuration: configuration, seeds: seeds, seed: monotonicNanoseconds())
        let driver = ClientDriver(loop: loop, core: core, callers: callers)
        do {
            _ = try PosixThread.spawn { driver.run() }
        } catch {
            throw .startFailed(error.description)
        }
        self.loop = loop
        self.driver = driver
        self.callers = callers
        self.configuration = configuration
    }

    deinit {
        // Without close() the session is not closed; the server expires it when idle.
        loop.stop()
    }

    /// Sends one command (its name, then its arguments) and returns its reply, applied exactly once.
    ///
    /// A command's own error (`WRONGTYPE`, `ERR value is not an integer`) is a reply, `.error`, not a throw: the
    /// server applied the request and saved that reply. Throws a `LockstepClientError` when the reply cannot be had;
    /// its `mayHaveBeenApplied` says what to assume. Only data commands can run in a session; `MULTI`, `SUBSCRIBE`,
    /// `PING`, `AUTH` and the like are refused without being sent.
    public func send(_ command: [[UInt8]]) async throws(LockstepClientError) -> RESPReply {
        guard !isClosed.load(ordering: .acquiring) else { throw .closed }
        let encoded = try RESPCommand(command, bytesLimit: configuration.commandBytesLimit)
        guard !Task.isCancelled else { throw .cancelledUnsent }
        let id = lastRequestID.add(1, ordering: .relaxed).newValue
        let (loop, driver, callers) = (self.loop, self.driver, self.callers)
        let queueLimit = configuration.pendingRequestsLimit
        let result = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CallerRegistry.Completion) in
                guard callers.register(id, continuation) else {
                    return continuation.resume(returning: .failure(.closed))
                }
                if !loop.execute({ driver.submit(id, encoded) }) {
                    callers.complete(id, .failure(.queueFull(limit: queueLimit)))
                }
            }
        } onCancel: {
            // Advisory: if the loop's inbox is full, the request runs to its deadline instead.
            _ = loop.execute { driver.cancel(id) }
        }
        return try result.get()
    }

    /// Sends one command given as text (UTF-8); see `send(_:)` for bytes.
    public func send(_ command: [String]) async throws(LockstepClientError) -> RESPReply {
        try await send(command.map { Array($0.utf8) })
    }

    /// Closes the client: requests not yet sent fail with `.closed`, requests in flight run to their reply or
    /// deadline, then the session is closed (`SESSION CLOSE`) and the I/O thread ends. Later sends throw `.closed`.
    public func close() async {
        isClosed.store(true, ordering: .releasing)
        let (loop, driver, callers) = (self.loop, self.driver, self.callers)
        await withCheckedContinuation { (waiter: CheckedContinuation<Void, Never>) in
            guard callers.awaitFinish(waiter) else { return waiter.resume() }
            // A full inbox means the thread is overwhelmed; stopping it answers everyone as it ends.
            if !loop.execute({ driver.close() }) { loop.stop() }
        }
    }
}
