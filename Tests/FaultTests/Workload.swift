import Glibc
import Posix
import Synchronization

/// One operation the workload sent, and what became of it.
struct Operation: Sendable {
    /// What was asked: APPEND of a unique token to a key, or INCR of a counter.
    enum Kind: Sendable, Equatable {
        case append(key: Int, token: String)
        case increment(counter: Int)
    }

    /// What the client learned. Only `acknowledged` obliges the system; `failed` (a `-` reply) promises the
    /// command did not run; `unknown` (timeout, closed connection) promises nothing either way.
    enum Outcome: Sendable, Equatable {
        case acknowledged
        case failed(String)
        case unknown(String)
    }

    var connection: Int
    var sequence: Int
    var kind: Kind
    /// Index into the workload's addresses of the node it was sent to.
    var node: Int
    var sentAt: ContinuousClock.Instant
    var finishedAt: ContinuousClock.Instant
    var outcome: Outcome
}

/// The workload's shape: how many connections, keys and counters, and how long to wait for a reply.
struct WorkloadShape: Sendable {
    var connections = 6
    var keys = 4
    var counters = 2
    /// Every `incrementEvery`-th operation is an INCR, the rest APPENDs.
    var incrementEvery = 5
    /// Past this a reply is presumed lost and the operation's outcome is unknown; longer than any failover so
    /// that a slow reply is not mistaken for a lost one too often.
    var replyTimeout = Duration.seconds(3)
    /// Pause between operations of one connection; zero runs flat out.
    var pause = Duration.zero

    static func key(_ index: Int) -> String { "fault:k\(index)" }
    static func counter(_ index: Int) -> String { "fault:c\(index)" }
}

/// K client threads, each sending one operation at a time to whichever node is the primary, recording every
/// outcome; on an error or a dropped connection it finds the primary again and carries on, and it never retries
/// an operation whose outcome is unknown (that would turn "maybe once" into "maybe twice").
final class Workload: Sendable {
    let addresses: [SocketAddress]
    let shape: WorkloadShape
    private let isStopRequested = Atomic<Bool>(false)
    private let acknowledged = Atomic<Int>(0)
    /// One history per connection, in send order.
    private let histories: Mutex<[[Operation]]>
    private let threads: Mutex<[PosixThread]>

    init(addresses: [SocketAddress], shape: WorkloadShape = WorkloadShape()) throws {
        self.addresses = addresses
        self.shape = shape
        histories = Mutex(Array(repeating: [], count: shape.connections))
        threads = Mutex([])
        for connection in 0..<shape.connections {
            let thread = try PosixThread.spawn { [self] in run(connection: connection) }
            threads.withLock { $0.append(thread) }
        }
    }

    var acknowledgedCount: Int { acknowledged.load(ordering: .relaxed) }

    /// Waits until `count` more operations are acknowledged than now; whether that happened by the deadline.
    func waitForProgress(_ count: Int, deadline: Duration) -> Bool {
        let target = acknowledgedCount + count
        return FaultHarness.waitUntil(deadline) { acknowledgedCount >= target }
    }

    /// Stops every client (each finishes its operation in flight, bounded by the reply timeout) and returns
    /// the whole history, connection by connection in send order.
    func stop() -> [Operation] {
        isStopRequested.store(true, ordering: .relaxed)
        for thread in threads.withLock({ $0 }) { thread.join() }
        return histories.withLock { $0.flatMap { $0 } }
    }

    /// A snapshot of the history so far (for unavailability measurements while the load runs).
    func history() -> [Operation] { histories.withLock { $0.flatMap { $0 } } }

    private var isStopping: Bool { isStopRequested.load(ordering: .relaxed) }

    private func run(connection: Int) {
        var sequence = 0
        var client: (node: Int, connection: RedisConnection)?
        while !isStopping {
            if client == nil {
                guard let node = discoverPrimary() else {
                    sleep(for: .milliseconds(20))
                    continue
                }
                guard let opened = try? RedisConnection(address: addresses[node], timeout: shape.replyTimeout)
                else {
                    sleep(for: .milliseconds(20))  // not sent, so not an operation: look again
                    continue
                }
                client = (node, opened)
            }
            guard let (node, redis) = client else { continue }
            sequence += 1
            let kind: Operation.Kind
            let arguments: [String]
            if sequence % shape.incrementEvery == 0 {
                let counter = (connection + sequence) % shape.counters
                kind = .increment(counter: counter)
                arguments = ["INCR", WorkloadShape.counter(counter)]
            } else {
                let key = (connection + sequence) % shape.keys
                let token = "\(connection)-\(sequence)"
                kind = .append(key: key, token: token)
                arguments = ["APPEND", WorkloadShape.key(key), token + ","]
            }
            let sentAt = Stopwatch.now
            let outcome: Operation.Outcome
            do {
                switch try redis.command(arguments) {
                case .integer: outcome = .acknowledged
                case .error(let message): outcome = .failed(message)
                case let other: outcome = .unknown("unexpected reply \(other)")
                }
            } catch {
                outcome = .unknown(error.description)
            }
            let operation = Operation(
                connection: connection, sequence: sequence, kind: kind, node: node, sentAt: sentAt,
                finishedAt: Stopwatch.now, outcome: outcome)
            histories.withLock { $0[connection].append(operation) }
            if outcome == .acknowledged {
                acknowledged.add(1, ordering: .relaxed)
                if shape.pause > .zero { sleep(for: shape.pause) }
            } else {
                redis.close()
                client = nil
            }
        }
        client?.connection.close()
    }

    /// The index of the node that says it serves (role:master), the highest epoch if several do; nil if none.
    private func discoverPrimary() -> Int? {
        var best: (node: Int, epoch: Int)?
        for (index, address) in addresses.enumerated() {
            guard let info = RedisConnection.info(address, timeout: .milliseconds(300)), info["role"] == "master"
            else { continue }
            let epoch = info["lockstep_epoch"].flatMap { Int($0) } ?? 0
            if best == nil || epoch > best!.epoch { best = (index, epoch) }
        }
        return best?.node
    }
}
