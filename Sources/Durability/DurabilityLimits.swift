/// Every bound on durable files and the memory that reads and writes them, in one value checked at startup.
public struct DurabilityLimits: Sendable, Equatable {
    /// A segment is rolled before it would grow past this, so truncation behind a snapshot frees space in steps
    /// of this size; a segment holding a single larger record may exceed it by that record.
    public var segmentBytesLimit = 64 << 20
    /// Records appended but not yet handed to the kernel: `LogWriter.append` reports `false` past it, and the
    /// caller writes before appending more. Bounds one group commit's batch; a record larger than it is a batch of
    /// its own.
    public var pendingBytesLimit = 24 << 20
    /// One entry's encoding, at most: the runtime checks that any entry its client protocol can make fits
    /// (`RuntimeConfiguration.entryBytesLimit`); a declared length above it on disk can only be damage.
    public var recordBytesLimit = 1 << 30
    /// The read window of a log scan or reader; a record larger than the window is read into its own buffer.
    public var readBufferBytes = 1 << 20
    /// Bytes per read when streaming a snapshot file into a restorer, and per chunk asked of a snapshot.
    public var snapshotChunkBytes = 1 << 20

    /// The defaults.
    public init() {}

    /// Tiny bounds, so tests roll segments and split reads after a few records.
    public static let small: DurabilityLimits = {
        var limits = DurabilityLimits()
        limits.segmentBytesLimit = 512
        limits.pendingBytesLimit = 4 << 10
        limits.recordBytesLimit = 1 << 10
        limits.readBufferBytes = 64
        limits.snapshotChunkBytes = 100
        return limits
    }()

    /// These limits, or why they cannot work together.
    public func checked() throws(DurabilityLimitsError) -> DurabilityLimits {
        guard recordBytesLimit >= 3, recordBytesLimit <= Int(UInt32.max) else {
            throw DurabilityLimitsError("a record limit of \(recordBytesLimit) bytes (3 to 2^32-1)")
        }
        guard pendingBytesLimit >= LogFormat.recordHeaderBytes + 3 else {
            throw DurabilityLimitsError("pending bytes \(pendingBytesLimit) could not hold the smallest record")
        }
        guard segmentBytesLimit > LogFormat.segmentHeaderBytes + LogFormat.recordHeaderBytes else {
            throw DurabilityLimitsError("segments of \(segmentBytesLimit) bytes could not hold one record")
        }
        guard readBufferBytes >= LogFormat.recordHeaderBytes, snapshotChunkBytes >= 1 else {
            throw DurabilityLimitsError("read buffers of \(readBufferBytes) or chunks of \(snapshotChunkBytes) bytes")
        }
        return self
    }
}

/// Durability limits that cannot work together.
public struct DurabilityLimitsError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Which bound cannot work, and why.
    public var reason: String
    /// An error naming `reason`.
    public init(_ reason: String) { self.reason = reason }
    /// One sentence for the startup log: what is wrong, and that the node does not start.
    public var description: String { "invalid durability limits: \(reason); the node does not start" }
}
