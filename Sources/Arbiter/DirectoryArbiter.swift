import Glibc

/// The arbiter on a shared directory: one file per taken epoch, created with an atomic, exclusive `link`.
///
/// **Scheme.** To take epoch `e`, a node writes its record to a temporary file of its own in the directory
/// (`tmp-<node>-<pid>-<random>`), fsyncs it, and hard-links it to `epoch-<e as 20 digits>`. `link` never
/// replaces an existing name, so of any number of racing nodes exactly one creates the name: it is granted `e`.
/// Every other node gets `EEXIST`, reads the winner's record and answers `.lost(to:)`. The winner then removes
/// its temporary name and fsyncs the directory so the new name survives a crash. The record is complete before
/// its name exists, so a reader never sees a half-written record from a live writer (see
/// `EpochRecord+TextFormat.swift` for the format and its checksum).
///
/// **Epochs only go up.** Before linking, a take of an epoch at or below the highest taken one is refused with
/// `.lost(to: highest)`. After linking, the directory is listed again: if a higher epoch appeared in between,
/// the take answers `.lost(to:)` that record (its own record stays, naming a node that never went live). So a
/// `.granted(e)` means `e` was the highest epoch when it was taken, and a node that once saw epoch `e` taken
/// can never be granted anything at or below it.
///
/// **Unknown is never free.** A file named for an epoch that does not hold a valid record for that epoch is
/// `corruptRecord`: that epoch counts as taken by an unknown node. `take` of it cannot succeed (its name
/// exists) and `current()` throws rather than guess. Every other failure is a typed error, which callers treat
/// as "nobody goes live".
///
/// **Assumptions.** The directory is on one file system that supports hard links and makes `link` atomic and
/// exclusive: local file systems and NFS do (this is the classic NFS-safe lock), some FUSE and object-store
/// mounts do not. On NFS a `link` whose reply was lost can report an error after it succeeded, so after any
/// failed `link` the temporary file's link count decides (2 means the link is ours), as the NFS literature
/// recommends. Listings must show a name once its `link` has returned, which local file systems and NFS with
/// close-to-open consistency do. Clocks only label records for people; no decision reads them, except the
/// removal of temporary files abandoned for more than `staleTemporaryAge`.
///
/// Names in the directory other than `epoch-<20 digits>` are ignored, so operators may keep notes there.
public struct DirectoryArbiter: Arbiter {
    /// The shared directory, without a trailing slash.
    public let directory: String

    /// Lets a test fail chosen system calls; `nil` outside tests.
    let fault: SystemCallFault?

    /// How long a temporary file may sit before a later `take` removes it.
    ///
    /// A take holds its temporary file for milliseconds. One older than this belongs to a node that died
    /// mid-take; removing it keeps the directory from filling up over years of failovers. Should a node be
    /// frozen that long mid-take, its `link` fails and it gets an error, never a wrong grant.
    static let staleTemporaryAge: Duration = .seconds(60)

    /// At most this many abandoned temporary files are removed per `take`, so cleanup never delays a take much.
    static let staleTemporaryRemovalsLimit = 16

    /// At most this many names are tried for the `retired-` folder when `reset()` finds the first one used.
    static let retiredFolderAttemptsLimit = 16

    static let epochFilePrefix = "epoch-"
    static let epochDigitsCount = 20
    static let temporaryFilePrefix = "tmp-"
    static let retiredFolderPrefix = "retired-"

    /// Creates an arbiter on the shared `directory`; trailing slashes are dropped and nothing is touched on disk yet.
    public init(directory: String) {
        self.init(directory: directory, fault: nil)
    }

    init(directory: String, fault: SystemCallFault?) {
        var trimmed = directory
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
        self.directory = trimmed
        self.fault = fault
    }

    /// Reads the record of the highest epoch file in the directory; `nil` when there is none.
    ///
    /// A corrupt highest record throws `corruptRecord` rather than falling back to a lower one, since its epoch
    /// counts as taken.
    public func current() throws(ArbiterError) -> EpochRecord? {
        guard let highest = try listing().epochs.last else { return nil }
        return try record(ofEpoch: highest)
    }

    /// Tries to take `epoch` for `claim` by linking a synced record to the epoch's name (see the type's scheme).
    ///
    /// Granted only if the link created the name, the directory sync succeeded and no higher epoch appeared
    /// meanwhile; `epoch` must be at least 1.
    public func take(epoch: UInt64, for claim: Claim) throws(ArbiterError) -> TakeResult {
        precondition(epoch >= 1, "epochs count up from 1")
        let before = try listing()
        removeStaleTemporaryFiles(before.temporaryNames)
        if let highest = before.epochs.last, highest >= epoch {
            return .lost(to: try record(ofEpoch: highest))
        }

        let record = EpochRecord(
            epoch: epoch, claim: claim, takenAtMilliseconds: Self.wallClockMilliseconds())
        let temporaryPath = try writeTemporaryFile(record)
        let isLinked: Bool
        do {
            isLinked = try link(temporaryPath, to: path(ofEpoch: epoch))
        } catch {
            // Unneeded either way; should removal fail, a later take removes it once it is stale.
            _ = try? systemCall("unlink", temporaryPath) { unlink(temporaryPath) }
            throw ArbiterError(error, while: .writing, in: directory)
        }
        // Same as above: a leftover temporary file is harmless and removed once stale.
        _ = try? systemCall("unlink", temporaryPath) { unlink(temporaryPath) }
        guard isLinked else { return .lost(to: try self.record(ofEpoch: epoch)) }

        do {
            try syncDirectory(directory)
        } catch {
            // The name exists but might not survive a crash, so nobody may go live on it. The epoch stays
            // taken (in our name), and the caller moves on to a higher one.
            throw ArbiterError(error, while: .writing, in: directory)
        }
        if let highest = try listing().epochs.last, highest > epoch {
            return .lost(to: try self.record(ofEpoch: highest))
        }
        return .granted(record)
    }

    /// Moves every epoch record into a new folder `retired-<unix ms>/`, so the next cluster starts at epoch 1.
    ///
    /// This is the operator's "start a brand-new cluster over an old arbiter directory" and nothing else uses
    /// it. **Run it only when no node of the old cluster is running:** a live primary would keep its epoch
    /// while a new node takes epoch 1 again, and two primaries would exist. Nothing is deleted, so the old
    /// records (including corrupt ones, which this is also the fix for) stay available to read. Records move
    /// lowest epoch first, so if the reset is interrupted the directory still shows the old highest epoch and
    /// running it again finishes the job.
    ///
    /// - Returns: the folder the records went to, or `nil` when there were none to move.
    @discardableResult
    public func reset() throws(ArbiterError) -> String? {
        let epochs = try listing().epochs
        guard !epochs.isEmpty else { return nil }
        let retiredPath = try makeRetiredFolder()
        for epoch in epochs {
            let name = Self.fileName(ofEpoch: epoch)
            let source = path(ofEpoch: epoch), destination = retiredPath + "/" + name
            do {
                _ = try systemCall("rename", source) { rename(source, destination) }
            } catch {
                throw ArbiterError(error, while: .writing, in: directory)
            }
        }
        do {
            try syncDirectory(retiredPath)
            try syncDirectory(directory)
        } catch {
            throw ArbiterError(error, while: .writing, in: directory)
        }
        return retiredPath
    }
}

extension DirectoryArbiter {
    /// What a directory listing tells the arbiter.
    struct Listing {
        /// Epochs with a file, ascending.
        var epochs: [UInt64]
        /// Names that look like our temporary files, possibly abandoned.
        var temporaryNames: [String]
    }

    static func fileName(ofEpoch epoch: UInt64) -> String {
        let digits = String(epoch)
        return epochFilePrefix + String(repeating: "0", count: epochDigitsCount - digits.count) + digits
    }

    func path(ofEpoch epoch: UInt64) -> String {
        directory + "/" + Self.fileName(ofEpoch: epoch)
    }

    /// Lists the directory; a name shaped like an epoch file whose number does not fit is a corrupt record.
    func listing() throws(ArbiterError) -> Listing {
        let names: [String]
        do {
            names = try listNames(directory)
        } catch {
            throw ArbiterError(error, while: .listing, in: directory)
        }
        var result = Listing(epochs: [], temporaryNames: [])
        for name in names {
            if name.hasPrefix(Self.temporaryFilePrefix) {
                result.temporaryNames.append(name)
                continue
            }
            guard name.hasPrefix(Self.epochFilePrefix) else { continue }
            let digits = name.utf8.dropFirst(Self.epochFilePrefix.utf8.count)
            guard digits.count == Self.epochDigitsCount,
                digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
            else { continue }
            guard let epoch = UInt64(Substring(digits)) else {
                throw .corruptRecord(path: directory + "/" + name, reason: "epoch number out of range")
            }
            result.epochs.append(epoch)
        }
        result.epochs.sort()
        return result
    }

    /// Reads and verifies the record of `epoch`, which a listing has shown to exist.
    func record(ofEpoch epoch: UInt64) throws(ArbiterError) -> EpochRecord {
        let path = path(ofEpoch: epoch)
        let bytes: [UInt8]
        do {
            bytes = try readFile(path, limit: EpochRecord.textBytesLimit)
        } catch {
            throw ArbiterError(error, while: .readingRecord, in: directory)
        }
        let record: EpochRecord
        do {
            record = try EpochRecord.decoded(fromText: bytes)
        } catch {
            throw .corruptRecord(path: path, reason: error.reason)
        }
        guard record.epoch == epoch else {
            throw .corruptRecord(path: path, reason: "holds epoch \(record.epoch) under the name of epoch \(epoch)")
        }
        return record
    }

    /// Writes `record` to a new, synced temporary file in the directory and returns its path.
    func writeTemporaryFile(_ record: EpochRecord) throws(ArbiterError) -> String {
        let path = directory + "/" + Self.temporaryFileName(for: record.claim.nodeName)
        let descriptor: CInt
        do {
            descriptor = try openFile(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: 0o644)
        } catch {
            throw ArbiterError(error, while: .writing, in: directory)
        }
        do {
            try writeAll(descriptor, record.encodedText(), path)
            _ = try systemCall("fsync", path) { fsync(descriptor) }
        } catch {
            _ = close(descriptor)  // already failing with the write's error
            // A partial temporary file is harmless and removed once stale, should this removal fail.
            _ = try? systemCall("unlink", path) { unlink(path) }
            throw ArbiterError(error, while: .writing, in: directory)
        }
        do {
            try closeOnce(descriptor, path)
        } catch {
            // Same as above.
            _ = try? systemCall("unlink", path) { unlink(path) }
            throw ArbiterError(error, while: .writing, in: directory)
        }
        return path
    }

    /// A temporary name no other take can pick: node, process and 64 random bits.
    ///
    /// The node name is reduced to safe characters and shortened; it is only there to tell people whose it is.
    static func temporaryFileName(for nodeName: String) -> String {
        let safe = nodeName.unicodeScalars.prefix(32).map { scalar -> String in
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar)
                || scalar == "-" || scalar == "." || scalar == "_") ? String(scalar) : "_"
        }.joined()
        let random = String(UInt64.random(in: .min ... .max), radix: 16)
        return temporaryFilePrefix + safe + "-" + String(getpid()) + "-" + random
    }

    /// Links `temporaryPath` to `targetPath`; `true` if the name is now ours, `false` if it already existed.
    func link(_ temporaryPath: String, to targetPath: String) throws(SystemCallFailure) -> Bool {
        do {
            _ = try systemCall("link", targetPath) { Glibc.link(temporaryPath, targetPath) }
            return true
        } catch {
            // On NFS a retransmitted link whose first reply was lost reports EEXIST (or another error) although
            // the link happened. Our temporary file has a second name exactly when the link is ours.
            if let linkedTemporary = try? status(temporaryPath), linkedTemporary.st_nlink == 2 {
                return true
            }
            if error.errno == EEXIST { return false }
            throw error
        }
    }

    /// Removes temporary files abandoned longer than `staleTemporaryAge`; best effort, never fails a take.
    func removeStaleTemporaryFiles(_ names: [String]) {
        let nowMilliseconds = Self.wallClockMilliseconds()
        let ageMilliseconds = Self.staleTemporaryAge.components.seconds * 1000
        for name in names.prefix(Self.staleTemporaryRemovalsLimit) {
            let path = directory + "/" + name
            // A file that vanished or cannot be examined is simply not removed now.
            guard let fileStatus = try? status(path) else { continue }
            let modifiedMilliseconds = Int64(fileStatus.st_mtim.tv_sec) * 1000
                + Int64(fileStatus.st_mtim.tv_nsec) / 1_000_000
            if nowMilliseconds - modifiedMilliseconds > ageMilliseconds {
                // Failing to remove leaves one harmless file; the next take tries again.
                _ = try? systemCall("unlink", path) { unlink(path) }
            }
        }
    }

    /// Creates the folder `reset()` moves records into, named after the current wall-clock time.
    func makeRetiredFolder() throws(ArbiterError) -> String {
        let milliseconds = Self.wallClockMilliseconds()
        for attempt in 0..<Self.retiredFolderAttemptsLimit {
            let suffix = attempt == 0 ? "" : "-\(attempt)"
            let path = directory + "/" + Self.retiredFolderPrefix + String(milliseconds) + suffix
            do {
                _ = try systemCall("mkdir", path) { mkdir(path, 0o755) }
                return path
            } catch where error.errno == EEXIST {
                continue
            } catch {
                throw ArbiterError(error, while: .writing, in: directory)
            }
        }
        throw .ioFailed(
            call: "mkdir", path: directory + "/" + Self.retiredFolderPrefix + String(milliseconds), errno: EEXIST)
    }
}
