import Glibc
@testable import LockstepCLI
import Posix
import Synchronization

/// One operation the workload sent, and what became of it.
struct Operation: Sendable {
    /// What was asked: APPEND of a unique token to a key, or INCR of a counter.
    enum Kind: Sendable, Equatable {
        case append(key: Int, token: String)
        case increment(counter: Int)
    }

    /// What the client learned, from the last attempt. Only `acknowledged` obliges the system; `failed` (a `-`
    /// reply) promises the command did not run; `unknown` (timeout, closed connection) promises nothing either way.
    enum Outcome: Sendable, Equatable {
        case acknowledged
        case failed(String)
        case unknown(String)
    }

    var connection: Int
    var sequence: Int
    var kind: Kind
    /// Index into the workload's addresses of the node the last attempt was sent to.
    var node: Int
    /// How many times it was sent: more than once only after definite rejections (see `Workload`).
    var attempts = 1
    /// When the last attempt was sent (the one `outcome` and `node` describe).
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
    /// Sends of one operation at most: the first plus retries after definite rejections.
    var attemptsLimit = 5
    /// An operation is not retried after this long from its first send; longer than a handover takes.
    var retryDeadline = Duration.seconds(5)

    static func key(_ index: Int) -> String { "fault:k\(index)" }
    static func counter(_ index: Int) -> String { "fault:c\(index)" }
}

/// K client threads, each sending one operation at a time to whichever node is the primary, recording every
/// outcome; on an error or a dropped connection it finds the primary again and carries on.
///
/// A definite rejection (`-TRYAGAIN` or `-READONLY`) promises the command was not executed, so the operation is
/// retried, same token, on the primary found again: at most `attemptsLimit` sends within `retryDeadline`, and the
/// last attempt's outcome is recorded. This is what Redis Cluster clients do with `MOVED` and `TRYAGAIN`, and it
/// is what a planned switchover asks of clients: the stopping primary refuses what it will not run and names
/// the new one. An operation whose outcome is unknown (timeout, dropped connection) is never retried: that would
/// turn "maybe once" into "maybe twice". Either way each token is sent by one operation, recorded once.
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
        return waitUntil(deadline) { acknowledgedCount >= target }
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
        var client: (node: Int, connection: RESPClient)?
        while !isStopping {
            if client == nil {
                guard let node = discoverPrimary() else {
                    sleep(for: .milliseconds(20))
                    continue
                }
                guard let opened = try? RESPClient(address: addresses[node], timeout: shape.replyTimeout)
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
            let (operation, kept) = perform(
                kind, arguments, on: (node, redis), connection: connection, sequence: sequence)
            histories.withLock { $0[connection].append(operation) }
            client = kept
            if operation.outcome == .acknowledged {
                acknowledged.add(1, ordering: .relaxed)
                if shape.pause > .zero { sleep(for: shape.pause) }
            }
        }
        client?.connection.close()
    }

    /// Sends one operation, retrying it on the primary found again after each definite rejection (at most
    /// `attemptsLimit` sends within `retryDeadline` of the first). Returns its record, with the last attempt's
    /// node, time and outcome, and the connection to go on with: the last one if it acknowledged, else none (every
    /// other connection is closed here).
    private func perform(
        _ kind: Operation.Kind, _ arguments: [String], on first: (node: Int, connection: RESPClient),
        connection: Int, sequence: Int
    ) -> (Operation, (node: Int, connection: RESPClient)?) {
        let firstSentAt = Stopwatch.now
        var operation = Operation(
            connection: connection, sequence: sequence, kind: kind, node: first.node, attempts: 0,
            sentAt: firstSentAt, finishedAt: firstSentAt, outcome: .unknown("never sent"))
        var target: (node: Int, connection: RESPClient)? = first
        while true {
            if let (node, redis) = target {
                operation.attempts += 1
                operation.node = node
                operation.sentAt = Stopwatch.now
                do {
                    switch try redis.command(arguments) {
                    case .integer: operation.outcome = .acknowledged
                    case .error(let message): operation.outcome = .failed(message)
                    case let other: operation.outcome = .unknown("unexpected reply \(other)")
                    }
                } catch {
                    operation.outcome = .unknown(error.description)
                }
                operation.finishedAt = Stopwatch.now
                if operation.outcome == .acknowledged { return (operation, (node, redis)) }
                redis.close()
                target = nil
                guard case .failed(let message) = operation.outcome, Self.isDefiniteRejection(message),
                    operation.attempts < shape.attemptsLimit
                else { return (operation, nil) }
            }
            // Find the primary again and reconnect; only a send counts as an attempt.
            guard Stopwatch.now - firstSentAt < shape.retryDeadline else { return (operation, nil) }
            sleep(for: .milliseconds(10))
            guard let node = discoverPrimary(),
                let opened = try? RESPClient(address: addresses[node], timeout: shape.replyTimeout)
            else { continue }
            target = (node, opened)
        }
    }

    /// Whether an error reply promises the command was not executed: `TRYAGAIN` (a stopping node, a full
    /// connection table) or `READONLY` (a backup).
    static func isDefiniteRejection(_ message: String) -> Bool {
        message.hasPrefix("TRYAGAIN") || message.hasPrefix("READONLY")
    }

    /// The index of the node that says it serves (role:master), the highest epoch if several do; nil if none.
    private func discoverPrimary() -> Int? {
        var best: (node: Int, epoch: Int)?
        for (index, address) in addresses.enumerated() {
            guard let info = RESPClient.info(address, timeout: .milliseconds(300)), info["role"] == "master"
            else { continue }
            let epoch = info["lockstep_epoch"].flatMap { Int($0) } ?? 0
            if best == nil || epoch > best!.epoch { best = (index, epoch) }
        }
        return best?.node
    }
}
