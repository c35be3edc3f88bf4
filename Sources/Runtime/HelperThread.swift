import Glibc
import Posix
import Synchronization

/// A thread that sleeps until woken, for the runtime's blocking work: asking the arbiter, moving the service
/// address, running the role-change hook. None of it may run on the event loop, where a hang would stop heartbeats
/// and make the peer presume this node dead.
///
/// Wakes are counted (a semaphore): one posted before the thread waits is not lost, and a worker that keeps its own
/// queue under a lock only needs "look again".
final class HelperThread: @unchecked Sendable {  // unchecked: `semaphore` is set up once, then only sem_* calls
    private let semaphore: UnsafeMutablePointer<sem_t>
    private let thread = Mutex<PosixThread?>(nil)

    init() {
        semaphore = .allocate(capacity: 1)
        sem_init(semaphore, 0, 0)
    }

    deinit {
        sem_destroy(semaphore)
        semaphore.deallocate()
    }

    /// Starts `body` on the thread.
    func start(_ body: @escaping @Sendable () -> Void) throws(SystemError) {
        let spawned = try PosixThread.spawn(body)
        thread.withLock { $0 = spawned }
    }

    /// Makes the thread's next `waitForWake()` return. Any thread.
    func wake() {
        sem_post(semaphore)
    }

    /// Blocks the calling (helper) thread until woken.
    func waitForWake() {
        while sem_wait(semaphore) != 0 {}  // only EINTR can fail a wait on a valid semaphore
    }

    /// Blocks the calling (helper) thread until woken or until `timeout` has passed, whichever comes first.
    func waitForWake(timeout: Duration) {
        var deadline = timespec()
        clock_gettime(CLOCK_REALTIME, &deadline)  // sem_timedwait's clock
        let nanoseconds = Int(deadline.tv_nsec) + Int(timeout.components.attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(timeout.components.seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000
        while sem_timedwait(semaphore, &deadline) != 0, errno == EINTR {}
    }

    /// Consumes the wakes posted so far without blocking: for a thread that looks again anyway.
    func forgetWakes() {
        while sem_trywait(semaphore) == 0 {}
    }

    /// Waits for the thread to end; joining twice, or before `start`, does nothing.
    func join() {
        let running = thread.withLock { thread -> PosixThread? in
            let taken = thread
            thread = nil
            return taken
        }
        running?.join()
    }
}
