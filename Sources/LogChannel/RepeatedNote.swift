/// A log note that repeats while a fault lasts, said at the first occurrence and then at most once per `interval`.
///
/// A core retrying the arbiter every 50 ms would otherwise write 20 lines a second for as long as the arbiter is
/// away, burying whatever else the log says. The core decides, from the `now` it is given, whether this occurrence
/// is said; the occurrences held back in between are counted and reported with the next line said, so the log
/// still tells how often it happened. Lives beside `Instant` because every core keeps one and none does I/O.
public struct RepeatedNote: Sendable, Equatable {
    /// At most one line per this much time while the fault lasts, after the first.
    public let interval: Duration
    /// Occurrences since the fault began (or since `reset`), said or not.
    public private(set) var occurrences = 0
    /// Occurrences held back since the last line said.
    public private(set) var suppressed = 0
    private var lastSaidAt: Instant?

    /// A note said at most once per `interval`; `interval` must be positive.
    public init(interval: Duration) {
        precondition(interval > .zero, "a note said at most once per zero time is not rate-limited")
        self.interval = interval
    }

    /// Records one occurrence at `now`; returns how many were held back before it if this one is to be said,
    /// nil if it is to be held back.
    public mutating func occurred(at now: Instant) -> Int? {
        occurrences += 1
        if let last = lastSaidAt, now < last + interval {
            suppressed += 1
            return nil
        }
        lastSaidAt = now
        defer { suppressed = 0 }
        return suppressed
    }

    /// The fault is over: the next occurrence begins a new one and is said at once.
    public mutating func reset() {
        occurrences = 0
        suppressed = 0
        lastSaidAt = nil
    }

    /// What a line said after `heldBack` held-back occurrences appends, so the count reaches the log; empty for none.
    public static func suffix(heldBack: Int) -> String {
        heldBack == 0 ? "" : " (\(heldBack) more like it held back since the last)"
    }
}
