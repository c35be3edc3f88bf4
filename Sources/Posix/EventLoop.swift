import CShim
import Glibc
import Synchronization

/// One epoll thread: the only place a node's sockets are read, written and timed.
///
/// Why this shape: a level-triggered epoll loop costs far less CPU per request than a thread per connection (as
/// measured in IO-FINDINGS), and batching comes free from the round structure. Each round is
///
/// 1. `epoll_wait` (at most `eventsPerWaitLimit` events, timeout = the earliest timer),
/// 2. every ready descriptor's handler, and the tasks other threads sent with `execute(_:)`,
/// 3. every due timer,
/// 4. the round-end hooks, then the one-shot `runAfterRound` tasks: where a connection makes its single
///    `write()` of everything the round produced.
///
/// Threading: `execute(_:)`, `stop()` and `isOnLoopThread` may be called from any thread. Everything else runs on
/// the loop thread, or before `run()` starts / after it returns, so the hot path takes no lock. Registered
/// descriptors belong to the loop: `close(_:)` closes one, `shutdown()` closes all that remain.
///
/// Handlers and timer bodies are retained until deregistered, fired or cancelled; a connection therefore lives as
/// long as its registration, and must close it to be freed.
public final class EventLoop: @unchecked Sendable {  // unchecked: loop-thread state, see "Threading" above
    // MARK: Loop-thread state

    struct Slot {
        var descriptor: FileDescriptor?
        var generation: UInt32 = 0
        var interest: Interest = []
        var handler: ((Events) -> Void)?
    }

    let epoll: Epoll
    let doorbell: EventCounter
    /// Registered descriptors by slot (`EventLoop+Descriptors.swift`); freed slots are reused.
    var slots: [Slot] = []
    var freeSlots: [UInt32] = []
    private var timers = TimerHeap()
    private var timerBodies: [UInt64: Task] = [:]
    private var nextTimerID: UInt64 = 1

    /// How long the loop keeps polling for events, yielding the CPU to anything else runnable between polls,
    /// before it blocks in `epoll_wait`; zero blocks at once. At most `pollBeforeSleepLimit`, and never past the
    /// next timer. Set it before `run()`.
    ///
    /// Why poll: on a VM whose idle vCPUs halt (e.g. `haltpoll` with `guest_halt_poll_ns=0`), waking a sleeping thread
    /// is slow, and the cost is paid on the critical path by the waker and the woken alike. A replicated request wakes
    /// three sleepers in turn (primary, backup, primary); a loop that polls through the gap catches the next event
    /// without a wakeup (Benchmarks/README.md, "Polling before sleeping").
    public var pollBeforeSleep: Duration = .zero {
        didSet {
            precondition(pollBeforeSleep >= .zero && pollBeforeSleep <= Self.pollBeforeSleepLimit,
                "pollBeforeSleep \(pollBeforeSleep) is outside 0...\(Self.pollBeforeSleepLimit)")
            pollNanoseconds = UInt64(pollBeforeSleep.nanoseconds)
        }
    }
    private var pollNanoseconds: UInt64 = 0
    private var afterRoundTasks: [Task] = []
    /// The tasks of the pass being run; kept, with `afterRoundTasks`, so that a round allocates no task list.
    private var runningTasks: [Task] = []
    private var roundEndHooks: [Task] = []

    /// A closure as the loop stores it. Wrapped because a bare closure stored in a collection is re-abstracted
    /// through a thunk, which allocates on every store, on the hot path of every request.
    private struct Task {
        let run: () -> Void
    }
    /// Set by `handleSignals`; called on the loop thread with each signal number that arrived.
    var signalHandler: ((CInt) -> Void)?

    // MARK: Shared state

    private let inbox = Mutex<[@Sendable () -> Void]>([])
    private let isStopRequested = Atomic<Bool>(false)
    /// `pthread_self()` of the thread inside `run()`, 0 when none.
    private let runningThread = Atomic<UInt>(0)
    private let failure = Mutex<SystemError?>(nil)
    /// Set once by `shutdown()`; `stop` and `execute` then do nothing rather than ring a closed eventfd.
    private let isShutDown = Atomic<Bool>(false)

    /// The doorbell's epoll data; registrations use `generation << 32 | slot`, and generation 0 is never issued.
    private static let doorbellData = UInt64.max

    /// Creates the loop's epoll instance and doorbell; throws if either cannot be made (e.g. `EMFILE`).
    public init() throws(SystemError) {
        epoll = try Epoll()
        do {
            doorbell = try EventCounter()
        } catch {
            try? epoll.descriptor.close()  // the eventfd error is the one worth reporting
            throw error
        }
        do {
            try epoll.add(doorbell.descriptor, events: EPOLLIN.rawValue, data: Self.doorbellData)
        } catch {
            try? doorbell.descriptor.close()  // the epoll_ctl error is the one worth reporting
            try? epoll.descriptor.close()
            throw error
        }
    }

    deinit {
        shutdown()
    }

    /// Whether the caller is the thread running this loop.
    public var isOnLoopThread: Bool { runningThread.load(ordering: .relaxed) == UInt(pthread_self()) }

    /// Whether the caller may use the loop-thread API: it is on the loop thread, or no thread runs the loop (setup
    /// before `run()`, teardown after). Objects living on a loop check it in their own entry points.
    public var isOwnedByCaller: Bool {
        let running = runningThread.load(ordering: .relaxed)
        return running == 0 || running == UInt(pthread_self())
    }

    // MARK: Running

    /// Runs rounds on the calling thread until `stop()`. A stopped loop stays stopped.
    public func run() throws(SystemError) {
        let claimed = runningThread.compareExchange(
            expected: 0, desired: UInt(pthread_self()), ordering: .acquiringAndReleasing
        ).exchanged
        precondition(claimed, "EventLoop.run() called while the loop is already running")
        precondition(!isShutDown.load(ordering: .acquiring), "EventLoop.run() after shutdown()")
        defer { runningThread.store(0, ordering: .releasing) }
        let events = UnsafeMutableBufferPointer<epoll_event>.allocate(capacity: Self.eventsPerWaitLimit)
        defer { events.deallocate() }
        while !isStopRequested.load(ordering: .acquiring) {
            let now = monotonicNanoseconds()
            let timeout = waitTimeoutMilliseconds(now: now)
            var count: Int
            if timeout != 0, pollNanoseconds > 0 {
                count = try poll(into: events, until: min(now &+ pollNanoseconds, timers.first?.deadline ?? .max))
                if count == 0 {  // the poll took time: a timer may be due sooner than `timeout` said
                    let remaining = waitTimeoutMilliseconds(now: monotonicNanoseconds())
                    count = try epoll.wait(into: events, timeoutMilliseconds: remaining)
                }
            } else {
                count = try epoll.wait(into: events, timeoutMilliseconds: timeout)
            }
            for index in 0..<count {
                dispatch(events: events[index].events, data: events[index].data.u64)
            }
            fireDueTimers(now: monotonicNanoseconds())
            endRound()
        }
    }

    /// Starts `run()` on a new thread. If `run()` ever fails, the loop stops and `terminationError` says why.
    public func runOnNewThread() throws(SystemError) -> PosixThread {
        try PosixThread.spawn { [self] in
            do throws(SystemError) {
                try run()
            } catch {
                failure.withLock { $0 = error }
            }
        }
    }

    /// Why `run()` returned with an error, if it did (epoll_wait failing: a bug, not an operating condition).
    public var terminationError: SystemError? { failure.withLock { $0 } }

    /// Asks the loop to return from `run()` after the current round. Any thread; a no-op after `shutdown()`
    /// (calling it while another thread is inside `shutdown()` is a bug).
    public func stop() {
        isStopRequested.store(true, ordering: .releasing)
        if !isShutDown.load(ordering: .acquiring) { doorbell.ring() }
    }

    /// Runs `task` on the loop thread in an upcoming round. Any thread.
    ///
    /// Returns `false`, without queuing, when `pendingTasksLimit` tasks are already waiting (the loop is stuck or
    /// overwhelmed, and the caller decides what that means) or the loop is shut down.
    public func execute(_ task: @escaping @Sendable () -> Void) -> Bool {
        guard !isShutDown.load(ordering: .acquiring) else { return false }
        let (isQueued, isFirst) = inbox.withLock { queue -> (Bool, Bool) in
            guard queue.count < Self.pendingTasksLimit else { return (false, false) }
            queue.append(task)
            return (true, queue.count == 1)
        }
        // Only the first task needs the bell: the loop takes the whole queue at once after draining it.
        if isFirst { doorbell.ring() }
        return isQueued
    }

    /// Closes every descriptor still registered, drops timers, tasks and hooks, then closes the epoll and eventfd.
    /// Call after `run()` has returned (or if it never ran); `deinit` calls it too.
    public func shutdown() {
        precondition(runningThread.load(ordering: .acquiring) == 0, "EventLoop.shutdown() while running")
        guard !isShutDown.exchange(true, ordering: .acquiringAndReleasing) else { return }
        stopHandlingSignals()
        for slot in slots {
            try? slot.descriptor?.close()  // nobody is left to tell
        }
        slots = []
        freeSlots = []
        timers = TimerHeap()
        timerBodies = [:]
        afterRoundTasks = []
        runningTasks = []
        roundEndHooks = []
        signalHandler = nil
        inbox.withLock { $0 = [] }
        try? doorbell.descriptor.close()  // nobody is left to tell
        try? epoll.descriptor.close()
    }

    // MARK: Timers

    /// Calls `body` on the loop thread once `monotonicNanoseconds()` reaches `deadline`, in the timer step of a
    /// round. Timers run at most about 1 ms late (epoll's timeout resolution), never early; equal deadlines run in
    /// the order scheduled.
    @discardableResult
    public func schedule(at deadline: UInt64, _ body: @escaping () -> Void) -> TimerID {
        precondition(isOwnedByCaller, "EventLoop.schedule off the loop thread")
        precondition(timerBodies.count < Self.timersLimit, "more than \(Self.timersLimit) timers: a timer leak")
        let id = nextTimerID
        nextTimerID += 1
        timerBodies[id] = Task(run: body)
        timers.insert(TimerHeap.Entry(deadline: deadline, id: id))
        return TimerID(value: id)
    }

    /// `schedule(at:)` relative to now.
    @discardableResult
    public func schedule(after delay: Duration, _ body: @escaping () -> Void) -> TimerID {
        return schedule(at: monotonicNanoseconds() &+ UInt64(max(0, delay.nanoseconds)), body)
    }

    /// Cancels a timer that has not fired; a no-op otherwise.
    public func cancel(_ timer: TimerID) {
        precondition(isOwnedByCaller, "EventLoop.cancel off the loop thread")
        timerBodies[timer.value] = nil
        // The heap entry stays until it surfaces; compact when the dead ones dominate, to bound memory.
        if timers.count > 2 * timerBodies.count + 64 {
            timers.removeAll { timerBodies[$0.id] == nil }
        }
    }

    // MARK: Round end

    /// Runs `body` once, at the end of the current round (or the next one, if called outside a round).
    ///
    /// This is the batching point: a connection that was given frames during the round queues one flush here
    /// and makes one `write()` for all of them.
    public func runAfterRound(_ body: @escaping () -> Void) {
        precondition(isOwnedByCaller, "EventLoop.runAfterRound off the loop thread")
        precondition(afterRoundTasks.count < Self.afterRoundTasksLimit, "after-round tasks are not deduplicated")
        afterRoundTasks.append(Task(run: body))
    }

    /// Adds a hook that runs at the end of every round, before the `runAfterRound` tasks, so whatever it sends is
    /// flushed in the same round. For an owner that batches its own work per round (a core fed many events).
    public func addRoundEndHook(_ hook: @escaping () -> Void) {
        precondition(isOwnedByCaller, "EventLoop.addRoundEndHook off the loop thread")
        roundEndHooks.append(Task(run: hook))
    }

    // MARK: Internals

    private func dispatch(events: UInt32, data: UInt64) {
        if data == Self.doorbellData {
            doorbell.drain()
            runInbox()
            deliverPendingSignals()
            return
        }
        let index = Int(truncatingIfNeeded: data & 0xFFFF_FFFF)
        guard index < slots.count, slots[index].generation == UInt32(truncatingIfNeeded: data >> 32),
            let handler = slots[index].handler
        else { return }  // deregistered earlier in this round
        handler(Self.events(events))
    }

    private func runInbox() {
        let tasks = inbox.withLock { queue -> [@Sendable () -> Void] in
            var taken: [@Sendable () -> Void] = []
            swap(&queue, &taken)
            return taken
        }
        for task in tasks { task() }
    }

    private func fireDueTimers(now: UInt64) {
        // Timers scheduled by a firing body wait for the next round, so a body that reschedules itself at a past
        // deadline cannot spin this loop.
        let firstNewID = nextTimerID
        while let next = timers.first, next.deadline <= now, next.id < firstNewID {
            timers.removeFirst()
            if let body = timerBodies.removeValue(forKey: next.id) { body.run() }
        }
    }

    private func endRound() {
        for hook in roundEndHooks { hook.run() }
        var passes = 0
        while !afterRoundTasks.isEmpty, passes < Self.afterRoundPassesLimit {
            swap(&runningTasks, &afterRoundTasks)
            for task in runningTasks { task.run() }
            runningTasks.removeAll(keepingCapacity: true)
            passes += 1
        }
    }

    /// Polls until an event is ready, `deadline` (monotonic nanoseconds) has passed, or another thread turns out to
    /// want this CPU; the count of events (0: block now).
    private func poll(
        into events: UnsafeMutableBufferPointer<epoll_event>, until deadline: UInt64
    ) throws(SystemError) -> Int {
        while true {
            let count = try epoll.wait(into: events, timeoutMilliseconds: 0)
            let now = monotonicNanoseconds()
            if count > 0 || now >= deadline { return count }
            // Whatever else is runnable on this CPU goes first: the poll only takes time nobody else wants. Without
            // the yield, polling would take CPU the clients need (Benchmarks/README.md).
            sched_yield()
            // A yield that came back late ran another thread: this CPU is wanted. Polling on would take it back in
            // every pause of that thread; sleeping leaves it the CPU (Benchmarks/README.md, "Polling before
            // sleeping").
            if monotonicNanoseconds() - now > Self.contendedYieldNanoseconds { return 0 }
        }
    }

    /// A `sched_yield` longer than this ran another thread. An uncontended yield returns in about a microsecond, and
    /// a switch to another poller and back in a few.
    static let contendedYieldNanoseconds: UInt64 = 20_000

    private func waitTimeoutMilliseconds(now: UInt64) -> CInt {
        if !afterRoundTasks.isEmpty { return 0 }
        while let next = timers.first, timerBodies[next.id] == nil { timers.removeFirst() }
        guard let next = timers.first else { return -1 }
        guard next.deadline > now else { return 0 }
        // Round up: waking before the deadline would only spin until it.
        let milliseconds = (next.deadline - now + 999_999) / 1_000_000
        return CInt(clamping: milliseconds)
    }

    static func data(_ registration: Registration) -> UInt64 {
        UInt64(registration.generation) << 32 | UInt64(registration.slot)
    }

    static func epollEvents(_ interest: Interest) -> UInt32 {
        var events: UInt32 = 0
        if interest.contains(.readable) { events |= EPOLLIN.rawValue }
        if interest.contains(.writable) { events |= EPOLLOUT.rawValue }
        return events
    }

    private static func events(_ epollEvents: UInt32) -> Events {
        var events: Events = []
        if epollEvents & EPOLLIN.rawValue != 0 { events.insert(.readable) }
        if epollEvents & EPOLLOUT.rawValue != 0 { events.insert(.writable) }
        if epollEvents & (EPOLLHUP.rawValue | EPOLLRDHUP.rawValue) != 0 { events.insert(.hangup) }
        if epollEvents & EPOLLERR.rawValue != 0 { events.insert(.error) }
        return events
    }
}
