import Glibc
import Posix
import Synchronization

/// One SET every millisecond on its own connection, on a thread of its own: what a client of the primary notices
/// while something else happens (a backup re-protected after a restart).
///
/// Each request waits for its reply before the next one leaves, so a stall shows as one long latency rather than a
/// queue of them; the next request leaves at the next millisecond tick after the reply.
final class LatencyProbe: Sendable {
    /// Time between requests.
    static let interval: Duration = .milliseconds(1)
    /// How long one request may wait for its reply before the probe counts an error and reconnects.
    static let replyTimeoutNanoseconds: UInt64 = 10_000_000_000

    private let isStopRequested = Atomic<Bool>(false)
    private let result = Mutex<(histogram: LatencyHistogram, errors: Int)>((LatencyHistogram(), 0))
    private let thread = Mutex<PosixThread?>(nil)

    /// Starts probing `address` with `SET probe <value>`.
    init(target address: SocketAddress) throws(BenchmarkError) {
        let command = Workload.command(["SET", "probe", String(repeating: "p", count: 32)])
        do {
            let spawned = try PosixThread.spawn { [self] in run(address, command) }
            thread.withLock { $0 = spawned }
        } catch {
            throw .system(error)
        }
    }

    /// Stops the thread and returns every latency it recorded, and the requests that failed.
    func stop() -> (histogram: LatencyHistogram, errors: Int) {
        isStopRequested.store(true, ordering: .releasing)
        thread.withLock { $0 }?.join()
        return result.withLock { $0 }
    }

    private func run(_ address: SocketAddress, _ command: [UInt8]) {
        var connection: PipelinedConnection?
        var sent = 0
        // Failed requests, and error replies on connections given up since.
        var earlierErrors = 0
        while !isStopRequested.load(ordering: .acquiring) {
            let start = monotonicNanoseconds()
            do throws(BenchmarkError) {
                if connection == nil {
                    connection = try PipelinedConnection(to: address)
                    sent = 0
                }
                let deadline = start + Self.replyTimeoutNanoseconds
                try connection!.send(command, deadline: deadline)
                sent += 1
                try connection!.awaitReplies(sent, deadline: deadline)
                let errors = earlierErrors + connection!.errors
                result.withLock {
                    $0.histogram.record(monotonicNanoseconds() - start)
                    $0.errors = errors
                }
            } catch {
                earlierErrors += 1 + (connection?.errors ?? 0)
                connection = nil
                let errors = earlierErrors
                result.withLock { $0.errors = errors }
            }
            let elapsed = monotonicNanoseconds() - start
            if elapsed < 1_000_000 { sleep(for: .nanoseconds(Int64(1_000_000 - elapsed))) }
        }
    }
}
