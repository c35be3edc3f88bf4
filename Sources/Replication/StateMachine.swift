/// A deterministic service that Lockstep replicates.
///
/// The primary and the backup each hold one instance and apply the same commands in the same order
/// with the same recorded nondeterminism, so they stay identical (DESIGN, protocol 1). An
/// implementation must obtain time and randomness only from the `ApplyContext`, never from the
/// system, and must not depend on hash-seed order (`Dictionary` iteration differs per process).
public protocol StateMachine {
    /// Applies one command and returns the bytes of its reply.
    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8]

    /// Timer-driven work (e.g. active expiry). The primary runs it as a log entry of its own, so
    /// the backup does the same work at the same point in the log; the backup never runs timers.
    mutating func tick(context: inout ApplyContext)

    /// The whole state as bytes, to bring a new backup up (re-protection).
    func snapshot() -> [UInt8]

    /// Replaces the state with a snapshot taken by `snapshot()`.
    mutating func restore(from snapshot: [UInt8]) throws(SnapshotError)

    /// A hash of the state that does not depend on process or insertion order; equal states give
    /// equal digests on every machine. Shipped in the log so the backup can prove it has not diverged.
    func digest() -> UInt64
}

/// A snapshot that cannot be restored.
public struct SnapshotError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What is wrong with the snapshot, e.g. where it is truncated.
    public var reason: String
    /// An error naming `reason`.
    public init(_ reason: String) { self.reason = reason }
    /// One sentence for the log: what is wrong, and that the backup rejoins from scratch.
    public var description: String { "snapshot cannot be restored: \(reason); the backup rejoins from scratch" }
}
