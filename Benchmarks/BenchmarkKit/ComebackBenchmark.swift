import Glibc
import Posix

/// After both nodes die: load keys into a durable Lockstep pair, kill -9 both nodes, restart both over their data
/// directories, and time until a SET is acknowledged; beside one Redis with `appendonly yes`, killed and restarted
/// over its directory, which loads its append-only files before it takes a write.
///
/// Redis runs without a replica here: a replica restarted with it would sync afterwards, and would not change when the
/// primary first answers. The keys are loaded as the scale group loads them (one connection, `loadDepth` in flight),
/// and every process is killed the moment the last SET is acknowledged: what a power cut right after an import would
/// leave, whatever a snapshot or a rewrite of the append-only file was doing then.
public struct ComebackBenchmark {
    public var keys: Int
    public var valueBytes: Int
    /// `--fsync` and `appendfsync`: `everysec`, both systems' default, unless a caller picks another.
    public var policy: FsyncPolicy

    /// A restart must bring back at least this many keys a second, plus a minute, or it counts as stuck.
    static let restartRateFloor = 20_000.0
    /// How long a probe waits for one reply: a listening node or Redis answers at once (a node reads its disk before
    /// it listens, Redis answers `-LOADING` meanwhile), so a longer wait only means a stalled server, and the other
    /// node may be the one coming back.
    static let probeReplyTimeoutNanoseconds: UInt64 = 250_000_000

    public init(keys: Int, valueBytes: Int, policy: FsyncPolicy = .everysec) {
        self.keys = keys
        self.valueBytes = valueBytes
        self.policy = policy
    }

    /// Runs the systems given (a nil path skips that system): Lockstep first, then Redis.
    public func run(lockstep: String?, redis: String?, log: (String) -> Void) -> [ComebackResult] {
        var results: [ComebackResult] = []
        if let lockstep { results.append(measureLockstep(lockstep, log: log)) }
        if let redis { results.append(measureRedis(redis, log: log)) }
        return results
    }

    private func measureLockstep(_ executable: String, log: (String) -> Void) -> ComebackResult {
        var result = ComebackResult(system: .lockstep, keys: keys, policy: policy)
        let pair: LockstepPair
        do {
            pair = try LockstepPair.start(
                executable: executable, extraArguments: ["--fsync", policy.rawValue], isDurable: true)
        } catch {
            result.problem = "the durable pair did not start: \(error)"
            return result
        }
        defer { pair.stop() }
        do throws(BenchmarkError) {
            let primary = try pair.waitForProtectedPrimary(deadline: deadline(seconds: 10))
            log("durability: loading \(keys) keys into a durable Lockstep pair (--fsync \(policy.rawValue))")
            result.loadNanoseconds = try ScaleBenchmark.load(
                pair.nodes[primary].clientAddress, keys: keys, valueBytes: valueBytes)
            log("durability: kill -9 of both nodes, then both restarted over their data directories")
            for node in pair.nodes { try? node.signal(SIGKILL) }  // both before either is reaped; gone already is fine
            for node in pair.nodes { node.kill() }
            result.diskBytesAtKill = ["a", "b"].reduce(0) { $0 + TextFile.treeBytes(pair.dataDirectory($1)) }
            let start = monotonicNanoseconds()
            for node in pair.nodes {
                do {
                    try node.restart()
                } catch {
                    throw .system(error)
                }
            }
            let end = restartDeadline(from: start)
            guard let (serving, took) = firstAcknowledgedSet(pair.nodes.map(\.clientAddress), since: start, until: end)
            else {
                let logs = pair.nodes.map { "\($0.name)'s log ends:\n\($0.logTail())" }.joined(separator: "\n")
                throw .timedOut("neither restarted node acknowledged a SET\n\(logs)")
            }
            result.comebackNanoseconds = took
            let isProtected = poll(until: end, every: .milliseconds(5)) {
                pair.nodes.indices.contains(where: pair.isProtectedPrimary)
            }
            if isProtected { result.protectedNanoseconds = monotonicNanoseconds() - start }
            result.keysAfter = try Self.keyCount(pair.nodes[serving].clientAddress)
            if !isProtected { result.problem = "the restarted pair was not protected again before the deadline" }
        } catch {
            result.problem = "\(error)"
        }
        return result
    }

    private func measureRedis(_ executable: String, log: (String) -> Void) -> ComebackResult {
        var result = ComebackResult(system: .redis, keys: keys, policy: policy)
        let directory: String
        do {
            directory = try ProcessSupervisor.shared.makeTemporaryDirectory(prefix: "lockstep-bench-aof")
        } catch {
            result.problem = "no temporary directory: \(error)"
            return result
        }
        defer { ProcessSupervisor.shared.removeDirectory(directory) }
        let dataDirectory = "\(directory)/data"
        let server: ServerProcess
        do {
            server = try startRedis(executable, directory: directory, dataDirectory: dataDirectory)
        } catch {
            result.problem = "Redis did not start: \(error)"
            return result
        }
        defer { server.kill() }
        do throws(BenchmarkError) {
            log("durability: loading \(keys) keys into Redis (appendonly, appendfsync \(policy.rawValue))")
            result.loadNanoseconds = try ScaleBenchmark.load(server.clientAddress, keys: keys, valueBytes: valueBytes)
            log("durability: kill -9 of Redis, then restarted over its directory")
            server.kill()  // with a rewrite of its append-only file, if one runs (`ProcessSupervisor.kill`)
            result.diskBytesAtKill = TextFile.treeBytes(dataDirectory)
            let start = monotonicNanoseconds()
            do {
                try server.restart()
            } catch {
                throw .system(error)
            }
            let end = restartDeadline(from: start)
            guard let (_, took) = firstAcknowledgedSet([server.clientAddress], since: start, until: end) else {
                throw .timedOut("the restarted Redis acknowledged no SET; its log ends:\n\(server.logTail())")
            }
            result.comebackNanoseconds = took
            result.keysAfter = try Self.keyCount(server.clientAddress)
        } catch {
            result.problem = "\(error)"
        }
        return result
    }

    /// One `redis-server` with `appendonly yes` keeping its files in `dataDirectory`, listening; a port taken between
    /// choosing and binding costs a retry.
    private func startRedis(_ executable: String, directory: String, dataDirectory: String) throws(BenchmarkError)
        -> ServerProcess
    {
        guard mkdir(dataDirectory, 0o755) == 0 else {
            throw .system(SystemError(call: "mkdir", errno: errno, context: dataDirectory))
        }
        var lastError: BenchmarkError = .setupFailed("no attempt made")
        for _ in 0..<3 {
            let server: ServerProcess
            do {
                let port = try TCP.FreePorts.distinct(1)[0]
                server = try ServerProcess(
                    name: "redis", executable: executable,
                    arguments: RedisPair.arguments(port: port, directory: dataDirectory, persistence: policy),
                    clientAddress: .loopback(port: port), logPath: "\(directory)/redis.log")
            } catch {
                throw .system(error)
            }
            do {
                try server.waitUntilListening(deadline: deadline(seconds: 10))
                return server
            } catch {
                server.kill()
                lastError = error
            }
        }
        throw lastError
    }

    /// Sends `SET key:0` (its loaded value again, so the key count stays) to each address in turn until one answers
    /// `+OK`; that address's index and the time since `start`, or nil at `end`. Refused connections and error replies
    /// (`-LOADING`, `-READONLY`, a node still waiting for its peer) mean not yet.
    func firstAcknowledgedSet(_ addresses: [SocketAddress], since start: UInt64, until end: UInt64)
        -> (Int, UInt64)?
    {
        let clients = addresses.map { ControlClient(address: $0) }
        defer { for client in clients { client.close() } }
        let probe = ["SET", "key:0", Workload.value(0, bytes: valueBytes)]
        while monotonicNanoseconds() < end {
            for (index, client) in clients.enumerated() {
                // nil: refused, reset or timed out; the server is not serving yet.
                let reply = try? client.command(probe, timeoutNanoseconds: Self.probeReplyTimeoutNanoseconds)
                if reply == .simple("OK") { return (index, monotonicNanoseconds() - start) }
                if reply == nil { client.close() }
            }
            sleep(for: .microseconds(500))
        }
        return nil
    }

    /// `DBSIZE` at `address`.
    static func keyCount(_ address: SocketAddress) throws(BenchmarkError) -> Int {
        let client = ControlClient(address: address)
        defer { client.close() }
        let reply = try client.command(["DBSIZE"], timeoutNanoseconds: 10_000_000_000)
        guard case .integer(let count) = reply else { throw .unexpectedReply("DBSIZE answered \(reply)") }
        return Int(count)
    }

    private func restartDeadline(from start: UInt64) -> UInt64 {
        start + UInt64((60 + Double(keys) / Self.restartRateFloor) * 1e9)
    }
}
