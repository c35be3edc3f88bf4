/// One nondeterministic value, as recorded by the primary and replayed by the backup.
public enum Recorded: Equatable, Sendable {
    /// Wall-clock time in nanoseconds since the Unix epoch.
    case clock(Int64)
    /// A uniformly random 64-bit value.
    case random(UInt64)
    /// A judgement the primary made from its node-local state (`ApplyContext.observed`).
    case observation(UInt64)
}

/// Where the primary's nondeterminism comes from: the system in production, a seed in simulation.
public protocol EntropySource {
    /// Wall-clock time in nanoseconds since the Unix epoch, as the primary's system (or the simulation) reads it.
    mutating func wallClockNanoseconds() -> Int64
    /// A uniformly random 64-bit value.
    mutating func randomValue() -> UInt64
}

/// The only door through which a state machine may see time, randomness or its node-local state.
///
/// On the primary it reads `EntropySource` and records each value; on the backup it replays the
/// recorded values in order. A replay that asks for a value that was not recorded (or of another
/// kind) has diverged: the context notes it, returns a harmless value, and the backup rejoins.
public struct ApplyContext {
    private enum Mode {
        case recording(any EntropySource)
        case replaying(next: Int)
    }

    private var mode: Mode
    /// The values in the order the state machine read them.
    public private(set) var recorded: [Recorded]
    /// Set when replay asked for something the primary did not record.
    public private(set) var divergence: String?
    /// Names this recording context, and so the tenure of the primary that holds it (a primary records with one
    /// context for its whole life): a node-local value for `observed` judges only, such as "was this waiter registered
    /// by me, so is its connection mine". No other primary's context, earlier or later, has it: a primary names its
    /// context by the epoch it started in, which the arbiter grants once (random when not named); 0 when replaying.
    public let tenure: UInt64
    /// Whether clock reads return `frozenNanoseconds` once it is set (`freezeClock`).
    public private(set) var isClockFrozen = false
    private var frozenNanoseconds: Int64?

    /// The primary's context: reads come from `source` and are recorded, in order, into `recorded`. `tenure` names
    /// it (random when nil): a primary keeps one context for its life, and tests may give several one name.
    public static func recording(from source: any EntropySource, tenure: UInt64? = nil) -> ApplyContext {
        ApplyContext(mode: .recording(source), recorded: [], tenure: tenure ?? UInt64.random(in: 1...UInt64.max))
    }

    /// The backup's context: reads return the primary's `recorded` values in order, and any mismatch is a divergence.
    public static func replaying(_ recorded: [Recorded]) -> ApplyContext {
        ApplyContext(mode: .replaying(next: 0), recorded: recorded, tenure: 0)
    }

    private init(mode: Mode, recorded: [Recorded], tenure: UInt64) {
        self.mode = mode
        self.recorded = recorded
        self.tenure = tenure
    }

    /// Wall-clock time in nanoseconds since the Unix epoch.
    public mutating func wallClockNanoseconds() -> Int64 {
        if isClockFrozen, let frozenNanoseconds { return frozenNanoseconds }
        let value: Int64
        switch mode {
        case .recording(var source):
            value = source.wallClockNanoseconds()
            mode = .recording(source)
            recorded.append(.clock(value))
        case .replaying(let next):
            guard next < recorded.count, case .clock(let replayed) = recorded[next] else {
                noteDivergence("a clock read", at: next)
                return 0
            }
            mode = .replaying(next: next + 1)
            value = replayed
        }
        if isClockFrozen { frozenNanoseconds = value }
        return value
    }

    /// Makes every clock read until `thawClock()` return the first one's value, recorded once.
    ///
    /// For work that must happen at one instant, as the commands of a Redis transaction do (EXEC fixes the time its
    /// commands see): a key cannot expire between two of them, and a long transaction records one clock read, not
    /// one per command. Both nodes freeze at the same point of the same entry, so replay reads alike.
    public mutating func freezeClock() {
        isClockFrozen = true
        frozenNanoseconds = nil
    }

    /// Ends `freezeClock()`: the next read asks the source again.
    public mutating func thawClock() {
        isClockFrozen = false
        frozenNanoseconds = nil
    }

    /// A value only the primary can judge, from state that is its own rather than replicated (such as which of its
    /// connections watch which keys): `judge` runs and its answer is recorded on the primary; the backup replays
    /// the answer without running `judge`, so the two agree whatever the backup's own node-local state holds.
    ///
    /// `judge` must not read the context itself; any value it needs from the context is read before, on both nodes.
    public mutating func observed(_ judge: () -> UInt64) -> UInt64 {
        switch mode {
        case .recording:
            let value = judge()
            recorded.append(.observation(value))
            return value
        case .replaying(let next):
            guard next < recorded.count, case .observation(let value) = recorded[next] else {
                noteDivergence("an observation", at: next)
                return 0
            }
            mode = .replaying(next: next + 1)
            return value
        }
    }

    /// A uniformly random 64-bit value.
    public mutating func randomValue() -> UInt64 {
        switch mode {
        case .recording(var source):
            let value = source.randomValue()
            mode = .recording(source)
            recorded.append(.random(value))
            return value
        case .replaying(let next):
            guard next < recorded.count, case .random(let value) = recorded[next] else {
                noteDivergence("a random value", at: next)
                return 0
            }
            mode = .replaying(next: next + 1)
            return value
        }
    }

    /// Hands over the values recorded so far and records afresh from the same source, which keeps its state.
    ///
    /// A primary keeps one recording context for all its commands rather than wrap its source anew for each (copying
    /// the existential in and out cost a few percent of a pipelined request).
    public mutating func takeRecorded() -> [Recorded] {
        var taken: [Recorded] = []
        swap(&taken, &recorded)
        return taken
    }

    /// The source after recording, with whatever state (a seeded generator) the reads advanced.
    public var entropySource: (any EntropySource)? {
        if case .recording(let source) = mode { source } else { nil }
    }

    /// Replay must consume exactly what was recorded; leftovers mean the backup took another path.
    public mutating func finishReplay() {
        if case .replaying(let next) = mode, next != recorded.count, divergence == nil {
            divergence = "replay used \(next) of \(recorded.count) recorded values"
        }
    }

    private mutating func noteDivergence(_ what: String, at index: Int) {
        if divergence == nil {
            divergence = "replay asked for \(what) as value \(index + 1) but the primary recorded "
                + (index < recorded.count ? "\(recorded[index])" : "only \(recorded.count)")
        }
    }
}
