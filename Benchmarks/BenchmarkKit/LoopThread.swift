import Posix
import Synchronization

/// An `EventLoop` running on its own thread, for the in-process floor servers, with a way to ask how much CPU that
/// thread has used.
///
/// The floors run their servers as threads of the harness; charging them CPU per operation needs the thread's own
/// clock, which only the thread itself can read, so the question travels to it with `execute`.
final class LoopThread: Sendable {
    let loop: EventLoop
    private let thread: PosixThread

    /// Builds the loop's registrations with `setup` on the calling thread (allowed before `run()`), then runs it,
    /// polling `pollBeforeSleep` before each sleep (`EventLoop.pollBeforeSleep`).
    init(pollBeforeSleep: Duration = .zero, setup: (EventLoop) throws(SystemError) -> Void) throws(SystemError) {
        let loop = try EventLoop()
        loop.pollBeforeSleep = pollBeforeSleep
        do {
            try setup(loop)
        } catch {
            loop.shutdown()
            throw error
        }
        self.loop = loop
        thread = try loop.runOnNewThread()
    }

    /// CPU nanoseconds the loop thread has used so far; nil if it did not answer within a second (stuck or stopped).
    func cpuNanoseconds() -> UInt64? {
        let answer = Answer()
        guard loop.execute({ answer.value.store(ProcessStat.threadCPUNanoseconds() + 1, ordering: .releasing) })
        else { return nil }
        let deadline = monotonicNanoseconds() + 1_000_000_000
        while monotonicNanoseconds() < deadline {
            let value = answer.value.load(ordering: .acquiring)
            if value != 0 { return value - 1 }
            sleep(for: .microseconds(50))
        }
        return nil
    }

    /// Runs `body` on the loop thread and waits (up to a second) for its result.
    func sync<T: Sendable>(_ body: @escaping @Sendable () -> T) -> T? {
        let shared = Shared<T>()
        guard loop.execute({ let value = body(); shared.box.withLock { $0 = value } }) else { return nil }
        let deadline = monotonicNanoseconds() + 1_000_000_000
        while monotonicNanoseconds() < deadline {
            if let value = shared.box.withLock({ $0 }) { return value }
            sleep(for: .microseconds(50))
        }
        return nil
    }

    /// Stops the loop, waits for its thread, and closes every descriptor it held.
    func stop() {
        loop.stop()
        thread.join()
        loop.shutdown()
    }

    private final class Answer: Sendable {
        let value = Atomic<UInt64>(0)
    }

    private final class Shared<T: Sendable>: Sendable {
        let box = Mutex<T?>(nil)
    }
}
