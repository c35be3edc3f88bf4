import Arbiter
import Glibc
import KeyValue
import Node
import Posix
import Runtime
import Synchronization

/// `lockstep node`: one node of a pair, running the Redis-protocol key-value store until told to stop.
///
/// SIGTERM and SIGINT become `NodeRuntime.requestStop()` (a primary first hands over to a caught-up backup):
/// `NodeRuntime.runUntilStopped`.
enum NodeCommand {
    /// How often a node started by `pair` checks that its supervisor is still there.
    static let parentCheckInterval: Duration = .milliseconds(200)

    static var help: String {
        let defaults = defaultConfiguration
        let primary = defaults.node.primaryLimits
        let hook = (
            timeout: RoleChangeHook.defaultTimeout.wholeMilliseconds, lines: RoleChangeHook.outputLinesLimit,
            waiting: RoleChangeHook.pendingRunsLimit
        )
        let poll = (
            limit: EventLoop.pollBeforeSleepLimit.wholeMicroseconds, default: defaults.pollBeforeSleep.wholeMicroseconds
        )
        return """
            Usage: lockstep node --name NAME --client HOST:PORT --channel HOST:PORT --peer HOST:PORT \
            --arbiter DIR --cluster-secret-file PATH [options]

            Runs one node. Run the same command, with its own addresses, on each of two machines that share
            the arbiter directory; whichever takes epoch 1 first is the primary, the other joins it as backup.
            A node that restarts (or starts late) joins the live primary as backup and catches up by itself.

            Required:
              --name NAME           this node's name, in logs, arbiter records and INFO (letters, digits, . - _)
              --client HOST:PORT    where Redis clients connect (IPv4 or localhost; port 0 picks a free one)
              --channel HOST:PORT   where the logging-channel listener binds
              --peer HOST:PORT      the other node's logging-channel address
              --arbiter DIR         the shared arbiter directory; must exist (a missing share is an error)
                                    or etcd://HOST:PORT[,HOST:PORT...]/PREFIX: epochs on an etcd cluster
              --cluster-secret-file PATH
                                    the secret both nodes hold (the same file on each): 32 to 4096 bytes,
                                    mode 0600 (a file group or others can read is refused); every logging
                                    channel must prove it before anything else is sent (lockstep pair makes
                                    one; or `head -c 32 /dev/urandom > PATH && chmod 600 PATH`)

            Options:
              --advertise HOST:PORT the channel address the peer should dial, if not --channel (e.g. behind
                                    a proxy or NAT) (default: --channel)
              --announce-client HOST:PORT
                                    the client address clients should dial, if not --client: what the node
                                    tells its peer, the arbiter and Sentinel clients, and names in READONLY;
                                    required when --client is 0.0.0.0 (default: --client)
              --heartbeat MS        heartbeat interval on an idle logging channel (default \
            \(defaults.heartbeatInterval.wholeMilliseconds))
              --timeout MS          silence after which the peer is presumed dead and the arbiter is asked
                                    (default \(defaults.silenceTimeout.wholeMilliseconds)); must exceed --heartbeat
              --unacked-entries N   log entries the primary may have sent and not yet had acked; it stops
                                    taking commands at this many (default \(primary.unackedEntriesLimit))
              --unacked-bytes N     the same bound in bytes; caps what a failover replays (default \
            \(primary.unackedBytesLimit))
              --replay-lag N        entries the backup may have received and not yet replayed before the
                                    primary slows down (default \(primary.replayLagLimit))
              --poll-us US          microseconds the node polls for its next event before it sleeps, 0 to
                                    \(poll.limit) (default \(poll.default)); polling yields to anything else
                                    runnable, and spares each hop a wakeup (tens of µs on a VM)
            \(ClientOptions.help(defaults))
              --metrics HOST:PORT   serve Prometheus metrics at http://HOST:PORT/metrics (role, epoch, log
                                    positions, replay lag, unacked log, checkpoint progress, role changes by
                                    reason, client and channel counters; what INFO shows). With
                                    --requirepass-file a scrape must send the same password, as
                                    `Authorization: Bearer PASSWORD` or Basic auth (any user name); without
                                    one the port is as open as the client port. A request must arrive and
                                    its answer be taken within \(RuntimeConfiguration.defaultMetricsRequestDeadline
                                    .components.seconds) s (default: no metrics port)
              --service-address ADDR/PREFIX
                                    an address clients use for whichever node is live, e.g. 10.0.0.100/24:
                                    the node that goes live adds it to --service-device and announces it by
                                    gratuitous ARP; a node that stops being live removes it, and a node
                                    removes a copy left by a crash before it listens (needs CAP_NET_ADMIN and
                                    CAP_NET_RAW; listen with --client 0.0.0.0:PORT so the address is served)
              --service-device DEV  the network device the service address goes on (with --service-address)
              --on-role-change CMD  run `/bin/sh -c CMD` on every role change, one run at a time in order, with
                                    LOCKSTEP_ROLE, LOCKSTEP_PREVIOUS_ROLE, LOCKSTEP_EPOCH, LOCKSTEP_REASON
                                    (e.g. primary_lost) and LOCKSTEP_NODE set; its output is logged, at most
                                    \(hook.lines) lines a run; past \(hook.waiting) waiting runs the oldest waiting
                                    one is dropped
              --on-role-change-timeout MS
                                    kill the hook (its whole process group) after MS (default \(hook.timeout))
              --data-dir DIR        keep a durable log, snapshots and markers in DIR (created if missing; one
                                    node per directory): after both nodes die, the node whose disk proves it
                                    holds every acknowledged write comes back by itself with them, and the
                                    other rejoins it (default: none, the state lives in memory only)
              --fsync POLICY        with --data-dir: always (every batch synced before its replies or acks,
                                    survives a power cut), everysec (synced once a second; survives the
                                    process dying) or no (the kernel decides) (default everysec)
              --parent-pid PID      stop when process PID is no longer this node's parent (lockstep pair
                                    passes its own; a killed supervisor then leaves no orphan node)
              -h, --help            show this help

            Signals: SIGTERM or SIGINT stop the node cleanly (a primary first hands over to a caught-up
            backup); a second one exits at once.

            Logs go to stderr, one line each: an ISO-8601 UTC timestamp, [NAME], the message. Each role change
            has a line with its reason. Stdout gets one line at start with the node's addresses.

            \(ExitCode.helpText)
            """
    }

    /// A configuration with placeholder addresses: where the defaults in `--help` come from, so the help can
    /// never disagree with what the runtime does.
    static var defaultConfiguration: RuntimeConfiguration {
        configuration(
            name: "-", client: .loopback(port: 0), channel: .loopback(port: 0), advertise: .loopback(port: 0),
            peer: .loopback(port: 0), arbiter: "-")
    }

    static func configuration(
        name: String, client: SocketAddress, announcedClient: SocketAddress? = nil, channel: SocketAddress,
        advertise: SocketAddress, peer: SocketAddress, arbiter: String
    ) -> RuntimeConfiguration {
        let node = NodeConfiguration(
            nodeName: name, channelAddress: advertise.description,
            clientAddress: (announcedClient ?? client).description, peerChannelAddress: peer.description)
        return RuntimeConfiguration(
            node: node, clientListenAddress: client.description, channelListenAddress: channel.description)
    }

    static func configuration(_ options: NodeOptions) throws(CommandError) -> RuntimeConfiguration {
        var configuration = configuration(
            name: options.name, client: options.clientAddress, announcedClient: options.announcedClientAddress,
            channel: options.channelAddress, advertise: options.advertiseAddress, peer: options.peerAddress,
            arbiter: options.arbiterDirectory)
        if let heartbeat = options.heartbeatInterval { configuration.heartbeatInterval = heartbeat }
        if let timeout = options.silenceTimeout { configuration.silenceTimeout = timeout }
        guard configuration.silenceTimeout > configuration.heartbeatInterval else {
            throw .usage(
                "--timeout (\(configuration.silenceTimeout.wholeMilliseconds) ms) must exceed --heartbeat "
                    + "(\(configuration.heartbeatInterval.wholeMilliseconds) ms), or an idle peer looks dead")
        }
        if let entries = options.unackedEntriesLimit {
            configuration.node.primaryLimits.unackedEntriesLimit = entries
            // A backup buffers what its primary may log while a checkpoint installs; both nodes take the same flags.
            configuration.node.backupLimits.pendingEntriesLimit = max(
                configuration.node.backupLimits.pendingEntriesLimit,
                configuration.node.primaryLimits.unackedEntriesCapacity + 1)
        }
        if let bytes = options.unackedBytesLimit { configuration.node.primaryLimits.unackedBytesLimit = bytes }
        if let lag = options.replayLagLimit { configuration.node.primaryLimits.replayLagLimit = lag }
        if let poll = options.pollBeforeSleep { configuration.pollBeforeSleep = poll }
        configuration.metricsListenAddress = options.metricsAddress?.description
        options.client.apply(to: &configuration)
        configuration.serviceAddress = options.serviceAddress
        configuration.roleChangeHook = options.roleChangeHook
        configuration.dataDirectory = options.dataDirectory
        configuration.fsync = options.fsync
        return configuration
    }

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        let arguments = try Arguments(words, command: "node", valued: NodeOptions.valuedFlags)
        if arguments.wantsHelp {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        let options = try NodeOptions(arguments)
        var configuration = try configuration(options)
        let arbiter = try ArbiterChoice.arbiter(for: options)
        let passwordBytes = try options.client.passwordBytes()
        let password = passwordBytes.flatMap { ClientPassword($0) }
        // The metrics show what INFO shows, which needs AUTH on a node with a password: scrapes need it too.
        configuration.metricsPassword = passwordBytes ?? []
        do {
            configuration.clusterSecret = try ClusterSecretFile.read(atPath: options.clusterSecretFile)
        } catch {
            throw .failure("node \(options.name) cannot start: \(error)")
        }
        Signals.ignoreBrokenPipe()

        let name = options.name
        let runtime: NodeRuntime<KeyValueClientProtocol>
        // One slow log and one keyspace event setting for the node: the store notes into the one and reads the other,
        // SLOWLOG and CONFIG on the client port read and set them.
        let slowLog = SlowLog()
        let keyspaceEvents = KeyspaceEventSettings()
        do {
            runtime = try NodeRuntime(
                configuration: configuration,
                protocol: KeyValueClientProtocol(
                    requiredPassword: password,
                    service: SentinelService(
                        name: options.client.serviceName,
                        downAfterMilliseconds: Int(configuration.silenceTimeout.wholeMilliseconds)),
                    slowLog: slowLog, keyspaceEvents: keyspaceEvents, sessionLimits: options.client.sessionLimits,
                    memoryLimit: MemoryLimit(bytes: options.client.memoryLimitBytes)),
                emptyMachine: KeyValueStore(slowLog: slowLog, keyspaceEvents: keyspaceEvents), arbiter: arbiter,
                log: { LogLine.write(name, "\($0)") })
        } catch {
            throw .failure("node \(name) cannot start: \(error)")
        }
        let advertised = options.advertiseAddress == options.channelAddress
            ? "" : " (advertised as \(options.advertiseAddress))"
        let metrics = runtime.metricsAddress.map { ", metrics on http://\($0)/metrics" } ?? ""
        let announced = options.announcedClientAddress == options.clientAddress
            ? "" : " (announced as \(options.announcedClientAddress))"
        writeStandardOutput(
            "lockstep node \(name): clients on \(runtime.clientAddress)\(announced), logging channel on "
                + "\(runtime.channelAddress)\(advertised), peer at \(options.peerAddress), arbiter "
                + "\(options.arbiterDirectory)\(metrics)\n")

        let exitReason: ExitReason
        let wasRequested: Bool
        do {
            (exitReason, wasRequested) = try runtime.runUntilStopped(parentProcessID: options.parentProcessID)
        } catch {
            throw .failure("node \(name) failed: \(error)")
        }
        if wasRequested {
            LogLine.write(name, "stopped cleanly: \(exitReason)")
            return ExitCode.success
        }
        // Not asked to stop: the node gave up by itself (e.g. deposed as primary, or diverged). Exit code 1 tells
        // a supervisor to restart it; it then rejoins as backup.
        throw .failure("node \(name) stopped by itself: \(exitReason)")
    }
}
