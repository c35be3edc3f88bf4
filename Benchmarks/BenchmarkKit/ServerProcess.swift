import Glibc
import Posix

/// A server the harness started: its command line (to restart it the same way), its client address and its log.
public final class ServerProcess {
    public let name: String
    public let executable: String
    public let arguments: [String]
    public let clientAddress: SocketAddress
    public let logPath: String
    public private(set) var process: ChildProcess

    /// Starts `executable` with `arguments`, stdout and stderr appended to `logPath`.
    public init(
        name: String, executable: String, arguments: [String], clientAddress: SocketAddress, logPath: String
    ) throws(SystemError) {
        self.name = name
        self.executable = executable
        self.arguments = arguments
        self.clientAddress = clientAddress
        self.logPath = logPath
        process = try Self.launch(executable, arguments, logPath)
    }

    public var pid: pid_t { process.pid }

    /// Whether the process is still running (not reaped).
    public var isRunning: Bool { (try? process.tryWait()) == nil }  // an error means it cannot be waited for: gone

    /// SIGKILL and reap.
    public func kill() { ProcessSupervisor.shared.kill(process) }

    /// Starts it again with the same command line (the log is appended to).
    public func restart() throws(SystemError) {
        ProcessSupervisor.shared.kill(process)
        process = try Self.launch(executable, arguments, logPath)
    }

    /// Sends a signal (SIGSTOP, SIGCONT) by PID.
    public func signal(_ signalNumber: CInt) throws(SystemError) { try process.signal(signalNumber) }

    /// CPU time used so far, from /proc; nil once it is gone.
    public func cpuNanoseconds() -> UInt64? { ProcessStat.cpuNanoseconds(of: pid) }

    /// The end of its log, for error messages; for a crash, the lines that say why rather than the registers.
    public func logTail() -> String {
        guard let text = FileDescriptor.readText(atPath: logPath) else { return "(no log at \(logPath))" }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // Swift's crash report opens with "*** Signal …" and "*** Swift runtime failure: …" or "Fatal error".
        let markers = ["*** ", "Fatal error"]
        if let crash = lines.firstIndex(where: { line in markers.contains { line.hasPrefix($0) } }) {
            let start = max(lines.startIndex, crash - 3)
            return lines[start..<min(lines.endIndex, crash + 14)].joined(separator: "\n")
        }
        return lines.suffix(15).joined(separator: "\n")
    }

    /// Waits until it accepts connections, failing early if it exits.
    public func waitUntilListening(deadline: UInt64) throws(BenchmarkError) {
        while monotonicNanoseconds() < deadline {
            if !isRunning {
                throw .setupFailed("\(name) exited during startup (\(process.exitStatus.map { "\($0)" } ?? "?")); "
                    + "its log ends:\n\(logTail())")
            }
            if Sockets.isListening(clientAddress) { return }
            sleep(for: .milliseconds(10))
        }
        throw .timedOut("\(name) did not listen on \(clientAddress); its log ends:\n\(logTail())")
    }

    private static func launch(_ executable: String, _ arguments: [String], _ logPath: String) throws(SystemError)
        -> ChildProcess
    {
        try ProcessSupervisor.shared.spawn(
            executable, arguments: arguments, standardOutput: .file(path: logPath, append: true),
            standardError: .file(path: logPath, append: true))
    }
}

/// Polls `condition` every `interval` until it holds or `deadline` passes; returns whether it held.
func poll(until deadline: UInt64, every interval: Duration = .milliseconds(5), _ condition: () -> Bool) -> Bool {
    while true {
        if condition() { return true }
        if monotonicNanoseconds() >= deadline { return false }
        sleep(for: interval)
    }
}

/// A deadline `seconds` from now on the monotonic clock.
func deadline(seconds: Double) -> UInt64 { monotonicNanoseconds() + UInt64(seconds * 1e9) }
