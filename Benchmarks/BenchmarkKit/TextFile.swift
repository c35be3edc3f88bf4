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
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard let made else { throw SystemError(call: "mkdtemp", errno: errno, context: base) }
        return String(cString: made)
    }

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
