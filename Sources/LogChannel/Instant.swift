/// A point in monotonic time, in nanoseconds from an arbitrary origin.
///
/// Cores never read a clock: the runtime passes `Instant`s read from CLOCK_MONOTONIC, the simulator
/// passes virtual ones starting at zero, so a seed reproduces the same trace.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the clock's origin.
    public var nanoseconds: UInt64

    /// The instant `nanoseconds` after the origin.
    public init(nanoseconds: UInt64) { self.nanoseconds = nanoseconds }

    /// The origin: where the simulator's virtual time starts.
    public static let zero = Instant(nanoseconds: 0)

    /// Whether `a` comes before `b`.
    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// The instant `d` after `a` (before it, for a negative `d`), to the nanosecond; wraps rather than traps.
    public static func + (a: Instant, d: Duration) -> Instant {
        let n = d.nanoseconds
        return Instant(nanoseconds: n >= 0 ? a.nanoseconds &+ UInt64(n) : a.nanoseconds &- UInt64(-n))
    }

    /// The earlier of two optional instants (nil only if both are); for a core's next wakeup, computed after every
    /// event, where an array of candidates would allocate each time.
    public static func earliest(_ a: Instant?, _ b: Instant?) -> Instant? {
        guard let a else { return b }
        guard let b else { return a }
        return Swift.min(a, b)
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later.
    public func since(_ earlier: Instant) -> Duration {
        nanoseconds >= earlier.nanoseconds ? .nanoseconds(Int64(nanoseconds - earlier.nanoseconds)) : .zero
    }

    /// Milliseconds since the origin, as `t+12.5ms`, for traces.
    public var description: String { "t+\(Double(nanoseconds) / 1e6)ms" }
}
