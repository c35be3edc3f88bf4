import Synchronization

/// The callers waiting on the client: each request's continuation, and whoever awaits `close()`.
///
/// Kept under a lock rather than on the I/O thread alone, so that a caller can never be left waiting: a request
/// handed over while the thread stops finds the registry finished and hears `.closed` at once, and whatever the
/// thread leaves when it ends is answered by `finish`. Bounded by the callers themselves (each awaits one entry)
/// and by `pendingRequestsLimit` plus the window, which the core enforces.
final class CallerRegistry: Sendable {
    typealias Completion = CheckedContinuation<Result<RESPReply, LockstepClientError>, Never>

    private struct State {
        var completions: [RequestID: Completion] = [:]
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var isFinished = false
    }

    private let state = Mutex(State())

    /// Keeps `completion` for request `id`; false if the client has finished (the caller answers itself).
    func register(_ id: RequestID, _ completion: Completion) -> Bool {
        state.withLock { state in
            guard !state.isFinished else { return false }
            state.completions[id] = completion
            return true
        }
    }

    /// Keeps a `close()` caller until the client has finished; false if it already has.
    func awaitFinish(_ waiter: CheckedContinuation<Void, Never>) -> Bool {
        state.withLock { state in
            guard !state.isFinished else { return false }
            state.closeWaiters.append(waiter)
            return true
        }
    }

    /// Answers request `id`, if its caller still waits.
    func complete(_ id: RequestID, _ result: Result<RESPReply, LockstepClientError>) {
        state.withLock { $0.completions.removeValue(forKey: id) }?.resume(returning: result)
    }

    /// The client has ended: every caller left hears `leftover` (the core answered everyone it knew of, so these
    /// are only requests caught by an abnormal end), and every `close()` returns.
    func finish(leftover: LockstepClientError) {
        let (completions, waiters) = state.withLock { state in
            state.isFinished = true
            defer {
                state.completions = [:]
                state.closeWaiters = []
            }
            return (state.completions, state.closeWaiters)
        }
        for completion in completions.values { completion.resume(returning: .failure(leftover)) }
        for waiter in waiters { waiter.resume() }
    }
}
