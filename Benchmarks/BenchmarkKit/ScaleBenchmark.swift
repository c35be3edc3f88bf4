import Glibc
import Posix

/// Millions of keys: load them into a Lockstep pair and into a Redis primary with a replica, then kill -9 and restart
/// the backup (the replica) and measure, for both, the time until it protects again, what a client of the primary
/// sees meanwhile (a SET every millisecond), and every process's memory.
///
/// Redis runs with `repl-diskless-sync-delay 0` (`RedisPair`): its default waits 5 s for more replicas before a
/// full sync starts, which would flatter the comparison.
///
/// The load is one connection with `loadDepth` SETs in flight, the way a bulk import runs, and the way a user first
/// met the whole-table stalls this run watches for.
public struct ScaleBenchmark {
    /// Key counts to measure, each on fresh processes.
    public var keyCounts: [Int]
    public var valueBytes: Int
    /// SETs the loader keeps in flight.
    public static let loadDepth = 1_000
    /// SETs encoded and sent together.
    static let loadBatch = 100
    /// The load must reach at least this rate or it counts as stuck.
    static let loadRateFloor = 10_000.0
    /// The restarted follower must protect at least this many keys a second, plus a minute, or it counts as stuck.
    static let reprotectRateFloor = 20_000.0

    public init(keyCounts: [Int], valueBytes: Int) {
        self.keyCounts = keyCounts
        self.valueBytes = valueBytes
    }

    /// Runs every size on the systems given (a nil path skips that system).
    public func run(lockstep: String?, redis: String?, log: (String) -> Void) -> [ScaleResult] {
        var results: [ScaleResult] = []
        for keys in keyCounts {
            if let lockstep { results.append(measureLockstep(lockstep, keys: keys, log: log)) }
            if let redis { results.append(measureRedis(redis, keys: keys, log: log)) }
        }
        return results
    }

    private func measureLockstep(_ executable: String, keys: Int, log: (String) -> Void) -> ScaleResult {
        var result = ScaleResult(system: .lockstep, keys: keys)
        let pair: LockstepPair
        do {
            pair = try LockstepPair.start(executable: executable)
        } catch {
            result.problem = "the pair did not start: \(error)"
            return result
        }
        defer { pair.stop() }
        do throws(BenchmarkError) {
            let primary = try pair.waitForProtectedPrimary(deadline: deadline(seconds: 10))
            let backup = 1 - primary
            let epoch = pair.info(primary)?["lockstep_epoch"]
            log("scale: loading \(keys) keys into the Lockstep pair")
            result.loadNanoseconds = try load(pair.nodes[primary].clientAddress, keys: keys)
            result.stayedProtected = pair.isProtectedPrimary(primary) && pair.info(primary)?["lockstep_epoch"] == epoch
            let processes = [("primary", pair.nodes[primary]), ("backup", pair.nodes[backup])]
            result.residentBytesAfterLoad = Self.residentBytes(processes)
            // Re-protection is measured from the restart: noticing a dead backup (the peer timeout, then the arbiter)
            // is the price of any failure and is measured by the failover group.
            log("scale: killing the Lockstep backup, then restarting it once the primary is solo")
            pair.nodes[backup].kill()
            let isSolo = poll(until: deadline(seconds: 10), every: .milliseconds(5)) {
                pair.info(primary, timeoutNanoseconds: 200_000_000)?["lockstep_role"] == "solo"
            }
            guard isSolo else { throw .timedOut("the primary did not notice its backup's death within 10 s") }
            // The restarted process reports `connected` only once the primary marked it protecting.
            try measureRestart(of: pair.nodes[backup], serving: pair.nodes[primary], keys: keys, into: &result) {
                let fields = pair.info(backup, timeoutNanoseconds: 200_000_000)
                return fields?["lockstep_role"] == "backup" && fields?["lockstep_peer_state"] == "connected"
            }
        } catch {
            result.problem = "\(error)"
        }
        return result
    }

    private func measureRedis(_ executable: String, keys: Int, log: (String) -> Void) -> ScaleResult {
        var result = ScaleResult(system: .redis, keys: keys)
        let pair: RedisPair
        do {
            pair = try RedisPair.start(executable: executable)
        } catch {
            result.problem = "Redis did not start: \(error)"
            return result
        }
        defer { pair.stop() }
        do throws(BenchmarkError) {
            log("scale: loading \(keys) keys into Redis")
            result.loadNanoseconds = try load(pair.primary.clientAddress, keys: keys)
            let processes = [("primary", pair.primary), ("replica", pair.replica)]
            result.residentBytesAfterLoad = Self.residentBytes(processes)
            log("scale: restarting the Redis replica (a full sync)")
            try measureRestart(of: pair.replica, serving: pair.primary, keys: keys, into: &result) {
                let control = ControlClient(address: pair.replica.clientAddress)
                defer { control.close() }
                return (try? control.info("replication", timeoutNanoseconds: 200_000_000))?["master_link_status"]
                    == "up"  // not answering yet: keep polling
            }
        } catch {
            result.problem = "\(error)"
        }
        return result
    }

    /// Restarts `follower` while a probe measures `primary`, until `isProtected` holds or the deadline for `keys` passes:
    /// the time it took, the probe's latencies and every process's memory go into `result`.
    private func measureRestart(
        of follower: ServerProcess, serving primary: ServerProcess, keys: Int, into result: inout ScaleResult,
        isProtected: () -> Bool
    ) throws(BenchmarkError) {
        let probe = try LatencyProbe(target: primary.clientAddress)
        let start = monotonicNanoseconds()
        do {
            try follower.restart()
        } catch {
            _ = probe.stop()
            throw .system(error)
        }
        let isDone = poll(until: reprotectDeadline(keys), every: .milliseconds(20), isProtected)
        let end = monotonicNanoseconds()
        (result.probe, result.probeErrors) = probe.stop()
        if isDone { result.reprotectNanoseconds = end - start }
        result.residentBytesAfterReprotect = Self.residentBytes([("primary", primary), (result.followerName, follower)])
        if !isDone { result.problem = "the restarted \(result.followerName) was not protecting before the deadline" }
    }

    /// Writes `key:0` … `key:<keys-1>` through one connection with `loadDepth` SETs in flight; returns the time taken.
    func load(_ address: SocketAddress, keys: Int) throws(BenchmarkError) -> UInt64 {
        try Self.load(address, keys: keys, valueBytes: valueBytes)
    }

    /// Writes `key:0` … `key:<keys-1>` with `valueBytes`-byte values through one connection with `loadDepth` SETs in
    /// flight; returns the time taken. The durability group loads its keys the same way.
    static func load(_ address: SocketAddress, keys: Int, valueBytes: Int) throws(BenchmarkError) -> UInt64 {
        let connection = try PipelinedConnection(to: address)
        let start = monotonicNanoseconds()
        let end = start + UInt64((60 + Double(keys) / Self.loadRateFloor) * 1e9)
        var sent = 0
        while sent < keys {
            var batch: [UInt8] = []
            for index in sent..<min(sent + Self.loadBatch, keys) {
                batch += Workload.command(["SET", "key:\(index)", Workload.value(index, bytes: valueBytes)])
            }
            try connection.send(batch, deadline: end)
            sent = min(sent + Self.loadBatch, keys)
            if sent - connection.replies > Self.loadDepth {
                try connection.awaitReplies(sent - Self.loadDepth, deadline: end)
            }
        }
        try connection.awaitReplies(keys, deadline: end)
        guard connection.errors == 0 else {
            throw .unexpectedReply("\(connection.errors) errors loading, first: \(connection.firstError ?? "?")")
        }
        return monotonicNanoseconds() - start
    }

    private func reprotectDeadline(_ keys: Int) -> UInt64 {
        deadline(seconds: 60 + Double(keys) / Self.reprotectRateFloor)
    }

    private static func residentBytes(_ processes: [(String, ServerProcess)]) -> [String: UInt64] {
        var sizes: [String: UInt64] = [:]
        for (name, process) in processes { sizes[name] = ProcessStat.residentBytes(of: process.pid) }
        return sizes
    }
}
