/// A deterministic service that Lockstep replicates.
///
/// The primary and the backup each hold one instance and apply the same commands in the same order
/// with the same recorded nondeterminism, so they stay identical (DESIGN, protocol 1). An
/// implementation must obtain time and randomness only from the `ApplyContext`, never from the
/// system, and must not depend on hash-seed order (`Dictionary` iteration differs per process).
///
/// To bring a new backup up, the primary freezes its state with `snapshot()` and streams the snapshot's bytes in
/// bounded chunks, interleaved with the log and client work; the backup feeds them to a `Restorer` as they arrive.
/// Neither side may spend time in proportion to the whole state in one step: taking a snapshot must cost no more
/// than copying a few references (partition the state so that a write after it copies only what it touches, as a
/// fork's copy-on-write copies only touched pages), and each chunk costs time in proportion to its own size. A
/// service whose whole state encodes in a few milliseconds can adopt `SmallStateMachine` instead.
public protocol StateMachine {
    /// A frozen view of the state that writes its encoding out in chunks.
    associatedtype Snapshot: StateSnapshot
    /// Rebuilds a machine from a snapshot's encoding, chunk by chunk.
    associatedtype Restorer: SnapshotRestorer where Restorer.Machine == Self

    /// Applies one command and returns the bytes of its reply.
    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8]

    /// Answers `command` without changing the state and without a log entry of its own, when it is a read (or a write
    /// that would change nothing, which is a read in effect): appends its reply to `reply` and returns true. Returns
    /// false, with `reply` as it was, when the command must be executed by `apply` as an entry. Non-mutating, so a
    /// read cannot change the state by accident (a key found expired is reported missing and left for a later entry
    /// to delete).
    ///
    /// `reply` may already hold the replies of earlier reads: append only. The primary answers a run of reads into
    /// one array and hands each client its slice of it, so a read costs no allocation of its own.
    ///
    /// The primary answers a read from its state as it is, which may include entries the backup has not acked; the
    /// reply leaves only once the backup has acked an entry appended after the read (a write behind it, or a barrier
    /// the primary appends), which proves both that everything the read saw is held twice and that this primary still
    /// led when it answered (Raft's ReadIndex, with the log's next ack as the heartbeat). Under the backup's read lease
    /// (`Hello.readLease`) the second is known without it, and the reply waits only for the acks of the entries the
    /// read saw. Values read from `context`
    /// are not recorded anywhere, whether the read answers or declines: a declined command's entry holds only what
    /// `apply` then reads, which is all the backup replays. The default answers nothing this way: every command
    /// becomes an entry.
    func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool

    /// Timer-driven work (e.g. active expiry). The primary runs it as a log entry of its own, so
    /// the backup does the same work at the same point in the log; the backup never runs timers.
    mutating func tick(context: inout ApplyContext)

    /// `tick`, returning output for listening connections (Redis's keyspace notifications of keys the sweep expired):
    /// the primary withholds it like a reply, under `Reply.tickTag`, and the runtime releases it under the output
    /// rule, once the tick's entry is on the backup, as it releases a `.broadcast` reply (`carriesBroadcast`). A
    /// replayed tick runs `tick`, and its output goes nowhere. The default runs `tick` and returns nothing.
    mutating func tickWithOutput(context: inout ApplyContext) -> [UInt8]

    /// The state as it is now, frozen: later commands do not show in it. Costs time independent of the state's size.
    func snapshot() -> Snapshot

    /// A restorer that builds a machine with this (empty) instance's configuration from a snapshot's encoding.
    func makeRestorer() -> Restorer

    /// A hash of the state that does not depend on process or insertion order; equal states give
    /// equal digests on every machine. Shipped in the log so the backup can prove it has not diverged.
    func digest() -> UInt64

    /// Figures about the state for introspection (e.g. `keys`, `expires` for INFO's keyspace), in constant time:
    /// the loop reads them at most once a round. The default has none.
    var statistics: [String: UInt64] { get }
}

extension StateMachine {
    /// Every command is an entry.
    public func read(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool { false }

    /// No figures.
    public var statistics: [String: UInt64] { [:] }

    /// `tick`, with no output.
    public mutating func tickWithOutput(context: inout ApplyContext) -> [UInt8] {
        tick(context: &context)
        return []
    }
}

/// A frozen state, writing out its encoding a bounded chunk at a time (`StateMachine.snapshot()`).
public protocol StateSnapshot {
    /// Whether every byte of the encoding has been returned by `nextChunk`.
    var isFinished: Bool { get }
    /// The size of the whole encoding as estimated when the snapshot was taken; for progress reports only.
    var estimatedByteCount: Int { get }
    /// The next bytes of the encoding: at least one and at most `byteLimit` while not finished, in time proportional
    /// to the bytes returned. Chunk boundaries carry no meaning; the restorer must accept the encoding cut anywhere.
    mutating func nextChunk(byteLimit: Int) -> [UInt8]
}

/// Rebuilds a machine from a snapshot's encoding, fed in order as it arrives (`StateMachine.makeRestorer()`).
public protocol SnapshotRestorer {
    /// The machine being rebuilt.
    associatedtype Machine
    /// Takes the next bytes of the encoding, cut anywhere, in time proportional to `bytes` (and the records they
    /// complete); throws at the first sign that the encoding is corrupt.
    mutating func consume(_ bytes: [UInt8]) throws(SnapshotError)
    /// After the last bytes: the rebuilt machine, or an error if the encoding is incomplete or inconsistent.
    mutating func finish() throws(SnapshotError) -> Machine
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
