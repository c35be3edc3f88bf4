import Glibc
import Posix

/// CPU time and memory of a process, read from /proc: how the report charges CPU per operation to each server.
///
/// /proc/PID/stat counts in clock ticks (100 Hz here), so a case must run long enough (seconds, at tens of percent
/// of a core) for the 10 ms granularity not to matter; the cases do.
public enum ProcessStat {
    /// Clock ticks per second for /proc's utime and stime.
    static let ticksPerSecond = UInt64(max(1, sysconf(CInt(_SC_CLK_TCK))))

    /// User plus system CPU time of `pid` so far, in nanoseconds; nil if the process is gone.
    public static func cpuNanoseconds(of pid: pid_t) -> UInt64? {
        guard let text = FileDescriptor.readText(atPath: "/proc/\(pid)/stat") else { return nil }
        guard let ticks = cpuTicks(fromStatLine: text) else { return nil }
        return ticks * (1_000_000_000 / ticksPerSecond)
    }

    /// utime + stime (fields 14 and 15) from a /proc/PID/stat line.
    ///
    /// Field 2 is the command name in parentheses and may itself contain spaces and parentheses, so fields are
    /// counted from the last `)`.
    public static func cpuTicks(fromStatLine line: String) -> UInt64? {
        guard let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        // After the name: state is field 3, so utime (14) and stime (15) are at offsets 11 and 12.
        guard fields.count > 12, let user = UInt64(fields[11]), let system = UInt64(fields[12]) else { return nil }
        return user + system
    }

    /// Resident set size of `pid` in bytes (VmRSS in /proc/PID/status); nil if the process is gone.
    public static func residentBytes(of pid: pid_t) -> UInt64? {
        guard let text = FileDescriptor.readText(atPath: "/proc/\(pid)/status") else { return nil }
        return residentBytes(fromStatus: text)
    }

    /// VmRSS from a /proc/PID/status text, in bytes.
    public static func residentBytes(fromStatus text: String) -> UInt64? {
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let parts = line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard let kibibytes = parts.first.flatMap({ UInt64($0) }) else { return nil }
            return kibibytes * 1_024
        }
        return nil
    }

    /// CPU time of the calling thread, in nanoseconds (CLOCK_THREAD_CPUTIME_ID): what a load generator or an
    /// in-process server loop charges itself, without /proc's tick granularity.
    public static func threadCPUNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}
