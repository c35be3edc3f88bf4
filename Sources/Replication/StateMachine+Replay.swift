/// What replaying one log entry found.
public enum ReplayOutcome: Equatable, Sendable {
    /// The entry did to the state what it did on the primary.
    case replayed
    /// A digest entry: the state's digest is `actual` where the primary's was `expected`.
    case digestMismatch(expected: UInt64, actual: UInt64)
    /// The entry asked for values the primary did not record, or left some unused (`ApplyContext.divergence`).
    case diverged(String)
}

extension StateMachine {
    /// Replays `entry` as the primary recorded it: what a backup does with each entry, and a node rebuilding its
    /// state from its durable log.
    @inlinable
    public mutating func replay(_ entry: consuming LogEntry) -> ReplayOutcome {
        var context: ApplyContext
        switch consume entry {
        case .command(let bytes, let recorded):
            context = .replaying(recorded)
            _ = apply(bytes, context: &context)
        case .tick(let recorded):
            context = .replaying(recorded)
            tick(context: &context)
        case .digest(let expected):
            let actual = digest()
            return actual == expected ? .replayed : .digestMismatch(expected: expected, actual: actual)
        case .barrier:
            return .replayed
        }
        context.finishReplay()
        return context.divergence.map { .diverged($0) } ?? .replayed
    }
}
