import Glibc
import Posix
import Replication

/// Why a durable file could not be read or written.
///
/// Every case names the path involved. `diskFull` is its own case because it is the one failure that goes away by
/// itself: the runtime answers data commands with `-MISCONF` while it lasts and resumes once a write succeeds again.
/// The corruption cases are refusals: a damaged record before the tail of the log, a bad snapshot or marker is
/// never skipped silently (a torn tail is not an error but a `DurabilityNote`).
public indirect enum DurabilityError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Something other than a directory has the data directory's name (or one of its folders' names).
    case notADirectory(path: String)
    /// The file system refused the call: permissions, a read-only mount (`EACCES`, `EPERM`, `EROFS`).
    case permissionDenied(path: String, call: String, errno: Int32)
    /// Another open of the data directory holds its lock: two nodes must never share one directory.
    case locked(path: String, holderPID: Int32?)
    /// No room left: the file system is full, the quota spent, or the file-size limit reached (`ENOSPC`, `EDQUOT`,
    /// `EFBIG`).
    case diskFull(path: String, call: String, errno: Int32)
    /// Any other failed call, with its `errno`.
    case ioFailed(path: String, call: String, errno: Int32)
    /// A log record before the tail is damaged, at `offset` bytes into the segment `path`.
    case corruptLog(path: String, offset: Int, damage: Damage)
    /// The log skips or repeats sequences: `found` where `expected` should be, in segment `path`.
    case sequenceGap(path: String, expected: UInt64, found: UInt64)
    /// A snapshot file is damaged or not a snapshot.
    case corruptSnapshot(path: String, damage: Damage)
    /// A marker file is damaged or not a marker.
    case corruptMarker(path: String, damage: Damage)
    /// An entry's encoding is larger than one log record may hold.
    case entryTooLarge(path: String, byteCount: Int, limit: Int)
    /// A sync failed earlier, so what the kernel holds unsynced can no longer be trusted to reach the disk (after
    /// a failed `fsync` Linux may drop the dirty pages and report the next one clean); the writer refuses all work
    /// until it is reopened from what the disk holds.
    case writerBroken(path: String, cause: DurabilityError)
    /// A log record whose CRC holds did not replay over the state before it: the files are not what this node wrote.
    case replayFailed(path: String, sequence: UInt64, reason: String)

    /// What is wrong inside a damaged file.
    public enum Damage: Error, Equatable, Sendable, CustomStringConvertible {
        /// The file does not start with this format's magic bytes.
        case badMagic
        /// The file's format version is one this build cannot read.
        case unsupportedVersion(UInt32)
        /// The file ends after `available` bytes of a structure that needs `needed`.
        case truncated(needed: Int, available: Int)
        /// A record declares a length outside `1...limit` (zero where a tail was zero-filled).
        case lengthOutOfBounds(declared: Int, limit: Int)
        /// The CRC32C stored with the bytes does not match them.
        case checksumMismatch
        /// A record's epoch is lower than the record before it.
        case epochRegressed(from: UInt64, to: UInt64)
        /// The record's checksum holds but its entry does not decode.
        case undecodableEntry(LogEntryError)
        /// The header disagrees with the file's name (a renamed or copied file).
        case nameMismatch
        /// The header's byte count disagrees with the file's size.
        case byteCountMismatch(declared: Int, actual: Int)
        /// The state machine's restorer rejected the snapshot's bytes although their checksum holds.
        case restoreRejected(SnapshotError)
        /// A marker holds a kind this build does not know, or not the one its name promises.
        case unknownKind(UInt8)

        /// A phrase for the error's description.
        public var description: String {
            switch self {
            case .badMagic: "not this format (bad magic bytes)"
            case .unsupportedVersion(let version): "format version \(version), which this build cannot read"
            case .truncated(let needed, let available): "truncated: needs \(needed) bytes, has \(available)"
            case .lengthOutOfBounds(let declared, let limit): "record length \(declared) outside 1...\(limit)"
            case .checksumMismatch: "CRC32C mismatch"
            case .epochRegressed(let from, let to): "epoch goes back from \(from) to \(to)"
            case .undecodableEntry(let error): "entry does not decode (\(error))"
            case .nameMismatch: "header disagrees with the file name"
            case .byteCountMismatch(let declared, let actual): "declares \(declared) bytes, holds \(actual)"
            case .restoreRejected(let error): "the state machine rejected it (\(error.reason))"
            case .unknownKind(let kind): "unknown or unexpected kind \(kind)"
            }
        }
    }

    /// A stable snake_case name for this kind of error, for counters and metrics (the description is for people).
    public var code: String {
        switch self {
        case .notADirectory: "not_a_directory"
        case .permissionDenied: "permission_denied"
        case .locked: "locked"
        case .diskFull: "disk_full"
        case .ioFailed: "io_failed"
        case .corruptLog: "corrupt_log"
        case .sequenceGap: "sequence_gap"
        case .corruptSnapshot: "corrupt_snapshot"
        case .corruptMarker: "corrupt_marker"
        case .entryTooLarge: "entry_too_large"
        case .writerBroken: "writer_broken"
        case .replayFailed: "replay_failed"
        }
    }

    /// Whether this is the failure that ends once space is freed (also under a broken writer).
    public var isDiskFull: Bool {
        switch self {
        case .diskFull: true
        case .writerBroken(_, let cause): cause.isDiskFull
        default: false
        }
    }

    /// One sentence for the log: what failed, on which path, and what follows.
    public var description: String {
        switch self {
        case .notADirectory(let path):
            "data directory \(path) is not a directory; the node cannot keep durable state there"
        case .permissionDenied(let path, let call, let errno):
            "\(call) \(path) was refused (\(Self.errnoText(errno))); check the data directory's owner, "
                + "permissions and mount"
        case .locked(let path, let holderPID):
            "data directory \(path) is in use by "
                + (holderPID.map { "process \($0)" } ?? "another process")
                + "; two nodes must never share one data directory"
        case .diskFull(let path, let call, let errno):
            "\(call) \(path) failed: no space (\(Self.errnoText(errno))); writes resume once space is freed"
        case .ioFailed(let path, let call, let errno):
            "\(call) \(path) failed (\(Self.errnoText(errno)))"
        case .corruptLog(let path, let offset, let damage):
            "log segment \(path) is corrupt at byte \(offset) before its tail (\(damage)); refusing to start "
                + "rather than skip entries"
        case .sequenceGap(let path, let expected, let found):
            "log segment \(path) holds sequence \(found) where \(expected) should follow; refusing to start "
                + "rather than skip entries"
        case .corruptSnapshot(let path, let damage):
            "snapshot \(path) is corrupt (\(damage)); it cannot be restored"
        case .corruptMarker(let path, let damage):
            "marker \(path) is corrupt (\(damage)); what it recorded is unknown"
        case .entryTooLarge(let path, let byteCount, let limit):
            "an entry of \(byteCount) bytes exceeds the log record limit of \(limit) bytes in \(path)"
        case .writerBroken(let path, let cause):
            "the log writer in \(path) stopped after a failed sync (\(cause)); reopen it from what the disk holds"
        case .replayFailed(let path, let sequence, let reason):
            "entry \(sequence) in \(path) does not replay over the state before it (\(reason)); refusing to start "
                + "rather than serve a state this node never had"
        }
    }

    /// `EFBIG: File too large`.
    private static func errnoText(_ code: Int32) -> String {
        let name = SystemError(call: "", errno: code).errnoName
        guard let text = strerror(code) else { return name }
        return "\(name): \(String(cString: text))"
    }
}

/// A note from opening or recovering durable state: something repaired on the way, for one log line each.
public enum DurabilityNote: Equatable, Sendable, CustomStringConvertible {
    /// The last segment's tail did not hold whole valid records: the file was cut at `offset`, dropping
    /// `droppedBytes` bytes (a write torn by a crash, or never synced).
    case tornTailTruncated(path: String, offset: Int, droppedBytes: Int, damage: DurabilityError.Damage)
    /// The last segment had no valid header (a crash while it was being created) and was removed.
    case tornSegmentRemoved(path: String, droppedBytes: Int)
    /// A temporary file left by an interrupted write was removed.
    case temporaryFileRemoved(path: String)
    /// Records after `afterSequence`, written but never synced, were cut from (or removed with) segment `path`.
    case unsyncedTailDiscarded(path: String, afterSequence: UInt64, droppedBytes: Int)

    /// One sentence for the log.
    public var description: String {
        switch self {
        case .tornTailTruncated(let path, let offset, let droppedBytes, let damage):
            "log segment \(path) had a torn tail (\(damage)); truncated to byte \(offset), dropping \(droppedBytes) "
                + "bytes after the last valid entry"
        case .tornSegmentRemoved(let path, let droppedBytes):
            "log segment \(path) was torn while being created; removed it (\(droppedBytes) bytes)"
        case .temporaryFileRemoved(let path):
            "removed \(path), left by an interrupted write"
        case .unsyncedTailDiscarded(let path, let afterSequence, let droppedBytes):
            "discarded \(droppedBytes) bytes of log segment \(path) after sequence \(afterSequence), never synced"
        }
    }
}
