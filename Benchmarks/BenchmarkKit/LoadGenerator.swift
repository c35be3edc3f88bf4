import Glibc
import Posix
import Synchronization

/// How one load run is shaped.
public struct LoadSpecification: Sendable {
    public var target: SocketAddress
    public var connections: Int
    /// Operations each connection keeps outstanding: 1 is a plain closed loop.
    public var pipelineDepth: Int
    public var workload: Workload
    /// Time run before measuring, to fill caches and let the server settle; not counted.
    public var warmupNanoseconds: UInt64
    /// The measured interval ends at this duration or at `operationLimit`, whichever comes first.
    public var durationNanoseconds: UInt64
    public var operationLimit: UInt64
    /// After the measured interval, how long outstanding operations may take to come back before each counts as an
    /// error ("unanswered").
    public var drainTimeoutNanoseconds: UInt64
    public var connectTimeoutNanoseconds: UInt64
    /// For a session workload, connection i's session (opened before the run); empty otherwise.
    public var sessionIDs: [Int64]

    public init(
        target: SocketAddress, connections: Int, pipelineDepth: Int = 1, workload: Workload,
        warmupNanoseconds: UInt64, durationNanoseconds: UInt64, operationLimit: UInt64,
        drainTimeoutNanoseconds: UInt64 = 2_000_000_000, connectTimeoutNanoseconds: UInt64 = 2_000_000_000,
        sessionIDs: [Int64] = []
    ) {
        precondition(connections > 0 && pipelineDepth > 0, "a load needs at least one connection and depth 1")
        precondition(
            sessionIDs.count == (workload.isSession ? connections : 0),
            "a session workload needs one session per connection, and only it takes sessions")
        self.sessionIDs = sessionIDs
        self.target = target
        self.connections = connections
        self.pipelineDepth = pipelineDepth
        self.workload = workload
        self.warmupNanoseconds = warmupNanoseconds
        self.durationNanoseconds = durationNanoseconds
        self.operationLimit = operationLimit
        self.drainTimeoutNanoseconds = drainTimeoutNanoseconds
        self.connectTimeoutNanoseconds = connectTimeoutNanoseconds
    }
}

/// Live counters of a running load, readable from any thread: how the failover and backpressure runs watch
/// throughput while it happens, and how they end a load early.
public final class LoadProgress: Sendable {
    /// Operations acknowledged so far, warm-up included.
    public let completed = Atomic<UInt64>(0)
    public let errors = Atomic<UInt64>(0)
    /// Request bytes the kernel has taken from the clients so far: when it stops growing, the server stopped reading.
    public let bytesSent = Atomic<UInt64>(0)
    /// Set by `requestStop()`; the generator ends its measured interval at its next round.
    let isStopRequested = Atomic<Bool>(false)
    let loopBox = Mutex<EventLoop?>(nil)

    public init() {}

    /// Ends the load early, from any thread: measuring stops, outstanding operations drain, the run returns.
    public func requestStop() {
        isStopRequested.store(true, ordering: .releasing)
        if let loop = loopBox.withLock({ $0 }) { _ = loop.execute {} }  // wake the loop so it notices
    }
}

/// Reads, on the generator's thread at the measured interval's edges, the CPU time each server process has used.
public typealias CPUSampler = @Sendable () -> [String: UInt64]

/// A closed-loop load generator on one epoll thread: N connections, each sends an operation, waits for its reply,
/// and sends the next (or keeps `pipelineDepth` in flight).
///
/// One epoll thread rather than a thread per connection: on this 2-core machine 64 client threads would steal the
/// CPU the server needs and perturb what is measured (IO-FINDINGS, benchmark hygiene). Bounded in count and time:
/// the measured interval ends at `operationLimit` or `durationNanoseconds`, the drain after it at
/// `drainTimeoutNanoseconds`, and every connection is closed before `run` returns.
public enum LoadGenerator {
    /// Bytes a connection buffers while waiting for a reply to complete; replies here are a few dozen bytes, so a
    /// connection that fills this is broken and is closed with an error.
    static let inputBufferBytes = 256 << 10
    /// Error texts kept for the report.
    static let errorSamplesLimit = 5

    /// Runs the load on the calling thread and returns what it measured. Throws only if connecting fails.
    public static func run(
        _ specification: LoadSpecification, progress: LoadProgress = LoadProgress(),
        sampleCPU: CPUSampler? = nil
    ) throws(SystemError) -> CaseMeasurement {
        let loop = try EventLoop()
        defer { loop.shutdown() }
        let run = Run(specification: specification, loop: loop, progress: progress, sampleCPU: sampleCPU)
        defer { run.release() }
        try run.connectAll()
        progress.loopBox.withLock { $0 = loop }
        defer { progress.loopBox.withLock { $0 = nil } }
        run.start()
        try loop.run()
        return run.measurement()
    }
}

/// The state of one load run; lives on the generator's thread only.
private final class Run {
    enum Phase { case warmup, measuring, draining, finished }

    let specification: LoadSpecification
    let loop: EventLoop
    let progress: LoadProgress
    let sampleCPU: CPUSampler?
    let operations: EncodedOperations
    let repliesPerOperation: Int
    let isEcho: Bool
    let echoBytes: Int
    var connections: [Connection] = []
    var phase = Phase.warmup

    var histogram = LatencyHistogram()
    var measuredOperations: UInt64 = 0
    var errors: UInt64 = 0
    var errorSamples: [String] = []
    var measureStart: UInt64 = 0
    var measureEnd: UInt64 = 0
    var clientCPUStart: UInt64 = 0
    var clientCPUEnd: UInt64 = 0
    var serverCPUStart: [String: UInt64] = [:]
    var serverCPUEnd: [String: UInt64] = [:]
    var outstandingTotal = 0

    init(specification: LoadSpecification, loop: EventLoop, progress: LoadProgress, sampleCPU: CPUSampler?) {
        self.specification = specification
        self.loop = loop
        self.progress = progress
        self.sampleCPU = sampleCPU
        operations = EncodedOperations(specification.workload)
        repliesPerOperation = specification.workload.repliesPerOperation
        if case .echo(let bytes) = specification.workload {
            isEcho = true
            echoBytes = bytes
        } else {
            isEcho = false
            echoBytes = 0
        }
    }

    func release() {
        for connection in connections { connection.input.deallocate() }
    }

    func connectAll() throws(SystemError) {
        for index in 0..<specification.connections {
            let fd = try Sockets.connect(
                to: specification.target, timeoutNanoseconds: specification.connectTimeoutNanoseconds)
            let session = specification.sessionIDs.isEmpty
                ? nil
                : SessionRequestEncoder(
                    sessionID: specification.sessionIDs[index],
                    commandElements: specification.workload.sessionCommandElements)
            let connection = Connection(
                index: index, depth: specification.pipelineDepth, keyspace: operations.count, session: session)
            connections.append(connection)
            do {
                connection.registration = try loop.register(fd, interest: .readable) { [unowned self] events in
                    self.handle(events, on: connection)
                }
            } catch {
                try? fd.close()  // registration failed; the error says why
                throw error
            }
        }
    }

    func start() {
        let now = monotonicNanoseconds()
        loop.schedule(at: now + specification.warmupNanoseconds) { [unowned self] in
            if phase == .warmup { beginMeasuring() }
        }
        if specification.warmupNanoseconds == 0 { beginMeasuring() }
        for connection in connections {
            for _ in 0..<specification.pipelineDepth { issue(on: connection, at: now) }
            flush(connection)
        }
        // Check for an external stop request every 20 ms; cheap, and it bounds how late a stop is noticed.
        scheduleStopCheck()
    }

    func scheduleStopCheck() {
        loop.schedule(after: .milliseconds(20)) { [unowned self] in
            guard phase != .finished else { return }
            if progress.isStopRequested.load(ordering: .acquiring), phase == .warmup || phase == .measuring {
                if phase == .warmup { beginMeasuring() }
                endMeasuring(at: monotonicNanoseconds())
            }
            scheduleStopCheck()
        }
    }

    func beginMeasuring() {
        phase = .measuring
        if let sampleCPU { serverCPUStart = sampleCPU() }
        clientCPUStart = ProcessStat.threadCPUNanoseconds()
        measureStart = monotonicNanoseconds()
        loop.schedule(at: measureStart + specification.durationNanoseconds) { [unowned self] in
            if phase == .measuring { endMeasuring(at: monotonicNanoseconds()) }
        }
    }

    func endMeasuring(at now: UInt64) {
        guard phase == .measuring else { return }
        measureEnd = now
        clientCPUEnd = ProcessStat.threadCPUNanoseconds()
        if let sampleCPU { serverCPUEnd = sampleCPU() }
        phase = .draining
        loop.schedule(at: monotonicNanoseconds() + specification.drainTimeoutNanoseconds) { [unowned self] in
            finish()
        }
        if outstandingTotal == 0 { finish() }
    }

    func finish() {
        guard phase != .finished else { return }
        if phase == .measuring || phase == .warmup { endMeasuring(at: monotonicNanoseconds()) }
        phase = .finished
        if outstandingTotal > 0 {
            fail(count: UInt64(outstandingTotal), "\(outstandingTotal) operations unanswered at the end of the drain")
        }
        for connection in connections where connection.registration != nil {
            loop.close(connection.registration!)
            connection.registration = nil
        }
        loop.stop()
    }

    // MARK: Operations

    /// Queues the connection's next operation and stamps its send time.
    func issue(on connection: Connection, at now: UInt64) {
        let index = connection.nextOperation
        connection.nextOperation += specification.connections
        if connection.nextOperation >= operations.count { connection.nextOperation %= Swift.max(1, operations.count) }
        let start = operations.offsets[index], end = operations.offsets[index + 1]
        operations.bytes.withUnsafeBytes { bytes in
            let command = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            if let session = connection.session {
                session.append(number: connection.nextRequestNumber, command: command, to: connection.output)
                connection.nextRequestNumber += 1
            } else {
                connection.output.append(command)
            }
        }
        connection.sendTimes[(connection.head + connection.outstanding) % connection.sendTimes.count] = now
        connection.outstanding += 1
        outstandingTotal += 1
    }

    func flush(_ connection: Connection) {
        guard let registration = connection.registration else { return }
        let pending = connection.output.pendingCount
        if !connection.output.flush(registration, on: loop) {
            disconnect(connection, "send failed: peer gone")
            return
        }
        progress.bytesSent.add(UInt64(pending - connection.output.pendingCount), ordering: .relaxed)
    }

    func handle(_ events: EventLoop.Events, on connection: Connection) {
        guard let registration = connection.registration, let fd = loop.descriptor(of: registration) else { return }
        if events.contains(.writable) {
            flush(connection)
            guard connection.registration != nil else { return }  // the flush found the peer gone and closed
        }
        guard events.contains(.readable) || events.contains(.hangup) || events.contains(.error) else { return }
        let space = UnsafeMutableRawBufferPointer(rebasing: connection.input[connection.inputCount...])
        guard !space.isEmpty else {
            disconnect(connection, "reply larger than \(LoadGenerator.inputBufferBytes) bytes")
            return
        }
        let count: Int?
        do {
            count = try fd.read(into: space)
        } catch {
            disconnect(connection, "read failed: \(error)")
            return
        }
        guard let count else { return }
        guard count > 0 else {
            disconnect(connection, "server closed the connection")
            return
        }
        connection.inputCount += count
        let now = monotonicNanoseconds()
        var consumed = 0
        var completedNow = 0
        while connection.outstanding > 0 {
            let length: Int
            if isEcho {
                guard connection.inputCount - consumed >= echoBytes else { break }
                length = echoBytes
            } else {
                let scan = RESPReplyScanner.scan(
                    UnsafeRawBufferPointer(rebasing: connection.input[consumed..<connection.inputCount]))
                switch scan {
                case .incomplete:
                    length = 0
                case .malformed:
                    disconnect(connection, "malformed reply")
                    return
                case .complete(let reply):
                    length = reply.length
                    if reply.isError && !connection.isFailing {
                        connection.isFailing = true
                        connection.failureText = Self.text(connection.input, consumed, reply.length)
                    }
                    connection.lastInteger = reply.integer
                }
                if length == 0 { break }
            }
            consumed += length
            connection.repliesSeen += 1
            guard connection.repliesSeen == repliesPerOperation else { continue }
            connection.repliesSeen = 0
            completeOperation(on: connection, at: now)
            completedNow += 1
        }
        if consumed > 0 {
            let rest = connection.inputCount - consumed
            if rest > 0 {
                let base = connection.input.baseAddress!
                base.copyMemory(from: base + consumed, byteCount: rest)
            }
            connection.inputCount = rest
        }
        if connection.outstanding == 0 && connection.inputCount > 0 {
            disconnect(connection, "unexpected bytes after the last reply")
            return
        }
        if phase == .warmup || phase == .measuring {
            for _ in 0..<completedNow { issue(on: connection, at: now) }
            if completedNow > 0 { flush(connection) }
        } else if outstandingTotal == 0 {
            finish()
        }
    }

    func completeOperation(on connection: Connection, at now: UInt64) {
        let sent = connection.sendTimes[connection.head]
        connection.head = (connection.head + 1) % connection.sendTimes.count
        connection.outstanding -= 1
        outstandingTotal -= 1
        var failure: String? = nil
        if connection.isFailing {
            failure = connection.failureText
        } else if case .setThenWait = specification.workload, (connection.lastInteger ?? 0) < 1 {
            failure = "WAIT answered \(connection.lastInteger.map(String.init) ?? "no integer"): not replicated"
        }
        connection.isFailing = false
        connection.lastInteger = nil
        if let failure {
            fail(count: 1, failure)
            return
        }
        progress.completed.add(1, ordering: .relaxed)
        guard phase == .measuring else { return }
        histogram.record(now &- sent)
        measuredOperations += 1
        if measuredOperations >= specification.operationLimit { endMeasuring(at: now) }
    }

    func fail(count: UInt64, _ text: String) {
        errors += count
        progress.errors.add(count, ordering: .relaxed)
        if errorSamples.count < LoadGenerator.errorSamplesLimit && !errorSamples.contains(text) {
            errorSamples.append(text)
        }
    }

    /// Closes a connection that failed; its outstanding operations count as errors.
    func disconnect(_ connection: Connection, _ reason: String) {
        guard let registration = connection.registration else { return }
        loop.close(registration)
        connection.registration = nil
        let lost = connection.outstanding
        outstandingTotal -= lost
        connection.outstanding = 0
        if phase != .finished { fail(count: UInt64(Swift.max(1, lost)), reason) }
        if connections.allSatisfy({ $0.registration == nil }) { finish() }
    }

    func measurement() -> CaseMeasurement {
        var serverCPU: [String: UInt64] = [:]
        for (name, end) in serverCPUEnd {
            if let start = serverCPUStart[name], end >= start { serverCPU[name] = end - start }
        }
        return CaseMeasurement(
            operations: measuredOperations, elapsedNanoseconds: measureEnd &- measureStart, histogram: histogram,
            errors: errors, errorSamples: errorSamples, serverCPUNanoseconds: serverCPU,
            clientCPUNanoseconds: clientCPUEnd &- clientCPUStart)
    }

    /// The first line of an error reply, for the report.
    static func text(_ buffer: UnsafeMutableRawBufferPointer, _ start: Int, _ length: Int) -> String {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[start..<(start + Swift.min(length, 100))])
        return String(decoding: bytes.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self)
    }
}

/// One client connection of a load run.
private final class Connection {
    let index: Int
    var registration: EventLoop.Registration?
    let output = OutputQueue()
    let input: UnsafeMutableRawBufferPointer
    var inputCount = 0
    /// Send times of outstanding operations, a ring of `pipelineDepth`.
    var sendTimes: [UInt64]
    var head = 0
    var outstanding = 0
    var nextOperation: Int
    /// Replies seen of the operation at the head (SET+WAIT takes two).
    var repliesSeen = 0
    var isFailing = false
    var failureText = ""
    var lastInteger: Int64?
    /// The connection's session, for a session workload.
    let session: SessionRequestEncoder?
    /// The next request's number in that session: 1, 2, 3, ... in the order sent, as the server requires.
    var nextRequestNumber: UInt64 = 1

    init(index: Int, depth: Int, keyspace: Int, session: SessionRequestEncoder?) {
        self.index = index
        self.session = session
        input = .allocate(byteCount: LoadGenerator.inputBufferBytes, alignment: 16)
        sendTimes = [UInt64](repeating: 0, count: depth)
        nextOperation = index % Swift.max(1, keyspace)
    }
}
