import Glibc
import Posix

/// A node's data directory: its durable log, snapshots and markers, held by one process at a time.
///
/// **Layout.** `DIR/lock` (the lock file, holding the holder's pid for the error a second opener gets),
/// `DIR/log/segment-<first sequence, 20 digits>.log` (`LogWriter`), `DIR/snapshots/snapshot-<epoch>-<sequence>.snap`
/// (`SnapshotWriter`), `DIR/markers/<name>` (`DurableMarkers`). Each folder is created if missing (mode 0700).
///
/// **One node per directory.** Opening takes an exclusive `flock` on `DIR/lock` without waiting; a second open,
/// from another process or this one, gets `.locked` naming the holder's pid. The kernel drops the lock when its
/// descriptor closes, which happens when this object is released or the process dies (even by SIGKILL), so a
/// crashed node never leaves a stale lock behind. Two nodes sharing one directory would interleave their logs,
/// which no recovery could untangle.
///
/// **Leftovers.** A crash during an atomic replace (a snapshot, a marker) leaves a `*.tmp` file; opening removes
/// them, after which the previous complete file is what counts. Each removal is reported in `notes`.
///
/// Plain blocking calls and no global state: the runtime opens it on a helper thread, never the event loop.
public final class DataDirectory: Sendable {
    /// The directory, without a trailing slash.
    public let path: String
    /// What opening repaired (temporary files removed), for one log line each.
    public let notes: [DurabilityNote]
    /// The folder of log segments.
    public var logPath: String { path + "/log" }
    /// The folder of snapshot files.
    public var snapshotsPath: String { path + "/snapshots" }
    /// The folder of marker files.
    public var markersPath: String { path + "/markers" }

    /// The lock file's descriptor; closing it (on release) lets the next node in.
    private let lockFile: FileDescriptor
    let disk: Disk

    /// The suffix of a file being written that is not yet in place.
    static let temporarySuffix = ".tmp"
    /// How long opening waits for a lock held elsewhere before it reports `.locked`.
    static let lockWaitLimit: Duration = .milliseconds(500)
    /// Bytes read of the lock file for the holder's pid: a pid and a newline.
    static let lockFileBytesLimit = 32

    /// Opens (creating if missing) the data directory at `path` and takes its lock.
    public convenience init(path: String) throws(DurabilityError) {
        try self.init(path: path, fault: nil)
    }

    init(path: String, fault: DiskFault?) throws(DurabilityError) {
        var trimmed = path
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        let disk = Disk(fault: fault)
        try disk.makeDirectory(trimmed)
        let lockPath = trimmed + "/lock"
        let lockFile = try disk.open(lockPath, flags: O_RDWR | O_CREAT)
        do throws(DurabilityError) {
            // Tried for a moment before giving up: a child another thread of this process is spawning holds a copy
            // of every descriptor until its exec closes them (O_CLOEXEC), the lock's among them if it was just let go.
            var isLocked = false
            let deadline = monotonicNanoseconds() &+ UInt64(Self.lockWaitLimit.components.seconds) * 1_000_000_000
                &+ UInt64(Self.lockWaitLimit.components.attoseconds / 1_000_000_000)
            while true {
                isLocked = try disk.run("flock", lockPath) { () throws(SystemError) in
                    try lockFile.lockExclusivelyWithoutWaiting()
                }
                guard !isLocked, monotonicNanoseconds() < deadline else { break }
                usleep(10_000)
            }
            guard isLocked else {
                let holder = try? disk.read(Self.lockFileBytesLimit, at: 0, from: lockFile, lockPath)  // the pid is a courtesy
                let text = holder.map { String(decoding: $0, as: UTF8.self) } ?? ""
                throw DurabilityError.locked(
                    path: trimmed, holderPID: Int32(text.split(separator: "\n").first ?? ""))
            }
            try disk.truncate(lockFile, toByteCount: 0, lockPath)
            try disk.write(Array("\(getpid())\n".utf8), at: 0, to: lockFile, lockPath)
            var notes: [DurabilityNote] = []
            for folder in ["/log", "/snapshots", "/markers"] {
                try disk.makeDirectory(trimmed + folder)
            }
            for folder in ["/snapshots", "/markers"] {
                notes += try Self.removeTemporaryFiles(in: trimmed + folder, disk)
            }
            self.path = trimmed
            self.lockFile = lockFile
            self.disk = disk
            self.notes = notes
        } catch {
            disk.closeQuietly(lockFile)
            throw error
        }
    }

    deinit {
        disk.closeQuietly(lockFile)
    }

    /// Removes every `*.tmp` in `folder`, then syncs it if anything went.
    private static func removeTemporaryFiles(in folder: String, _ disk: Disk) throws(DurabilityError) -> [DurabilityNote] {
        var notes: [DurabilityNote] = []
        for name in try disk.names(inDirectory: folder).sorted() where name.hasSuffix(temporarySuffix) {
            try disk.removeFile(folder + "/" + name)
            notes.append(.temporaryFileRemoved(path: folder + "/" + name))
        }
        if !notes.isEmpty { try disk.synchronizeDirectory(folder) }
        return notes
    }
}

/// Fixed-width decimal for file names, so names sort as their numbers do.
enum FileNumber {
    /// Digits of a `UInt64` in a file name: enough for its largest value.
    static let digitsCount = 20

    static func padded(_ value: UInt64) -> String {
        let digits = String(value)
        return String(repeating: "0", count: digitsCount - digits.count) + digits
    }

    /// The value of exactly `digitsCount` decimal digits, or nil.
    static func parse(_ text: Substring) -> UInt64? {
        guard text.count == digitsCount, text.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
        return UInt64(text)
    }
}
