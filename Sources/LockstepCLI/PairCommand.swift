import Arbiter
import Glibc
import Posix
import Runtime

/// `lockstep pair`: both nodes on this machine as supervised child processes; the README's "run" command.
///
/// Each node is this same executable started as `lockstep node`, so `pair` exercises exactly what two machines
/// would run. Each node keeps its durable log in `DIR/node-a` or `DIR/node-b`, so a pair started again over the
/// same directory continues its cluster; `--fresh` (or a directory whose nodes hold no data yet) starts a new one
/// by retiring the epoch records (`DirectoryArbiter.reset()`) and moving the data aside, which is safe here because
/// `pair` owns both nodes and has just checked that their ports are free.
enum PairCommand {
    static let defaultDirectory = "./lockstep-data"
    static let defaultPort = 7000
    /// Logging channels sit this far above the client ports, so N, N+1, N+1000 and N+1001 are the four ports.
    static let channelPortOffset = 1_000
    static let host: UInt32 = 0x7F00_0001

    static var help: String {
        let restartDelay = Supervisor.restartDelay.wholeMilliseconds, restartsLimit = Supervisor.restartsLimit
        let restartWindow = Supervisor.restartWindow.components.seconds
        let stopDeadline = Supervisor.stopDeadline.components.seconds
        return """
            Usage: lockstep pair [--dir PATH] [--port N] [--fresh] [--fsync POLICY] [--metrics-port M]
                                 [--parent-pid PID] [client options]

            Runs both nodes of a pair on this machine, as child processes, over a data directory:

              node a: clients on 127.0.0.1:N,   logging channel on 127.0.0.1:N+1000
              node b: clients on 127.0.0.1:N+1, logging channel on 127.0.0.1:N+1001
              arbiter directory: PATH/arbiter
              durable logs and snapshots: PATH/node-a and PATH/node-b (see --data-dir in lockstep node --help)
              cluster secret: PATH/cluster-secret (32 random bytes, mode 0600, created if missing)

            With the defaults: clients on 7000 and 7001, logging channels on 8000 and 8001. Node a starts
            first and normally becomes the primary; try `redis-cli -p 7000`. The backup answers data commands
            with READONLY naming the primary's address. `lockstep status 127.0.0.1:7000 127.0.0.1:7001` shows
            both.

            The data stays: run pair again over the same directory and the nodes come back with every
            acknowledged write, even after both were killed. --fresh starts a new cluster instead: the previous
            run's epoch records and both nodes' data move to PATH/retired-<unix ms>/ first (so does a directory
            whose nodes hold no data yet). Never run two pairs over the same directory at once.

            Supervision: a node that exits or crashes is restarted after \(restartDelay) ms and rejoins the
            live primary as backup by itself. More than \(restartsLimit) restarts of one node within \(restartWindow) s,
            or a node that rejects its command line, stops the pair (exit code 1). Ctrl-C or SIGTERM stops both
            nodes cleanly: SIGTERM to each, SIGKILL to any still running after \(stopDeadline) s, then exit 0.
            Both nodes' logs go to stderr, each line naming its node; the supervisor's lines say [pair].

            Options:
              --dir PATH  the data directory, created if missing (default \(defaultDirectory))
              --port N    node a's client port; the other three ports follow from it (default \(defaultPort))
              --fresh     start a new, empty cluster (see above)
              --fsync POLICY
                          always, everysec or no, for both nodes (see lockstep node --help) (default everysec)
              --metrics-port M
                          serve Prometheus metrics, node a's at http://127.0.0.1:M/metrics and node b's
                          on M+1 (see --metrics in lockstep node --help; with --requirepass-file a scrape
                          sends the password) (default: no metrics ports)
              --parent-pid PID
                          stop both nodes when process PID is no longer pair's parent: for scripts and test
                          harnesses that start pair, so that their crash leaves no pair behind (default: off)
              -h, --help  show this help

            Client options, passed to both nodes (see lockstep node --help):
            \(ClientOptions.help(NodeCommand.defaultConfiguration))

            \(ExitCode.helpText)
            """
    }

    /// The cluster secret's file name in the data directory.
    static let clusterSecretFileName = "cluster-secret"

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        let arguments = try Arguments(
            words, command: "pair",
            valued: ClientOptions.valuedFlags.union(["--dir", "--port", "--metrics-port", "--parent-pid", "--fsync"]),
            switches: ["--fresh"])
        if arguments.wantsHelp {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        var directory = arguments.string("--dir") ?? defaultDirectory
        guard !directory.isEmpty else { throw .usage("--dir must not be empty") }
        while directory.count > 1 && directory.hasSuffix("/") { directory.removeLast() }
        let port = try arguments.integer(
            "--port", default: defaultPort, in: 1...(Int(UInt16.max) - channelPortOffset - 1))
        var parentProcessID: pid_t?
        if arguments.contains("--parent-pid") {
            parentProcessID = pid_t(try arguments.integer("--parent-pid", default: 0, in: 1...Int(Int32.max)))
        }
        var metricsPort: Int?
        if arguments.contains("--metrics-port") {
            metricsPort = try arguments.integer("--metrics-port", default: 0, in: 1...(Int(UInt16.max) - 1))
        }
        let clientOptions = try ClientOptions(arguments)
        _ = try clientOptions.password()  // a missing or empty password file stops pair here, not each node at start
        let members = [
            Supervisor.Member(
                name: "a", client: .init(ipv4: host, port: UInt16(port)),
                channel: .init(ipv4: host, port: UInt16(port + channelPortOffset)),
                metrics: metricsPort.map { .init(ipv4: host, port: UInt16($0)) }, dataDirectory: directory + "/node-a"),
            Supervisor.Member(
                name: "b", client: .init(ipv4: host, port: UInt16(port + 1)),
                channel: .init(ipv4: host, port: UInt16(port + channelPortOffset + 1)),
                metrics: metricsPort.map { .init(ipv4: host, port: UInt16($0 + 1)) },
                dataDirectory: directory + "/node-b"),
        ]
        let ports = members.flatMap { [$0.client, $0.channel] + ($0.metrics.map { [$0] } ?? []) }
        guard Set(ports).count == ports.count else {
            throw .usage("--metrics-port M uses ports M and M+1, which must not be among the pair's others")
        }

        let arbiterDirectory = directory + "/arbiter"
        try makeDirectories(arbiterDirectory)
        try checkPortsFree(ports)
        let secretFile = directory + "/" + clusterSecretFileName
        do {
            // Created once and kept: both nodes read it, and a stranger who can reach the channel ports cannot.
            try ClusterSecretFile.create(atPath: secretFile)
            _ = try ClusterSecretFile.read(atPath: secretFile)
        } catch {
            throw .failure("\(error)")
        }
        var nodeArguments = clientOptions.nodeArguments
        if let policy = arguments.string("--fsync") {
            guard FsyncPolicy(rawValue: policy) != nil else {
                throw .usage("--fsync must be always, everysec or no, not \(policy)")
            }
            nodeArguments += ["--fsync", policy]
        }
        let hasData = members.contains { access($0.dataDirectory, F_OK) == 0 }
        let isNewCluster = arguments.contains("--fresh") || !hasData
        let retired = isNewCluster
            ? try retire(directory: directory, members: members, arbiterDirectory: arbiterDirectory) : nil
        writeStandardOutput(
            banner(members, directory: directory, arbiter: arbiterDirectory, isNewCluster: isNewCluster, retired: retired))

        Signals.ignoreBrokenPipe()
        let supervisor = try Supervisor(
            members: members, arbiterDirectory: arbiterDirectory, clusterSecretFile: secretFile,
            parentProcessID: parentProcessID, nodeArguments: nodeArguments)
        return supervisor.run()
    }

    static func banner(
        _ members: [Supervisor.Member], directory: String, arbiter: String, isNewCluster: Bool, retired: String?
    ) -> String {
        var text = "lockstep pair: data directory \(directory), arbiter \(arbiter)\n"
        if !isNewCluster {
            text += "  the cluster continues from its data (--fresh starts a new one)\n"
        } else if let retired {
            text += "  a new cluster: the previous run's epoch records and data went to \(retired)\n"
        } else {
            text += "  a new cluster\n"
        }
        for member in members {
            let metrics = member.metrics.map { ", metrics on http://\($0)/metrics" } ?? ""
            text += "  node \(member.name): clients on \(member.client), logging channel on \(member.channel)\(metrics)\n"
        }
        let clients = members.map(\.client.description).joined(separator: " ")
        text += "Try:    redis-cli -p \(members[0].client.port)\n"
        text += "Status: lockstep status \(clients)\n"
        text += "Ctrl-C stops both nodes.\n"
        return text
    }

    /// Moves the epoch records and both nodes' data under `DIR/retired-<unix ms>/`: where they went, nil when there
    /// was nothing to move.
    static func retire(
        directory: String, members: [Supervisor.Member], arbiterDirectory: String
    ) throws(CommandError) -> String? {
        let records = try ArbiterCommand.retire(DirectoryArbiter(directory: arbiterDirectory))
        let existing = members.map(\.dataDirectory).filter { access($0, F_OK) == 0 }
        guard !existing.isEmpty else { return records }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let retired = directory + "/retired-\(Int(now.tv_sec) * 1000 + Int(now.tv_nsec) / 1_000_000)"
        try makeDirectories(retired)
        for path in existing {
            let name = path.split(separator: "/").last.map(String.init) ?? path
            guard rename(path, retired + "/" + name) == 0 else {
                throw .failure("cannot move \(path) to \(retired): \(String(cString: strerror(errno)))")
            }
        }
        return retired + (records.map { " (epoch records: \($0))" } ?? "")
    }

    /// `mkdir -p`: each missing component is created (mode 0755); an existing one is fine.
    static func makeDirectories(_ path: String) throws(CommandError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .failure("cannot create directory \(prefix): \(String(cString: strerror(errno)))")
            }
            prefix += "/"
        }
    }

    /// Binds each address once and lets it go, so a busy port is one clear error before anything starts,
    /// rather than a node that exits and is restarted until the restart limit.
    static func checkPortsFree(_ addresses: [SocketAddress]) throws(CommandError) {
        for address in addresses {
            do {
                let listener = try TCP.listen(on: address)
                // Closing a listener that never accepted anything cannot fail in a way that matters here.
                try? listener.close()
            } catch {
                throw .failure("\(error) (pair uses ports N, N+1, N+1000 and N+1001, and M and M+1 with --metrics-port; choose others)")
            }
        }
    }
}
