import Glibc
import Posix

/// `redis-benchmark` with its default test list, run against one server, and its `--csv` output read back: the
/// figures a Redis user would take first, for Lockstep and Redis alike.
public struct RedisBenchmarkTool: Sendable {
    /// One test's line of the CSV.
    public struct TestResult: Equatable, Sendable {
        /// The test as redis-benchmark names it (`SET`, `LRANGE_100 (first 100 elements)`).
        public var name: String
        public var requestsPerSecond: Double
        public var p50Milliseconds: Double

        public init(name: String, requestsPerSecond: Double, p50Milliseconds: Double) {
            self.name = name
            self.requestsPerSecond = requestsPerSecond
            self.p50Milliseconds = p50Milliseconds
        }
    }

    public var executable: String
    /// `-n`: requests per test.
    public var requests: Int
    /// `-c`: connections (redis-benchmark's default is 50).
    public var clients: Int
    /// How long one run may take before it is killed: a server that stops answering must not
    /// hang the benchmark.
    public var timeout: Duration

    public init(executable: String, requests: Int, clients: Int, timeout: Duration) {
        self.executable = executable
        self.requests = requests
        self.clients = clients
        self.timeout = timeout
    }

    /// redis-benchmark 7.0's default list as `-t` names, in its order: each name runs one or more of its tests (`ping`
    /// runs PING_INLINE and PING_MBULK; `lrange` the LPUSH that fills the list, then LRANGE_100 to 600). Run one after
    /// the other against one server, they make the default list and leave the same keys behind.
    public static let defaultTests = [
        "ping", "set", "get", "incr", "lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin",
        "lrange", "mset",
    ]

    /// The command line against `address`: `-t tests`, or without `tests` the default list; the CSV on stdout.
    func arguments(_ address: SocketAddress, tests: String? = nil) -> [String] {
        ["-h", address.host, "-p", String(address.port), "-n", String(requests), "-c", String(clients), "--csv"]
            + (tests.map { ["-t", $0] } ?? [])
    }

    /// Runs `tests` (`-t`; the default list without them) against `address`; throws when redis-benchmark fails (an
    /// error reply makes it exit 1, naming the error on stderr) or does not finish within `timeout`.
    public func run(against address: SocketAddress, tests: String? = nil) throws(BenchmarkError) -> [TestResult] {
        let directory: String
        do {
            directory = try ProcessSupervisor.shared.makeTemporaryDirectory(prefix: "lockstep-bench-rb")
        } catch {
            throw .system(error)
        }
        defer { ProcessSupervisor.shared.removeDirectory(directory) }
        let output = "\(directory)/out.csv", errors = "\(directory)/err.txt"
        let status: ChildProcess.ExitStatus?
        do {
            let child = try ChildProcess.spawn(
                executable, arguments: arguments(address, tests: tests), standardOutput: .file(path: output, append: false),
                standardError: .file(path: errors, append: false))
            status = try child.wait(timeout: timeout)
            if status == nil { _ = try? child.terminate(signal: SIGKILL) }  // hung: its figures are lost either way
        } catch {
            throw .system(error)
        }
        let errorText = TextFile.tail(errors, lineCount: 5)
        guard let status else { throw .timedOut("redis-benchmark against \(address) after \(timeout)") }
        guard status == .exited(code: 0) else {
            throw .unexpectedReply("redis-benchmark against \(address) ended \(status): \(errorText)")
        }
        return try Self.parseCSV(FileDescriptor.readText(atPath: output) ?? "")
    }

    /// The tests of redis-benchmark's `--csv` output, in its order: a header line naming `test`, `rps` and
    /// `p50_latency_ms`, then one quoted line per test.
    public static func parseCSV(_ text: String) throws(BenchmarkError) -> [TestResult] {
        let lines = text.split(whereSeparator: \.isNewline).map(fields)
        guard let header = lines.first, let nameColumn = header.firstIndex(of: "test"),
            let rateColumn = header.firstIndex(of: "rps"), let p50Column = header.firstIndex(of: "p50_latency_ms")
        else { throw .unexpectedReply("redis-benchmark's CSV has no header naming test, rps and p50_latency_ms") }
        var results: [TestResult] = []
        for line in lines.dropFirst() {
            guard line.count == header.count, let rate = Double(line[rateColumn]), let p50 = Double(line[p50Column])
            else { throw .unexpectedReply("redis-benchmark's CSV line \(line) does not match its header") }
            results.append(TestResult(name: line[nameColumn], requestsPerSecond: rate, p50Milliseconds: p50))
        }
        guard !results.isEmpty else { throw .unexpectedReply("redis-benchmark's CSV holds no test") }
        return results
    }

    /// A CSV line's fields, without their quotes (redis-benchmark's names hold no quotes or commas).
    private static func fields(_ line: Substring) -> [String] {
        line.split(separator: ",", omittingEmptySubsequences: false).map { String($0.filter { $0 != "\"" }) }
    }
}
