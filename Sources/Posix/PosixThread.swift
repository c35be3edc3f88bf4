import Glibc
import Synchronization

/// A joinable pthread, for event loops and blocking helpers, without Foundation's `Thread`.
public final class PosixThread: Sendable {
    private let handle: pthread_t
    private let isJoined = Atomic<Bool>(false)

    private init(handle: pthread_t) { self.handle = handle }

    /// Starts `body` on a new thread.
    ///
    /// pthread_create takes a capture-free C function, so the closure travels through `Unmanaged` (IO-FINDINGS,
    /// pitfall 3); the new thread takes the reference back and releases it when `body` returns.
    public static func spawn(_ body: @escaping @Sendable () -> Void) throws(SystemError) -> PosixThread {
        let context = Unmanaged.passRetained(Body(body)).toOpaque()
        var handle = pthread_t()
        let code = pthread_create(&handle, nil, { raw in
            Unmanaged<Body>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, context)
        if code != 0 {
            Unmanaged<Body>.fromOpaque(context).release()
            throw SystemError(call: "pthread_create", errno: code)
        }
        return PosixThread(handle: handle)
    }

    /// Waits for the thread to finish. Joining twice is a no-op, not undefined behaviour.
    public func join() {
        guard !isJoined.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let code = pthread_join(handle, nil)
        precondition(code == 0, "pthread_join failed with \(code): joining self or a detached thread")
    }

    deinit {
        // A thread never joined keeps its stack until exit; detach so it is reclaimed when it ends.
        if !isJoined.load(ordering: .acquiring) { pthread_detach(handle) }
    }

    private final class Body {
        let run: @Sendable () -> Void
        init(_ run: @escaping @Sendable () -> Void) { self.run = run }
    }
}
