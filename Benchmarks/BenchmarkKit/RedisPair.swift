import Glibc
import Posix

/// A Redis primary with one replica on loopback: the reference a user would pick instead.
///
/// Plain SET measures asynchronous replication (the reply does not wait for the replica); SET followed by
/// `WAIT 1` measures Redis's synchronous idiom, Lockstep's true competitor. Without persistence (the default) neither
/// writes anything to disk; with an `appendfsync` policy both run `appendonly yes` with it, each in its own directory
/// (Redis keeps its append-only files in a directory of fixed name under `--dir`).
public final class RedisPair {
    public let primary: ServerProcess
    public let replica: ServerProcess
    let directory: String

    /// Starts both with `redis-server` at `executable`, with `appendonly yes` and `appendfsync` `persistence` if one
    /// is given, and waits for `master_link_status:up` on the replica.
    public static func start(executable: String, persistence: FsyncPolicy? = nil) throws(BenchmarkError) -> RedisPair {
        var lastError: BenchmarkError = .setupFailed("no attempt made")
        for _ in 0..<3 {  // a port taken between choosing and binding costs one retry
            do {
                return try RedisPair(executable: executable, persistence: persistence)
            } catch {
                lastError = error
            }
        }
        throw lastError
    }

    /// The command line of one `redis-server` on `port` keeping its files in `directory`: no snapshots, and the
    /// append-only file with `persistence` if given.
    static func arguments(port: UInt16, directory: String, persistence: FsyncPolicy?) -> [String] {
        let appendOnly =
            persistence.map { ["--appendonly", "yes", "--appendfsync", $0.rawValue] } ?? ["--appendonly", "no"]
        return [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--protected-mode", "no", "--daemonize", "no",
            "--dir", directory, "--logfile", "",
            // A full sync starts at once rather than after the default 5 s wait for more replicas to join it.
            "--repl-diskless-sync-delay", "0",
        ] + appendOnly
    }

    private init(executable: String, persistence: FsyncPolicy?) throws(BenchmarkError) {
        let ports: [UInt16]
        let directory: String
        do {
            directory = try ProcessSupervisor.shared.makeTemporaryDirectory(prefix: "lockstep-bench-redis")
            ports = try TCP.FreePorts.distinct(2)
        } catch {
            throw .system(error)
        }
        self.directory = directory
        for name in ["primary", "replica"] where mkdir("\(directory)/\(name)", 0o755) != 0 {
            let error = SystemError(call: "mkdir", errno: errno, context: "\(directory)/\(name)")
            ProcessSupervisor.shared.removeDirectory(directory)
            throw .system(error)
        }
        do {
            primary = try ServerProcess(
                name: "redis primary", executable: executable,
                arguments: Self.arguments(port: ports[0], directory: "\(directory)/primary", persistence: persistence),
                clientAddress: .loopback(port: ports[0]), logPath: "\(directory)/primary.log")
        } catch {
            ProcessSupervisor.shared.removeDirectory(directory)
            throw .system(error)
        }
        do {
            replica = try ServerProcess(
                name: "redis replica", executable: executable,
                arguments: Self.arguments(port: ports[1], directory: "\(directory)/replica", persistence: persistence)
                    + ["--replicaof", "127.0.0.1", "\(ports[0])"],
                clientAddress: .loopback(port: ports[1]), logPath: "\(directory)/replica.log")
        } catch {
            primary.kill()
            ProcessSupervisor.shared.removeDirectory(directory)
            throw .system(error)
        }
        do throws(BenchmarkError) {
            try primary.waitUntilListening(deadline: deadline(seconds: 10))
            try replica.waitUntilListening(deadline: deadline(seconds: 10))
            let control = ControlClient(address: replica.clientAddress)
            let isUp = poll(until: deadline(seconds: 15), every: .milliseconds(20)) {
                (try? control.info("replication"))?["master_link_status"] == "up"  // not yet answering: keep polling
            }
            guard isUp else {
                throw .timedOut(
                    "the Redis replica never reported master_link_status:up; its log ends:\n\(replica.logTail())")
            }
        } catch {
            stop()
            throw error
        }
    }

    /// CPU of both processes, for the load generator's sampler.
    public var cpuSampler: CPUSampler {
        let primaryPID = primary.pid, replicaPID = replica.pid
        return {
            var sample: [String: UInt64] = [:]
            sample["redis primary"] = ProcessStat.cpuNanoseconds(of: primaryPID)
            sample["redis replica"] = ProcessStat.cpuNanoseconds(of: replicaPID)
            return sample
        }
    }

    public func stop() {
        primary.kill()
        replica.kill()
        ProcessSupervisor.shared.removeDirectory(directory)
    }
}
