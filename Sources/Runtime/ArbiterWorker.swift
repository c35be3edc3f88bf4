import Arbiter
import Glibc
import Posix
import Synchronization

/// One helper thread that asks the arbiter on the node's behalf and posts each answer back to the loop.
///
/// The arbiter is disk I/O on a shared directory, which may hang (a stale NFS mount): it must never run on the
/// event loop, or heartbeats would stop and the peer would presume this node dead. A node has at most one
/// question outstanding in practice (the core waits for each answer), so a queue of `pendingRequestsLimit` is
/// slack, and a request that does not fit is answered at once with a failure: "unknown", so nobody goes live.
final class ArbiterWorker: Sendable {
    enum Request: Sendable {
        case read
        case take(epoch: UInt64, claim: Claim)
    }

    /// Requests queued and not yet started.
    static let pendingRequestsLimit = 4
    /// How long to wait before posting an answer again when the loop's task queue is full.
    static let postRetryDelay = Duration.milliseconds(1)

    private struct State {
        var requests: [Request] = []
        var isStopping = false
    }

    private let arbiter: any Arbiter
    private let state = Mutex(State())
    private let helper = HelperThread()

    init(arbiter: any Arbiter) {
        self.arbiter = arbiter
    }

    /// Starts the thread; `deliver` posts one answer to the loop and says whether it was queued.
    func start(deliver: @escaping @Sendable (ArbiterAnswer) -> Bool) throws(SystemError) {
        try helper.start { [self] in work(deliver: deliver) }
    }

    /// Queues `request`; false when the queue is full or the worker is stopping.
    func submit(_ request: Request) -> Bool {
        let isQueued = state.withLock { state -> Bool in
            guard !state.isStopping, state.requests.count < Self.pendingRequestsLimit else { return false }
            state.requests.append(request)
            return true
        }
        if isQueued { helper.wake() }
        return isQueued
    }

    /// Stops taking requests; a request in progress finishes (its answer is dropped), queued ones never start.
    ///
    /// Like a killed process, a take already written to the directory stays taken; one not yet started never is.
    /// Any thread.
    func halt() {
        state.withLock {
            $0.isStopping = true
            $0.requests.removeAll()
        }
        helper.wake()
    }

    /// Waits for the thread to end; call after `halt()`.
    func join() {
        helper.join()
    }

    private var isStopping: Bool { state.withLock { $0.isStopping } }

    private func work(deliver: @Sendable (ArbiterAnswer) -> Bool) {
        while true {
            helper.waitForWake()
            let next = state.withLock { state -> Request? in
                guard !state.isStopping, !state.requests.isEmpty else { return nil }
                return state.requests.removeFirst()
            }
            guard let request = next else {
                if isStopping { return }
                continue
            }
            let answer = ask(request)
            // The loop's task queue is full only if the loop is stuck; an answer dropped would leave the core
            // waiting forever, so keep offering it until the loop takes it or the node stops.
            while !deliver(answer) {
                if isStopping { return }
                sleep(for: Self.postRetryDelay)
            }
        }
    }

    private func ask(_ request: Request) -> ArbiterAnswer {
        do throws(ArbiterError) {
            switch request {
            case .read: return .current(try arbiter.current())
            case .take(let epoch, let claim): return .took(try arbiter.take(epoch: epoch, for: claim))
            }
        } catch {
            return .failed(error)
        }
    }
}
