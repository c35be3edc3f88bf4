import Glibc
import LockstepClient
import Posix
import Synchronization

/// A closed-loop load through the `LockstepClient` library: `tasks` concurrent tasks share one client, each sending
/// `SET key:<i> <value>` and awaiting its reply before sending the next.
///
/// The library sends every request as `SESSION EXEC` in one session on one connection, so the tasks keep up to
/// `tasks` requests in flight there: the case compares with one plain RESP connection at that pipeline depth. What
/// it adds to that is what an application pays for exactly-once through the library: the session on the server, and
/// in the client the encoding, the request kept for a resend, and the reply handed from the library's I/O thread to
/// a task. The tasks run on Swift's cooperative pool and the library's thread, both in this process, so the client
/// CPU reported is the whole harness process's (its own thread only sleeps meanwhile).
///
/// Bounded like `LoadGenerator`: the measured interval ends at `operationLimit` or `durationNanoseconds`; the tasks
/// then have `drainTimeoutNanoseconds` to come back, and each request has the library's `requestTimeout`.
public struct ClientLibraryLoad: Sendable {
    /// The nodes' client ports, `HOST:PORT`: the library finds the primary itself.
    public var addresses: [String]
    /// Concurrent tasks, each with one request in flight: the library's window is set to this.
    public var tasks: Int
    /// Keys `key:<i>` cycled through, as the load generator's SET does.
    public var keyspace: Int
    public var valueBytes: Int
    /// Run before measuring (the library finds the primary and opens its session meanwhile); not counted.
    public var warmupNanoseconds: UInt64
    /// The measured interval ends at this duration or at `operationLimit`, whichever comes first.
    public var durationNanoseconds: UInt64
    public var operationLimit: UInt64
    /// After the measured interval, how long the tasks may take to come back before each still waiting counts as an
    /// error.
    public var drainTimeoutNanoseconds: UInt64 = 2_000_000_000
    /// Each request's deadline in the library: long enough for a loaded machine, short enough to bound a broken run.
    public var requestTimeout: Duration = .seconds(5)
    /// How often the harness thread looks at the run while it waits.
    static let pollInterval: Duration = .milliseconds(2)

    /// A load of `tasks` tasks against the pair at `addresses`, shaped like the plan's other cases.
    public init(
        addresses: [String], tasks: Int, keyspace: Int, valueBytes: Int, warmupNanoseconds: UInt64,
        durationNanoseconds: UInt64, operationLimit: UInt64
    ) {
        precondition(tasks > 0 && keyspace > 0, "a load needs at least one task and one key")
        self.addresses = addresses
        self.tasks = tasks
        self.keyspace = keyspace
        self.valueBytes = valueBytes
        self.warmupNanoseconds = warmupNanoseconds
        self.durationNanoseconds = durationNanoseconds
        self.operationLimit = operationLimit
    }

    /// Runs the load, blocking the calling thread (which must not be one of the cooperative pool's), and returns what
    /// it measured. Throws only if the client cannot start.
    public func run(sampleCPU: CPUSampler? = nil) throws(BenchmarkError) -> CaseMeasurement {
        var configuration = LockstepClientConfiguration()
        configuration.requestsInFlightLimit = tasks
        configuration.requestTimeout = requestTimeout
        let client: LockstepClient
        do {
            client = try LockstepClient(addresses: addresses, configuration: configuration)
        } catch {
            throw .setupFailed("the client library could not start: \(error)")
        }
        let commands = (0..<keyspace).map { index in
            [Array("SET".utf8), Array("key:\(index)".utf8), Array(Workload.value(index, bytes: valueBytes).utf8)]
        }
        let state = LibraryLoadState()
        for worker in 0..<tasks {
            let stride = tasks
            Task.detached { await Self.work(worker: worker, stride: stride, client, commands, state) }
        }
        let processID = getpid()
        let isDone = { state.finishedTasks.load(ordering: .acquiring) == tasks }
        Self.wait(until: monotonicNanoseconds() + warmupNanoseconds, orUntil: isDone)

        let serverCPUStart = sampleCPU?() ?? [:]
        let clientCPUStart = ProcessStat.cpuNanoseconds(of: processID)
        let measureStart = monotonicNanoseconds()
        state.phase.store(LibraryLoadState.measuring, ordering: .releasing)
        Self.wait(until: measureStart + durationNanoseconds) {
            isDone() || state.measuredOperations.load(ordering: .relaxed) >= operationLimit
        }
        let measureEnd = monotonicNanoseconds()
        state.phase.store(LibraryLoadState.stopping, ordering: .releasing)
        let clientCPUEnd = ProcessStat.cpuNanoseconds(of: processID)
        let serverCPUEnd = sampleCPU?() ?? [:]

        Self.wait(until: monotonicNanoseconds() + drainTimeoutNanoseconds, orUntil: isDone)
        let stuck = tasks - state.finishedTasks.load(ordering: .acquiring)
        Task.detached {
            await client.close()
            state.isClosed.store(true, ordering: .releasing)
        }
        // Requests still in flight run to their deadline before the close ends.
        let closeLimit = UInt64(requestTimeout.components.seconds + 1) * 1_000_000_000
        Self.wait(until: monotonicNanoseconds() + closeLimit) { state.isClosed.load(ordering: .acquiring) }

        var tally = state.tally.withLock { $0 }
        if stuck > 0 { tally.fail(UInt64(stuck), "\(stuck) tasks still waiting for a reply at the end of the drain") }
        var serverCPU: [String: UInt64] = [:]
        for (name, end) in serverCPUEnd {
            if let start = serverCPUStart[name], end >= start { serverCPU[name] = end - start }
        }
        let clientCPU = clientCPUStart.flatMap { start in clientCPUEnd.map { $0 >= start ? $0 - start : 0 } } ?? 0
        return CaseMeasurement(
            operations: tally.histogram.count, elapsedNanoseconds: measureEnd - measureStart,
            histogram: tally.histogram, errors: tally.errors, errorSamples: tally.errorSamples,
            serverCPUNanoseconds: serverCPU, clientCPUNanoseconds: clientCPU)
    }

    /// One task: SET after SET through the shared client until the run stops, or the library fails it.
    static func work(
        worker: Int, stride: Int, _ client: LockstepClient, _ commands: [[[UInt8]]], _ state: LibraryLoadState
    ) async {
        var tally = LibraryLoadTally()
        var index = worker % commands.count
        while state.phase.load(ordering: .acquiring) != LibraryLoadState.stopping {
            let sent = monotonicNanoseconds()
            let reply: RESPReply
            do {
                reply = try await client.send(commands[index])
            } catch {
                // The library gave up on this request (no primary, deadline, closed): later ones would fare alike.
                tally.fail(1, "\(error)")
                break
            }
            let now = monotonicNanoseconds()
            if reply != .simpleString("OK") {
                tally.fail(1, "SET answered \(reply)")
            } else if state.phase.load(ordering: .acquiring) == LibraryLoadState.measuring {
                tally.histogram.record(now - sent)
                state.measuredOperations.add(1, ordering: .relaxed)
            }
            index = (index + stride) % commands.count
        }
        state.tally.withLock { $0.merge(tally) }
        state.finishedTasks.add(1, ordering: .releasing)
    }

    /// Sleeps in short steps until `deadline` or until `isFinished` says so.
    static func wait(until deadline: UInt64, orUntil isFinished: () -> Bool) {
        while monotonicNanoseconds() < deadline && !isFinished() { sleep(for: pollInterval) }
    }
}

/// What the tasks of one `ClientLibraryLoad` share: the phase they read, what they report.
final class LibraryLoadState: Sendable {
    static let warmup = 0
    static let measuring = 1
    static let stopping = 2

    let phase = Atomic<Int>(LibraryLoadState.warmup)
    /// Operations acknowledged in the measured interval so far, to stop at the operation limit.
    let measuredOperations = Atomic<UInt64>(0)
    let finishedTasks = Atomic<Int>(0)
    /// Set once `LockstepClient.close()` has returned.
    let isClosed = Atomic<Bool>(false)
    /// Each task's figures, merged as it ends.
    let tally = Mutex(LibraryLoadTally())
}

/// Latencies and errors of one task, then of all.
struct LibraryLoadTally: Sendable {
    var histogram = LatencyHistogram()
    var errors: UInt64 = 0
    var errorSamples: [String] = []

    mutating func fail(_ count: UInt64, _ text: String) {
        errors += count
        if errorSamples.count < LoadGenerator.errorSamplesLimit && !errorSamples.contains(text) {
            errorSamples.append(text)
        }
    }

    mutating func merge(_ other: LibraryLoadTally) {
        histogram.merge(other.histogram)
        errors += other.errors
        for sample in other.errorSamples where errorSamples.count < LoadGenerator.errorSamplesLimit {
            if !errorSamples.contains(sample) { errorSamples.append(sample) }
        }
    }
}
