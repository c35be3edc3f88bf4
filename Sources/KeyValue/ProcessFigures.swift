#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What INFO reports about the process itself, read from the kernel when asked: a few small reads, nothing that
/// grows with the data.
enum ProcessFigures {
    /// Seconds since the process started (`/proc/self/stat`'s start time against `/proc/uptime`); nil off Linux.
    static func uptimeSeconds() -> UInt64? {
        guard let stat = readSmallFile("/proc/self/stat"), let uptime = readSmallFile("/proc/uptime") else {
            return nil
        }
        // The command name in parentheses may hold spaces: fields are counted after its closing parenthesis, where
        // `starttime` (field 22 of the whole line) is the 20th.
        guard let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let startTicks = Double(fields[19]),
            let systemSeconds = uptime.split(separator: " ").first.flatMap({ Double($0) })
        else { return nil }
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard ticksPerSecond > 0 else { return nil }
        return UInt64(max(0, systemSeconds - startTicks / ticksPerSecond))
    }

    /// Resident bytes (`/proc/self/statm`'s second field times the page size); nil off Linux.
    static func residentBytes() -> UInt64? {
        guard let statm = readSmallFile("/proc/self/statm") else { return nil }
        let fields = statm.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// The most the process has had resident (`getrusage`'s `ru_maxrss`), which needs no file descriptor: what
    /// stands in for `residentBytes` when `/proc` cannot be read at that moment.
    static func peakResidentBytes() -> UInt64 {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return UInt64(max(0, usage.ru_maxrss)) * 1024  // kilobytes on Linux
        #else
        getrusage(RUSAGE_SELF, &usage)
        return UInt64(max(0, usage.ru_maxrss))  // bytes on Darwin
        #endif
    }

    /// CPU seconds as Redis prints them (`seconds.microseconds`): system and user, of the process and its children.
    static func cpu() -> [(String, String)] {
        var own = rusage()
        var children = rusage()
        #if canImport(Glibc)
        getrusage(RUSAGE_SELF.rawValue, &own)
        getrusage(RUSAGE_CHILDREN.rawValue, &children)
        #else
        getrusage(RUSAGE_SELF, &own)
        getrusage(RUSAGE_CHILDREN, &children)
        #endif
        return [
            ("used_cpu_sys", seconds(own.ru_stime)), ("used_cpu_user", seconds(own.ru_utime)),
            ("used_cpu_sys_children", seconds(children.ru_stime)),
            ("used_cpu_user_children", seconds(children.ru_utime)),
        ]
    }

    /// The kernel's name, release and machine, as Redis's `os` field (`Linux 6.1.0 x86_64`).
    static func operatingSystem() -> String {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
        return "\(text(names.sysname)) \(text(names.release)) \(text(names.machine))"
    }

    /// Bytes with Redis's `_human` suffixes (`1.50M`).
    static func human(_ bytes: UInt64) -> String {
        let units: [(Double, String)] = [(0x100_0000_0000, "T"), (0x4000_0000, "G"), (0x10_0000, "M"), (0x400, "K")]
        for (size, suffix) in units where Double(bytes) >= size {
            return twoDecimals(Double(bytes) / size) + suffix
        }
        return "\(bytes)B"
    }

    private static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    private static func seconds(_ time: timeval) -> String {
        let micros = String(Int(time.tv_usec))
        return "\(time.tv_sec).\(String(repeating: "0", count: max(0, 6 - micros.count)))\(micros)"
    }

    /// A procfs file's first 4 KiB: these files are a line each, far shorter.
    private static func readSmallFile(_ path: String) -> String? {
        var descriptor: Int32
        repeat { descriptor = open(path, O_RDONLY | O_CLOEXEC) } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        var count: Int
        repeat {
            count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        } while count < 0 && errno == EINTR
        guard count > 0 else { return nil }
        return String(decoding: buffer.prefix(count), as: UTF8.self).trimmingSuffixNewline
    }
}

extension String {
    fileprivate var trimmingSuffixNewline: String {
        hasSuffix("\n") ? String(dropLast()) : self
    }
}
