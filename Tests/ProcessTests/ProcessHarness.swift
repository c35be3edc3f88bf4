import Glibc
import Posix
import Runtime
import Synchronization
import Testing

/// A failure of the harness itself (a missing tool, a node that never came up), with what to do about it.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where the process tests find their executables and scratch space.
enum Harness {
    /// Writes a new cluster secret to `path` the way `lockstep pair` makes one, and returns the path: every node a test
    /// starts must be given one.
    @discardableResult
    static func writeClusterSecret(_ path: String) throws -> String {
        try ClusterSecretFile.create(atPath: path)
        return path
    }

    /// The `lockstep` binary SwiftPM built next to this test executable (the test target depends on it).
    static func lockstepPath() throws -> String {
        let directory = try executableDirectory()
        let path = directory + "/lockstep"
        guard access(path, X_OK) == 0 else {
            throw HarnessError("no lockstep binary at \(path); build it with `swift build` (the tests expect it "
                + "next to the test executable)")
        }
        return path
    }

    /// The directory of this test executable, read from /proc/self/exe.
    static func executableDirectory() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw HarnessError("cannot read /proc/self/exe") }
        let path = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var directory = path[..<(path.lastIndex(of: "/") ?? path.endIndex)]
        // On Linux the test bundle `LockstepPackageTests.xctest` is a plain executable in the build directory;
        // should it ever be a bundle directory, climb out of it.
        while directory.hasSuffix(".xctest"), let slash = directory.lastIndex(of: "/") {
            directory = directory[..<slash]
        }
        return String(directory)
    }

    /// The executable `name` on PATH, nil when there is none.
    static func onPath(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// A tool from Debian's redis-tools, found on PATH; a clear failure when missing, never a silent pass.
    static func redisTool(_ name: String) throws -> String {
        if let path = onPath(name) { return path }
        throw HarnessError(
            "\(name) is not installed: these tests drive the pair with real Redis clients. Install Debian's "
                + "redis-tools (apt-get install -y redis-tools; .ci/run does this in CI)")
    }

    /// A fresh directory under $TMPDIR (or /tmp), e.g. for a pair's data directory.
    static func temporaryDirectory(_ label: String) throws -> String {
        let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array("\(base)/lockstep-\(label)-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
        return String(cString: made)
    }

    /// Removes a directory tree the test made (`rm -rf` through the real tool, started by path).
    static func removeTree(_ path: String) {
        guard path.hasPrefix("/"), path.contains("/lockstep-") else { return }
        // Best effort: a leftover temporary directory is harmless.
        _ = try? run("/bin/rm", ["-rf", path], timeout: .seconds(10))
    }

    /// Attempts at starting processes on fresh ports when one was taken between the check and their own bind.
    static let portAttemptsLimit = 3

    /// Base client port N for a pair, such that N, N+1, N+1000 and N+1001 (`lockstep pair`'s ports) are free now.
    static func freePairBasePort() throws -> Int {
        Int(try TCP.FreePorts.base(offsets: [0, 1, 1_000, 1_001]))
    }

    /// A port nothing listens on now.
    static func freePort() throws -> Int {
        Int(try TCP.FreePorts.distinct(1)[0])
    }

    /// What a finished helper process printed, and how it ended.
    struct Output {
        var status: ChildProcess.ExitStatus
        var standardOutput: String
        var standardError: String
    }

    /// Runs `executable` to completion with a deadline, capturing stdout and stderr; SIGKILL at the deadline.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(30)) throws -> Output {
        let directory = try temporaryDirectory("run")
        defer {
            unlink(directory + "/out")
            unlink(directory + "/err")
            rmdir(directory)
        }
        let process = try ChildProcess.spawn(
            executable, arguments: arguments, standardOutput: .file(path: directory + "/out", append: false),
            standardError: .file(path: directory + "/err", append: false))
        let status = try process.wait(timeout: timeout) ?? process.terminate(signal: SIGKILL, timeout: .seconds(5))
        return Output(
            status: status, standardOutput: readFile(directory + "/out"), standardError: readFile(directory + "/err"))
    }

    /// A whole file as text; empty when it cannot be read.
    static func readFile(_ path: String) -> String {
        FileDescriptor.readText(atPath: path) ?? ""
    }

    /// Polls `condition` every 20 ms until it holds or `deadline` passes: whether it held.
    static func waitUntil(_ deadline: Duration, _ condition: () throws -> Bool) async throws -> Bool {
        let clock = ContinuousClock()
        let end = clock.now + deadline
        while true {
            if try condition() { return true }
            if clock.now >= end { return false }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Whether a process with this pid exists (and is not a zombie of ours).
func processExists(_ pid: pid_t) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let state = Harness.readFile("/proc/\(pid)/stat")
    // Field 3 is the state; Z (zombie) means it is dead and waiting to be reaped by its parent.
    guard let close = state.lastIndex(of: ")") else { return true }
    return !state[close...].dropFirst(2).hasPrefix("Z")
}
