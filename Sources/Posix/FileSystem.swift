import CShim
import Glibc

/// Calls on paths rather than descriptors: directories, names, renames.
public enum FileSystem {
    /// Creates the directory `path` with `permissions`: `true` if created, `false` if something already has the name.
    public static func makeDirectory(_ path: String, permissions: mode_t = 0o700) throws(SystemError) -> Bool {
        do {
            _ = try retryingInterrupts("mkdir") { mkdir(path, permissions) }
            return true
        } catch where error.errno == EEXIST {
            return false
        } catch {
            throw error.with(context: path)
        }
    }

    /// Whether `path` names a directory (following symbolic links); `nil` when nothing has the name.
    public static func isDirectory(_ path: String) throws(SystemError) -> Bool? {
        var information = stat()
        do {
            _ = try retryingInterrupts("stat") { stat(path, &information) }
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw error.with(context: path)
        }
        return information.st_mode & S_IFMT == S_IFDIR
    }

    /// Renames `source` to `destination`, atomically replacing whatever had that name.
    public static func rename(_ source: String, to destination: String) throws(SystemError) {
        do {
            _ = try retryingInterrupts("rename") { Glibc.rename(source, destination) }
        } catch {
            throw error.with(context: "\(source) -> \(destination)")
        }
    }

    /// Removes the file `path`: `false` if it was already gone.
    @discardableResult
    public static func removeFile(_ path: String) throws(SystemError) -> Bool {
        do {
            _ = try retryingInterrupts("unlink") { unlink(path) }
            return true
        } catch where error.errno == ENOENT {
            return false
        } catch {
            throw error.with(context: path)
        }
    }

    /// Flushes a directory's entries, so names created, renamed or removed in it survive a crash.
    ///
    /// `EINVAL` counts as done: some file systems cannot sync a directory, and their names are as durable as
    /// they will ever be.
    public static func synchronizeDirectory(_ path: String) throws(SystemError) {
        let directory = try FileDescriptor.open(path, flags: O_RDONLY | O_DIRECTORY)
        do {
            try directory.synchronize()
        } catch where error.errno == EINVAL {
        } catch {
            try? directory.close()  // already failing with fsync's error, which says more
            throw error.with(context: path)
        }
        try directory.close()
    }

    /// Every name in the directory `path` except `.` and `..`, in the file system's order.
    public static func names(inDirectory path: String) throws(SystemError) -> [String] {
        var opened: OpaquePointer?
        while true {
            opened = opendir(path)
            let code = cshim_errno()
            if opened != nil { break }
            if code != EINTR { throw SystemError(call: "opendir", errno: code, context: path) }
        }
        let stream = opened!
        defer { closedir(stream) }
        var names: [String] = []
        while true {
            // readdir reports both the end and an error with nil; only errno tells them apart.
            errno = 0
            let entry = readdir(stream)
            let code = cshim_errno()
            guard let entry else {
                if code == 0 { break }
                throw SystemError(call: "readdir", errno: code, context: path)
            }
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
