import LogChannel
import Replication

/// A checkpoint on its way to a joining backup: the frozen snapshot, what of it went out, what the backup installed.
///
/// The primary keeps it while the link syncs and sends a window of chunks ahead of the backup's acks, so a checkpoint
/// of any size costs each event at most a window of chunks and the send buffer at most a window of bytes; log
/// entries, heartbeats and client work go on between them (DESIGN, re-protection).
struct CheckpointTransfer<Snapshot: StateSnapshot> {
    /// The frozen state; dropped once its last chunk is out, freeing what it pinned.
    private var snapshot: Snapshot?
    /// The checkpoint is the state after this entry.
    let sequence: UInt64
    /// The encoding's size as estimated when the snapshot was taken, for progress reports here and, sent with every
    /// chunk, on the backup.
    let estimatedBytes: Int
    /// When the first chunk went out.
    let startedAt: Instant
    /// Chunks sent; the next one has this index.
    private(set) var sentChunks: UInt32 = 0
    /// Chunks the backup acked as installed, cumulatively.
    private(set) var installedChunks: UInt32 = 0
    /// Bytes of the encoding sent.
    private(set) var sentBytes = 0
    /// When the latest chunk went out: the end of the span a rate is measured over.
    private(set) var lastSentAt: Instant
    /// When progress was last logged.
    var lastNoteAt: Instant

    /// A transfer of `snapshot`, the state after entry `sequence`, starting at `now`.
    init(_ snapshot: Snapshot, sequence: UInt64, at now: Instant) {
        self.snapshot = snapshot
        self.sequence = sequence
        self.estimatedBytes = max(0, snapshot.estimatedByteCount)  // an estimate, so a negative one is just wrong
        self.startedAt = now
        self.lastSentAt = now
        self.lastNoteAt = now
    }

    /// Whether every chunk has gone out.
    var isSent: Bool { snapshot == nil }
    /// Whether the backup has installed every chunk.
    var isInstalled: Bool { isSent && installedChunks == sentChunks }

    /// The chunks the window allows now, as frames for `epoch`: while fewer than `windowChunks` are unacked and the
    /// snapshot has more. The first call always yields a chunk, empty if the encoding is, so the backup learns the
    /// checkpoint's sequence and gets a last chunk to finish on.
    mutating func nextFrames(epoch: UInt64, limits: PrimaryLimits, at now: Instant) -> [Frame] {
        var frames: [Frame] = []
        while var pending = snapshot, Int(sentChunks - installedChunks) < limits.checkpointWindowChunks {
            snapshot = nil  // moved out and back, so taking a chunk never copies the snapshot's storage
            let bytes = pending.isFinished ? [] : pending.nextChunk(byteLimit: limits.checkpointChunkBytes)
            let isLast = pending.isFinished
            precondition(isLast || sentChunks < UInt32.max, "a checkpoint of more chunks than a chunk index counts")
            frames.append(
                .checkpoint(
                    epoch: epoch, sequence: sequence, chunkIndex: sentChunks, isLast: isLast,
                    estimatedBytes: UInt64(estimatedBytes), bytes: bytes))
            sentChunks += 1
            sentBytes += bytes.count
            if !isLast { snapshot = consume pending }
        }
        if !frames.isEmpty { lastSentAt = now }
        return frames
    }

    /// The backup acked every chunk through `chunkIndex` as installed; false if it acked one never sent.
    mutating func acked(through chunkIndex: UInt32) -> Bool {
        guard chunkIndex < sentChunks else { return false }
        installedChunks = max(installedChunks, chunkIndex + 1)
        return true
    }

    /// What has gone out so far, for the log and `NodeStatus`.
    var progress: CheckpointProgress {
        CheckpointProgress(
            direction: .sending, sequence: sequence, bytes: sentBytes, chunks: Int(sentChunks),
            estimatedBytes: estimatedBytes, elapsed: lastSentAt.since(startedAt))
    }
}
