/// Limits that contradict each other; the node does not start.
public struct LedgerLimitsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which rule the limits break.
    public var reason: String
    /// An error for `reason`.
    public init(_ reason: String) { self.reason = reason }
    /// One sentence: what is wrong, what follows.
    public var description: String { "invalid ledger limits: \(reason); the node does not start" }
}
