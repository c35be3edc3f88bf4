import Glibc

/// A failed system call, before the arbiter decides what it means (missing, read-only, corrupt, I/O).
///
/// The same `errno` means different things depending on what we were doing: `EACCES` while listing means
/// "unreadable", while creating a file it means "read-only". So the wrappers below report the raw failure and
/// the arbiter's operations translate it once, with `ArbiterError(_:while:in:)`.
struct SystemCallFailure: Error, Equatable {
    var call: String
    var path: String
    var errno: Int32
}

/// A test's stand-in for the file system failing: given a call's name and path, the `errno` to fail it with.
///
/// Tests may run as root, where permission bits do not stop anything, so "read-only" and "unreadable" are
/// proven by failing the call here instead. `nil` lets the real call run.
typealias SystemCallFault = @Sendable (_ call: String, _ path: String) -> Int32?

/// What the arbiter was doing when a call failed; decides which `ArbiterError` the failure becomes.
enum ArbiterIntent {
    /// Listing the directory: `opendir`, `readdir`.
    case listing
    /// Reading a record that the listing found.
    case readingRecord
    /// Creating, linking, renaming or syncing files in the directory.
    case writing
}

extension ArbiterError {
    /// Translates a failed call into the arbiter's vocabulary; `directory` is the arbiter's directory.
    init(_ failure: SystemCallFailure, while intent: ArbiterIntent, in directory: String) {
        let reason = String(cString: strerror(failure.errno))
        switch (failure.errno, intent) {
        case (ENOENT, .listing):
            self = .directoryMissing(path: directory)
        case (ENOENT, .writing) where failure.call == "open" || failure.call == "mkdir":
            // Creating a name fails this way only when its directory is gone. From `link` or `rename` it means
            // a file vanished mid-operation, which the default case reports as it is.
            self = .directoryMissing(path: directory)
        case (ENOTDIR, .listing), (ENOTDIR, .writing):
            self = .unreadable(path: directory, reason: "not a directory")
        case (EACCES, .listing), (EPERM, .listing), (EACCES, .readingRecord), (EPERM, .readingRecord):
            self = .unreadable(path: failure.path, reason: reason)
        case (EISDIR, .readingRecord):
            self = .corruptRecord(path: failure.path, reason: "a directory, not a record")
        case (EROFS, .writing), (EACCES, .writing):
            self = .readOnly(path: directory)
        case (EPERM, .writing) where failure.call != "link":
            // From `link`, EPERM means the file system has no hard links: the scheme cannot work there at all.
            self = .readOnly(path: directory)
        default:
            self = .ioFailed(call: failure.call, path: failure.path, errno: failure.errno)
        }
    }
}

extension DirectoryArbiter {
    /// The one funnel for calls that return -1 on failure: retries `EINTR`, reads `errno` at once.
    @inline(never)  // read errno before anything else can overwrite it
    func systemCall<R: FixedWidthInteger>(
        _ call: StaticString, _ path: String, _ body: () -> R
    ) throws(SystemCallFailure) -> R {
        if let code = fault?(call.description, path) {
            throw SystemCallFailure(call: call.description, path: path, errno: code)
        }
        while true {
            let result = body(), code = errno
            if result != -1 { return result }
            if code != EINTR { throw SystemCallFailure(call: call.description, path: path, errno: code) }
        }
    }

    /// `close` is never retried: on Linux the descriptor is gone even when it reports `EINTR`.
    ///
    /// Its result still matters, as on NFS `close` is where a failed write may first be reported.
    @inline(never)
    func closeOnce(_ descriptor: CInt, _ path: String) throws(SystemCallFailure) {
        if let code = fault?("close", path) {
            _ = close(descriptor)
            throw SystemCallFailure(call: "close", path: path, errno: code)
        }
        let result = close(descriptor), code = errno
        if result == -1, code != EINTR { throw SystemCallFailure(call: "close", path: path, errno: code) }
    }

    /// Opens a file; `flags` must include `O_CLOEXEC` so a spawned child never inherits it.
    func openFile(_ path: String, _ flags: CInt, mode: mode_t = 0) throws(SystemCallFailure) -> CInt {
        precondition(flags & O_CLOEXEC != 0, "arbiter descriptors must not leak into children")
        return try systemCall("open", path) { open(path, flags, mode) }
    }

    /// Reads a whole file of at most `limit` bytes; returns `limit + 1` bytes when it is longer.
    func readFile(_ path: String, limit: Int) throws(SystemCallFailure) -> [UInt8] {
        let descriptor = try openFile(path, O_RDONLY | O_CLOEXEC)
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: limit + 1)
        do {
            while bytes.count <= limit {
                let wanted = limit + 1 - bytes.count
                // withUnsafeMutableBytes only rethrows untyped errors, so the typed one travels in a Result.
                let count = try chunk.withUnsafeMutableBytes { buffer in
                    Result { () throws(SystemCallFailure) in
                        try systemCall("read", path) { read(descriptor, buffer.baseAddress, wanted) }
                    }
                }.get()
                if count == 0 { break }
                bytes += chunk[..<count]
            }
        } catch {
            _ = close(descriptor)  // already failing with the read's error, which says more than close's
            throw error
        }
        try closeOnce(descriptor, path)
        return bytes
    }

    /// Writes every byte, however the kernel splits the writes.
    func writeAll(_ descriptor: CInt, _ bytes: [UInt8], _ path: String) throws(SystemCallFailure) {
        var written = 0
        while written < bytes.count {
            // withUnsafeBytes only rethrows untyped errors, so the typed one travels in a Result.
            let count = try bytes.withUnsafeBytes { buffer in
                Result { () throws(SystemCallFailure) in
                    try systemCall("write", path) {
                        write(descriptor, buffer.baseAddress! + written, buffer.count - written)
                    }
                }
            }.get()
            // A regular file never accepts zero bytes of a non-empty write; treat it as the I/O error it is.
            if count == 0 { throw SystemCallFailure(call: "write", path: path, errno: EIO) }
            written += count
        }
    }

    /// Makes a directory's entries durable: a new name is only safe once its directory is synced.
    func syncDirectory(_ path: String) throws(SystemCallFailure) {
        let descriptor = try openFile(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        do {
            _ = try systemCall("fsync", path) { fsync(descriptor) }
        } catch where error.errno == EINVAL {
            // Some file systems (several FUSE ones) cannot sync a directory; their entries are as durable
            // as they will ever be, and refusing would make the arbiter unusable there.
        } catch {
            _ = close(descriptor)  // already failing with fsync's error
            throw error
        }
        try closeOnce(descriptor, path)
    }

    /// Every name in directory `path` except `.` and `..`, in the order the file system gives them.
    func listNames(_ path: String) throws(SystemCallFailure) -> [String] {
        if let code = fault?("opendir", path) { throw SystemCallFailure(call: "opendir", path: path, errno: code) }
        var opened: OpaquePointer?
        while true {
            opened = opendir(path)
            let code = errno
            if opened != nil { break }
            if code != EINTR { throw SystemCallFailure(call: "opendir", path: path, errno: code) }
        }
        let stream = opened!
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            // readdir signals both the end and an error with nil; only errno tells them apart.
            errno = 0
            let entry = readdir(stream), code = errno
            guard let entry else {
                if code == 0 { break }
                throw SystemCallFailure(call: "readdir", path: path, errno: code)
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// `stat` of a path, following symbolic links.
    func status(_ path: String) throws(SystemCallFailure) -> stat {
        var result = stat()
        _ = try systemCall("stat", path) { stat(path, &result) }
        return result
    }

    /// Wall-clock milliseconds since the Unix epoch, for records and names meant for people.
    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }
}
