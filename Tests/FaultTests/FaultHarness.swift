import Glibc
import Posix
import Runtime

/// A failure of the harness itself (a node that never came up, a missing binary), with what to look at.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Paths, ports, files and deadlines for the fault suite.
enum FaultHarness {
    /// Writes a new cluster secret to `path` the way `lockstep pair` makes one, and returns the path: every node a test
    /// starts must be given one.
    @discardableResult
    static func writeClusterSecret(_ path: String) throws -> String {
        try ClusterSecretFile.create(atPath: path)
        return path
    }

    /// Whether the long soak profile runs (`LOCKSTEP_SOAK=1`); CI runs the short one.
    static var isSoak: Bool { getenv("LOCKSTEP_SOAK").map { String(cString: $0) == "1" } ?? false }

    /// The `lockstep` binary SwiftPM built next to this test executable (FaultTests depends on LockstepCLI).
    static func lockstepPath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw HarnessError("cannot read /proc/self/exe") }
        let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = executable[..<(executable.lastIndex(of: "/") ?? executable.endIndex)]
        while directory.hasSuffix(".xctest"), let slash = directory.lastIndex(of: "/") {
            directory = directory[..<slash]
        }
        let path = String(directory) + "/lockstep"
        guard access(path, X_OK) == 0 else { throw HarnessError("no lockstep binary at \(path); run swift build") }
        return path
    }

    /// A fresh directory under $TMPDIR (or /tmp).
    static func temporaryDirectory(_ label: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/lockstep-fault-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
        return String(cString: made)
    }

    /// Removes a tree this suite made; refuses anything that is not one of its temporary directories.
    static func removeTree(_ path: String) {
        guard path.hasPrefix("/"), path.contains("/lockstep-fault-") else { return }
        guard let rm = try? ChildProcess.spawn("/bin/rm", arguments: ["-rf", path]) else { return }
        // Best effort: a leftover temporary directory is harmless; the deadline keeps teardown bounded.
        _ = try? rm.wait(timeout: .seconds(10)) ?? rm.terminate(signal: SIGKILL)
    }

    /// `count` distinct loopback ports nothing listens on now.
    static func freePorts(_ count: Int) throws -> [UInt16] {
        try TCP.FreePorts.distinct(count)
    }

    /// A whole file as text; empty when it cannot be read.
    static func readFile(_ path: String) -> String {
        FileDescriptor.readText(atPath: path) ?? ""
    }

    /// Writes `text` to `path`, replacing it.
    static func writeFile(_ path: String, _ text: String) throws {
        guard let file = fopen(path, "w") else { throw HarnessError("cannot write \(path)") }
        defer { fclose(file) }
        let bytes = Array(text.utf8)
        guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw HarnessError("short write \(path)") }
    }

    /// Names in a directory (without . and ..).
    static func listDirectory(_ path: String) -> [String] {
        guard let directory = opendir(path) else { return [] }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Polls `condition` every 20 ms until it holds or `deadline` passes: whether it held.
    static func waitUntil(_ deadline: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = Stopwatch.now + deadline
        while true {
            if try condition() { return true }
            if Stopwatch.now >= end { return false }
            sleep(for: .milliseconds(20))
        }
    }
}

/// Monotonic time for the suite's records: one clock shared by the workload, the monitor and the tests.
enum Stopwatch {
    static var now: ContinuousClock.Instant { ContinuousClock.now }
}
