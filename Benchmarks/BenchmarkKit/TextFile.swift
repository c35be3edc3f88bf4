import Glibc
import Posix

/// Small-file helpers: log tails, the JSON report, temporary directories (reading is `FileDescriptor.readText`).
///
/// Foundation is left out on purpose (IO-FINDINGS, pitfall 7), so these few calls are written on the Posix wrappers.
public enum TextFile {
    /// The last `lineCount` lines of a file, for showing why a child process failed.
    public static func tail(_ path: String, lineCount: Int = 15) -> String {
        guard let text = FileDescriptor.readText(atPath: path) else { return "(no log at \(path))" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lineCount).joined(separator: "\n")
    }

    /// Writes `text` to `path`, replacing it.
    public static func write(_ text: String, to path: String) throws(SystemError) {
        let fd = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC)
        defer { try? fd.close() }  // after writeAll succeeded there is nothing left to report
        let bytes = Array(text.utf8)
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(SystemError) in try fd.writeAll(buffer) } }
        try result.get()
    }

    /// A fresh directory under $TMPDIR (or /tmp), e.g. for an arbiter or node logs.
    public static func makeTemporaryDirectory(prefix: String) throws(SystemError) -> String {
        let base = temporaryBase
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw SystemError(call: "mkdtemp", errno: errno, context: base) }
        return String(cString: made)
    }

    /// Where temporary directories go: $TMPDIR, else /tmp.
    public static var temporaryBase: String { getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp" }

    /// Removes a directory tree this harness made. Symbolic links are removed, never followed.
    public static func removeTree(_ path: String) {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                    String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." { continue }
                let child = "\(path)/\(name)"
                var status = stat()
                if lstat(child, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
                    removeTree(child)
                } else {
                    unlink(child)
                }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    /// The bytes of every regular file under `path` (their sizes, as `du --apparent-size` counts them); symbolic
    /// links are not followed. A missing tree holds 0.
    public static func treeBytes(_ path: String) -> UInt64 {
        guard let directory = opendir(path) else { return 0 }
        defer { closedir(directory) }
        var total: UInt64 = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let child = "\(path)/\(name)"
            var status = stat()
            guard lstat(child, &status) == 0 else { continue }  // removed meanwhile: it holds nothing
            switch status.st_mode & S_IFMT {
            case S_IFDIR: total += treeBytes(child)
            case S_IFREG: total += UInt64(max(0, status.st_size))
            default: break
            }
        }
        return total
    }

    /// The type of the file system holding `path` (`ext4`, `xfs`, `tmpfs`, ...): the mount in /proc/self/mounts whose
    /// mount point is the longest leading part of the path's real location; nil if that cannot be read.
    public static func fileSystemType(of path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        let real = String(cString: resolved)
        free(resolved)
        guard let mounts = FileDescriptor.readText(atPath: "/proc/self/mounts") else { return nil }
        return fileSystemType(of: real, mounts: mounts)
    }

    /// The type `mounts` (the format of /proc/self/mounts) gives the absolute `path`. Mount points escape a space as
    /// `\040`; such a mount only matters in the rare case that it holds the path.
    static func fileSystemType(of path: String, mounts: String) -> String? {
        var best: (length: Int, type: String)?
        for line in mounts.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count >= 3 else { continue }
            let point = fields[1].replacing("\\040", with: " ")
            let isInside = point == "/" || path == point || path.hasPrefix(point + "/")
            if isInside, point.count >= (best?.length ?? -1) { best = (point.count, String(fields[2])) }
        }
        return best?.type
    }

    /// The first executable called `name` on $PATH, or nil.
    public static func findOnPath(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
        for directory in path.split(separator: ":") where !directory.isEmpty {
            let candidate = "\(directory)/\(name)"
            if isExecutable(candidate) { return candidate }
        }
        return nil
    }

    /// Whether `path` is a regular file this process may execute.
    public static func isExecutable(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG && access(path, X_OK) == 0
    }

    /// This process's own executable (/proc/self/exe), for finding the `lockstep` binary built beside it.
    public static func ownExecutable() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The directory part of a path (`/a/b/c` → `/a/b`).
    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
