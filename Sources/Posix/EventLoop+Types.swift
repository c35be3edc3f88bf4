import Glibc

/// The loop's bounds and the small values its API hands out.
extension EventLoop {
    /// Events taken per `epoll_wait`. A node has a handful of descriptors, so this bounds a round's work without
    /// ever starving one: level-triggered readiness reappears next round.
    public static let eventsPerWaitLimit = 128
    /// Closures queued by `execute(_:)` and not yet run. Other threads post arbiter answers and commands; a
    /// backlog this deep means the loop is stuck, and the poster must learn it rather than grow the queue.
    public static let pendingTasksLimit = 4_096
    /// Live timers. A connection keeps one; the bound catches a leak, it is not a tuning knob.
    public static let timersLimit = 65_536
    /// One-shot after-round tasks queued in one round. Connections queue one flush each (deduplicated).
    public static let afterRoundTasksLimit = 65_536
    /// Passes over after-round tasks that queue further after-round tasks (a flush that fails and closes, whose
    /// close handler sends elsewhere); anything left waits for the next round, which then does not block.
    public static let afterRoundPassesLimit = 8

    /// What a registration wants to hear about.
    public struct Interest: OptionSet, Hashable, Sendable {
        /// The interest bits, as the option set stores them.
        public let rawValue: UInt8
        /// An interest from its bits; use the named members instead.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// Report when bytes (or end of stream, or a pending connection) can be read.
        public static let readable = Interest(rawValue: 1)
        /// Report when the socket takes bytes again, or when a non-blocking `connect` finished.
        public static let writable = Interest(rawValue: 2)
    }

    /// What a descriptor is ready for. `hangup` and `error` are reported whatever the interest; a handler should
    /// then read or write and let the call report what happened.
    public struct Events: OptionSet, Hashable, Sendable {
        /// The event bits, as the option set stores them.
        public let rawValue: UInt8
        /// Events from their bits; use the named members instead.
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        /// A read would not block: bytes, end of stream, or a pending connection.
        public static let readable = Events(rawValue: 1)
        /// A write would not block, or a non-blocking `connect` finished (successfully or not).
        public static let writable = Events(rawValue: 2)
        /// The descriptor hung up (EPOLLHUP); reads drain what is left, then see end of stream.
        public static let hangup = Events(rawValue: 4)
        /// The descriptor has a pending error (EPOLLERR); the next read or write reports it.
        public static let error = Events(rawValue: 8)
    }

    /// A registered descriptor. The generation makes a stale token (or a stale event for a descriptor number
    /// reused within one round) harmless.
    public struct Registration: Hashable, Sendable {
        let slot: UInt32
        let generation: UInt32
    }

    /// A scheduled timer, for `cancel(_:)`.
    public struct TimerID: Hashable, Sendable {
        let value: UInt64
    }

    /// The longest `pollBeforeSleep`: polling is for an event due within microseconds, not a way to stay awake.
    public static let pollBeforeSleepLimit: Duration = .milliseconds(1)
}
