@testable import LockstepCLI
import Posix
import Synchronization

/// What one node said about itself at one moment.
struct RoleView: Sendable, Equatable {
    var isMaster: Bool
    var epoch: Int
    var role: String
    var answeredAt: ContinuousClock.Instant
}

/// One poll of every node: index-aligned with the monitored addresses, nil where a node did not answer.
struct RoleSample: Sendable {
    var startedAt: ContinuousClock.Instant
    var views: [RoleView?]
}

/// Polls every node's `INFO` every few tens of milliseconds on its own thread, so the checker can look for
/// moments when two nodes both claimed to be master (split brain is judged from these plus the acks).
final class RoleMonitor: Sendable {
    static let interval = Duration.milliseconds(40)
    let addresses: [SocketAddress]
    private let samples = Mutex<[RoleSample]>([])
    private let isStopRequested = Atomic<Bool>(false)
    private let thread: Mutex<PosixThread?> = Mutex(nil)

    init(addresses: [SocketAddress]) throws {
        self.addresses = addresses
        let thread = try PosixThread.spawn { [self] in
            while !isStopRequested.load(ordering: .relaxed) {
                let startedAt = Stopwatch.now
                let views = addresses.map { address -> RoleView? in
                    guard let info = RESPClient.info(address, timeout: .milliseconds(300)) else { return nil }
                    return RoleView(
                        isMaster: info["role"] == "master", epoch: info["lockstep_epoch"].flatMap { Int($0) } ?? 0,
                        role: info["lockstep_role"] ?? "?", answeredAt: Stopwatch.now)
                }
                // Bounded by the test's length: one small record per 40 ms, at most a few thousand per test.
                samples.withLock { $0.append(RoleSample(startedAt: startedAt, views: views)) }
                sleep(for: Self.interval)
            }
        }
        self.thread.withLock { $0 = thread }
    }

    func stop() -> [RoleSample] {
        isStopRequested.store(true, ordering: .relaxed)
        thread.withLock { $0 }?.join()
        return samples.withLock { $0 }
    }
}
