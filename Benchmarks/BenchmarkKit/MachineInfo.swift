import Glibc
import Posix

/// The machine a run measured: the report's context, since absolute numbers only mean something beside it.
public struct MachineInfo: Sendable {
    /// Online processors (sysconf).
    public var cores: Int
    /// `uname -sr`, e.g. `Linux 6.18.44`.
    public var kernel: String
    /// `uname -m`.
    public var architecture: String
    /// The CPU model from /proc/cpuinfo, if readable.
    public var cpuModel: String?

    public init(cores: Int, kernel: String, architecture: String, cpuModel: String?) {
        self.cores = cores
        self.kernel = kernel
        self.architecture = architecture
        self.cpuModel = cpuModel
    }

    /// This machine.
    public static func current() -> MachineInfo {
        var names = utsname()
        uname(&names)
        func text<T>(_ field: T) -> String {
            withUnsafeBytes(of: field) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
        }
        let cpuinfo = FileDescriptor.readText(atPath: "/proc/cpuinfo") ?? ""
        let model = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .flatMap { line in line.split(separator: ":", maxSplits: 1).last }
            .map { String($0.drop { $0 == " " || $0 == "\t" }) }
        return MachineInfo(
            cores: Int(sysconf(CInt(_SC_NPROCESSORS_ONLN))),
            kernel: "\(text(names.sysname)) \(text(names.release))",
            architecture: text(names.machine), cpuModel: model)
    }
}
