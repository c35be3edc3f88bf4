import Glibc
@testable import LockstepCLI
import Posix
import Runtime

// Small helpers copied from FaultTests' FaultHarness so this target stands alone. The checker, workload, role
// monitor, RESP client and fault proxy beside this file are symlinks to FaultTests' own files (Checker.swift,
// Workload.swift, RoleMonitor.swift, RedisConnection.swift, FaultProxy.swift): one copy of each.

/// A failure of the harness itself (no namespaces, a node that never came up), with what to look at.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Monotonic time for the suite's records: one clock shared by the workload, the monitor and the tests.
enum Stopwatch {
    static var now: ContinuousClock.Instant { ContinuousClock.now }
}

/// Polls `condition` every 20 ms until it holds or `deadline` passes: whether it held.
func waitUntil(_ deadline: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
    try pollUntil(deadline, condition)
}

/// The workload, checker, role monitor, RESP helpers and fault proxy are FaultTests' own files, linked into this
/// target (one copy of the kill-and-failover checker and of the proxy); they wait through `FaultHarness`.
enum FaultHarness {
    static func waitUntil(_ deadline: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        try pollUntil(deadline, condition)
    }
}

private func pollUntil(_ deadline: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Stopwatch.now + deadline
    while true {
        if try condition() { return true }
        if Stopwatch.now >= end { return false }
        sleep(for: .milliseconds(20))
    }
}

enum Harness {
    /// The `lockstep` binary SwiftPM built next to this test executable (NetworkTests depends on LockstepCLI).
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

    /// The first executable called `name` in PATH or the usual system directories; nil when there is none.
    static func executable(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]
        return directories.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }

    /// A fresh directory under $TMPDIR (or /tmp).
    static func temporaryDirectory(_ label: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/lockstep-net-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
        return String(cString: made)
    }

    /// Removes a tree this suite made; refuses anything that is not one of its temporary directories.
    static func removeTree(_ path: String) {
        guard path.hasPrefix("/"), path.contains("/lockstep-net-") else { return }
        guard let rm = try? ChildProcess.spawn("/bin/rm", arguments: ["-rf", path]) else { return }
        // Best effort: a leftover temporary directory is harmless; the deadline keeps teardown bounded.
        _ = try? rm.wait(timeout: .seconds(10)) ?? rm.terminate(signal: SIGKILL)
    }

    /// Writes a new cluster secret to `path` the way `lockstep pair` makes one, and returns the path: every node a test
    /// starts must be given one.
    @discardableResult
    static func writeClusterSecret(_ path: String) throws -> String {
        try ClusterSecretFile.create(atPath: path)
        return path
    }

    /// A whole file as text; empty when it cannot be read.
    static func readFile(_ path: String) -> String { FileDescriptor.readText(atPath: path) ?? "" }

    /// Runs `executable` to completion within `deadline` (killed and reaped past it): whether it exited 0, and its
    /// stdout and stderr together.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], in directory: String, deadline: Duration = .seconds(15))
        throws -> (ok: Bool, output: String)
    {
        let outputPath = "\(directory)/command.out"
        let process = try ChildProcess.spawn(
            executable, arguments: arguments, standardOutput: .file(path: outputPath, append: false),
            standardError: .file(path: outputPath, append: true))
        let status = try process.wait(timeout: deadline) ?? process.terminate(signal: SIGKILL, timeout: .seconds(5))
        return (status == .exited(code: 0), readFile(outputPath))
    }
}
