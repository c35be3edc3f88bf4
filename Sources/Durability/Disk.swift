import Glibc
import Posix

/// A test's stand-in for the disk failing: given a call's name and path, the `errno` to fail it with; `nil` lets
/// the real call run. Tests run as root, where permission bits stop nothing, and a failing `fsync` cannot be
/// provoked on a healthy disk, so those paths are proven by failing the call here.
typealias DiskFault = @Sendable (_ call: String, _ path: String) -> Int32?

/// The one funnel from this module to the file system: every call passes here, is named with its path, and
/// turns a `SystemError` into a `DurabilityError` once.
struct Disk: Sendable {
    /// Fails chosen calls; `nil` outside tests.
    let fault: DiskFault?

    /// Runs `body` as the call `name` on `path`, or fails it as the test's fault says.
    func run<R>(_ name: StaticString, _ path: String, _ body: () throws(SystemError) -> R) throws(DurabilityError) -> R {
        if let code = fault?("\(name)", path) { throw DurabilityError(call: "\(name)", path: path, errno: code) }
        do {
            return try body()
        } catch {
            throw DurabilityError(call: error.call, path: path, errno: error.errno)
        }
    }

    func open(_ path: String, flags: CInt, permissions: mode_t = 0o600) throws(DurabilityError) -> FileDescriptor {
        try run("open", path) { () throws(SystemError) in
            try FileDescriptor.open(path, flags: flags, permissions: permissions)
        }
    }

    /// Writes all of `bytes` at `offset`, one `pwrite` at a time; `progress` learns each count written, so a
    /// caller can resume exactly where a failure stopped it.
    func write(
        _ bytes: UnsafeRawBufferPointer, at offset: Int, to file: FileDescriptor, _ path: String,
        progress: (Int) -> Void = { _ in }
    ) throws(DurabilityError) {
        var done = 0
        while done < bytes.count {
            let count = try run("pwrite", path) { () throws(SystemError) in
                try file.write(UnsafeRawBufferPointer(rebasing: bytes[done...]), at: offset + done)
            }
            // A regular file never takes zero bytes of a non-empty write; treat it as the I/O error it is.
            if count == 0 { throw DurabilityError.ioFailed(path: path, call: "pwrite", errno: EIO) }
            done += count
            progress(count)
        }
    }

    func write(_ bytes: [UInt8], at offset: Int, to file: FileDescriptor, _ path: String) throws(DurabilityError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(DurabilityError) in try write(buffer, at: offset, to: file, path) }
        }.get()
    }

    /// Reads exactly `count` bytes at `offset` unless the file ends first: fewer bytes then.
    func read(_ count: Int, at offset: Int, from file: FileDescriptor, _ path: String) throws(DurabilityError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = try bytes.withUnsafeMutableBytes { buffer in
                Result { () throws(DurabilityError) in
                    try run("pread", path) { () throws(SystemError) in
                        try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[done...]), at: offset + done)
                    }
                }
            }.get()
            if got == 0 { break }
            done += got
        }
        if done < count { bytes.removeLast(count - done) }
        return bytes
    }

    func synchronizeData(_ file: FileDescriptor, _ path: String) throws(DurabilityError) {
        try run("fdatasync", path) { () throws(SystemError) in try file.synchronizeData() }
    }

    func synchronize(_ file: FileDescriptor, _ path: String) throws(DurabilityError) {
        try run("fsync", path) { () throws(SystemError) in try file.synchronize() }
    }

    func synchronizeDirectory(_ path: String) throws(DurabilityError) {
        try run("fsync", path) { () throws(SystemError) in try FileSystem.synchronizeDirectory(path) }
    }

    func truncate(_ file: FileDescriptor, toByteCount byteCount: Int, _ path: String) throws(DurabilityError) {
        try run("ftruncate", path) { () throws(SystemError) in try file.truncate(toByteCount: byteCount) }
    }

    func byteCount(_ file: FileDescriptor, _ path: String) throws(DurabilityError) -> Int {
        try run("fstat", path) { () throws(SystemError) in try file.byteCount() }
    }

    func rename(_ source: String, to destination: String) throws(DurabilityError) {
        try run("rename", destination) { () throws(SystemError) in try FileSystem.rename(source, to: destination) }
    }

    func removeFile(_ path: String) throws(DurabilityError) {
        try run("unlink", path) { () throws(SystemError) in _ = try FileSystem.removeFile(path) }
    }

    func names(inDirectory path: String) throws(DurabilityError) -> [String] {
        try run("opendir", path) { () throws(SystemError) in try FileSystem.names(inDirectory: path) }
    }

    /// Creates the directory if missing and checks that the name is a directory.
    func makeDirectory(_ path: String) throws(DurabilityError) {
        _ = try run("mkdir", path) { () throws(SystemError) in try FileSystem.makeDirectory(path) }
        let isDirectory = try run("stat", path) { () throws(SystemError) in try FileSystem.isDirectory(path) }
        guard isDirectory == true else { throw .notADirectory(path: path) }
    }

    /// Closes a descriptor that was only read, whose data is already synced, or whose file is being thrown away:
    /// a failing `close` could report only a lost write, and none of these has one left to lose.
    func closeQuietly(_ file: FileDescriptor) {
        try? file.close()  // see above: nothing unsynced that matters rides on it
    }

    /// Writes `bytes` as the whole new content of `path`, atomically: a temporary file beside it, synced, renamed
    /// over the name, and the directory synced. A crash leaves the old content or the new, never a mix.
    func replaceAtomically(_ path: String, with bytes: [UInt8], inDirectory directory: String) throws(DurabilityError) {
        let temporary = path + DataDirectory.temporarySuffix
        let file = try open(temporary, flags: O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try write(bytes, at: 0, to: file, temporary)
            try synchronize(file, temporary)
        } catch {
            closeQuietly(file)
            try? removeFile(temporary)  // already failing; a leftover is removed at the next open
            throw error
        }
        closeQuietly(file)
        try rename(temporary, to: path)
        try synchronizeDirectory(directory)
    }
}

extension DurabilityError {
    /// Classifies a failed call: disk full, refused, not a directory, or any other I/O error.
    init(call: String, path: String, errno code: Int32) {
        switch code {
        case ENOSPC, EDQUOT, EFBIG: self = .diskFull(path: path, call: call, errno: code)
        case EACCES, EPERM, EROFS: self = .permissionDenied(path: path, call: call, errno: code)
        case ENOTDIR: self = .notADirectory(path: path)
        default: self = .ioFailed(path: path, call: call, errno: code)
        }
    }
}
