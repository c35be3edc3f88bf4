import Durability
import LogChannel
import Node
import Posix
import Primary
import Replication

/// Everything a node runtime needs: the node's identity and protocol limits, where to listen, and the runtime's
/// own bounds (STYLE 6: every queue and buffer has a named bound, checked at startup).
public struct RuntimeConfiguration: Sendable {
    /// Names, advertised addresses and protocol limits. Advertised addresses ending in `:0` are replaced by the
    /// addresses actually bound, so tests can ask for any free port.
    public var node: NodeConfiguration
    /// Where clients connect, `"HOST:PORT"`; port 0 lets the kernel choose.
    public var clientListenAddress: String
    /// Where the peer's logging channel connects, `"HOST:PORT"`; port 0 lets the kernel choose.
    public var channelListenAddress: String
    /// The secret both nodes hold (at least `ClusterSecret.minimumBytes` bytes, e.g. read by
    /// `ClusterSecretFile.read`): every logging-channel connection must prove it before any other frame
    /// (`ChannelHandshake`). Required: empty, the node does not start, because a channel anyone can open hands the
    /// whole state to whoever asks and lets a stranger pose as the backup.
    public var clusterSecret: [UInt8] = []

    /// Where the Prometheus metrics endpoint listens, `"HOST:PORT"` (port 0 lets the kernel choose); nil, the
    /// default, opens no metrics port. See `MetricsPort`.
    public var metricsListenAddress: String?
    /// The password a scrape must present, as `Authorization: Bearer` or Basic credentials (`MetricsPassword`); empty,
    /// the default, leaves the metrics port open. An application whose clients must authenticate gives its client
    /// password here too, since the metrics show what its status commands show.
    public var metricsPassword: [UInt8] = []
    /// How long a metrics connection may take from its accept to its close: to send its request and take the
    /// response. A scrape needs one round trip, and Prometheus' own scrape timeout defaults to 10 s; past this a
    /// client sending a byte at a time (a slowloris), or not reading, is closed, so it cannot hold one of the
    /// `metricsConnectionsLimit` places for long.
    public var metricsRequestDeadline: Duration = Self.defaultMetricsRequestDeadline
    /// `metricsRequestDeadline`'s default, named so the CLI's help and tests can quote it.
    public static let defaultMetricsRequestDeadline: Duration = .seconds(5)

    /// Send a heartbeat after this long without sending anything on a channel.
    public var heartbeatInterval: Duration = .milliseconds(50)
    /// Presume the peer dead after this long without a byte from it (DESIGN 3: sub-second by default).
    public var silenceTimeout: Duration = .milliseconds(300)
    /// Give up a dial to the primary that has not connected after this long; the core retries.
    public var dialTimeout: Duration = .seconds(2)
    /// Close a logging channel whose peer has not proved the cluster secret this long after it opened. The
    /// handshake takes one round trip; a second is ample on a loaded machine, and short enough that strangers
    /// cannot hold the node's few channel slots (`channelConnectionsLimit`).
    public var channelHandshakeTimeout: Duration = .seconds(1)
    /// Open client connections; more are told so (the protocol's `refusalReply`) and closed at once, as Redis does
    /// past `maxclients`, whose default this is. Each costs a file descriptor: see `NodeRuntime`'s start-up check.
    public var clientConnectionsLimit = 10_000
    /// Close a client connection that has been idle this long: no request in flight, nothing unwritten, no byte
    /// read (Redis's `timeout`). Zero never closes one, as in Redis. Without it, idle connections (a slowloris, or
    /// clients that vanished without a FIN) hold their slots of `clientConnectionsLimit` for ever.
    public var clientIdleTimeout: Duration = .zero
    /// Unconsumed bytes one client connection may hold (its query buffer; Redis's `client-query-buffer-limit`,
    /// whose 1 GiB default this is); past it the client gets the protocol's refusal and is closed. It must hold the
    /// largest request on the wire plus one read, so `checked` requires `replicatedBytesLimit + clientReadBufferBytes`;
    /// the default leaves room for a request's framing on top of the key-value protocol's 512 MiB of arguments.
    public var clientQueryBufferBytesLimit = 1 << 30
    /// Reply bytes waiting for a client that does not read; past this it is disconnected (like Redis's
    /// `client-output-buffer-limit`), because the alternative is unbounded memory for one slow client. Redis sets no
    /// limit for ordinary clients; this one must let a reader take the largest value a request can write (512 MiB),
    /// so it matches the query buffer's.
    public var clientOutputBytesLimit = 1 << 30
    /// Requests in flight on one connection (parsed, reply not yet written). A pipelining client past this is
    /// simply not read until replies drain: backpressure, not an error.
    public var clientPendingRepliesLimit = 1024
    /// Bytes taken from one client socket per readiness event; one reusable buffer serves every client.
    public var clientReadBufferBytes = 64 << 10
    /// Bytes of replicated commands handed to the core in one round (next to `intakeBatchLimit` commands). The
    /// core may overshoot its unacked-bytes bound by one batch before it pauses intake, so this caps the overshoot.
    public var intakeBatchBytesLimit = 8 << 20
    /// The largest logging-channel frame body accepted from the peer. Must hold an entry's part
    /// (`Frame.entryPartBytes`: larger entries travel in parts) and a checkpoint chunk.
    public var frameBodyBytesLimit = Self.defaultFrameBodyBytesLimit
    /// `frameBodyBytesLimit` unless configured otherwise: the largest frame a stranger may announce to a node.
    public static let defaultFrameBodyBytesLimit = 4 << 20
    /// Bytes of one logging-channel read buffer.
    public var channelReadBufferBytes = 256 << 10
    /// How long an exiting node waits for its channel to drain (a handover frame to be read) and for its clients
    /// to drain (last replies taken, requests in flight refused), before it closes everything anyway.
    public var exitLingerLimit: Duration = .seconds(1)
    /// How long an exiting node keeps a client connection open once it has nothing outstanding (every request
    /// answered, every reply written) and has sent nothing more. A client usually sends its next request the moment
    /// it reads a reply; closing sooner would cut that request off and leave its outcome unknown to the client,
    /// whereas kept open it is read and refused (never executed), so the client may retry it on the new primary.
    /// `exitLingerLimit` still bounds the whole exit.
    public var clientDrainQuietLimit: Duration = .milliseconds(100)
    /// How long the loop polls for its next event before it sleeps (`EventLoop.pollBeforeSleep`, at most
    /// `EventLoop.pollBeforeSleepLimit`); zero sleeps at once. Polling yields to anything runnable, so it spends
    /// only CPU time nobody else wants, and it saves each hop of a request a wakeup of a sleeping thread, which
    /// costs tens of microseconds on a VM (Benchmarks/README.md). 50 µs covers a loopback hop and a client's
    /// turnaround on this machine; an idle node polls once after each burst of activity, then sleeps.
    public var pollBeforeSleep: Duration = Self.defaultPollBeforeSleep
    /// `pollBeforeSleep`'s default, named so the CLI's help can quote it.
    public static let defaultPollBeforeSleep: Duration = .microseconds(50)
    /// The address the live node holds for its clients, if any (`ServiceAddress`): added and announced when the
    /// node goes live, removed when it stops being live, and removed at start if a crash left it.
    public var serviceAddress: ServiceAddress?
    /// The command run on every role change, if any (`RoleChangeHook`).
    public var roleChangeHook: RoleChangeHook?
    /// Where this node keeps its durable log, snapshots and markers; nil keeps nothing on disk (a double failure
    /// then loses the state). Setting it sets `node.isDurable`.
    public var dataDirectory: String?
    /// How often the durable log reaches the disk (with `dataDirectory`).
    public var fsync: FsyncPolicy = .everysec
    /// The log grows by this much before a snapshot is taken and the log behind it removed.
    public var snapshotAfterLogBytes = 64 << 20
    /// The bounds on durable files and the memory that reads and writes them.
    public var durabilityLimits = DurabilityLimits()

    /// The largest log entry: the client protocol's largest command and what its entry records. Set by `checked`,
    /// from the protocol, so the peer's decoder accepts (`ChannelConnection.Configuration.entryBytesLimit`) and the
    /// durable log holds any entry this node can make; a peer running the same protocol settings makes none larger.
    private(set) var entryBytesLimit = 0

    /// A configuration with every bound at its default.
    public init(node: NodeConfiguration, clientListenAddress: String, channelListenAddress: String) {
        self.node = node
        self.clientListenAddress = clientListenAddress
        self.channelListenAddress = channelListenAddress
    }

    /// How often idle client connections are looked for, when `clientIdleTimeout` is set: one pass over the
    /// connection table per interval, rather than a clock read per request. A connection is closed after between
    /// `clientIdleTimeout` and `clientIdleTimeout` + this of idleness.
    public static let clientIdleSweepInterval: Duration = .seconds(1)

    /// Room a log entry needs around the command itself: kind, recorded-value count, and the recorded values
    /// (9 bytes each; 64 KiB is over 7,000 clock or random reads by one command).
    public static let entryOverheadBytesLimit = 64 << 10
    /// Channels open at once that are authenticated or dialed by this node: the peer, plus a few half-open dials or
    /// strays holding the secret. The core closes unidentified channels past `node.unidentifiedChannelsLimit`; this
    /// bounds the runtime's table even before that. Connections still in their handshake are bounded apart
    /// (`unauthenticatedChannelsLimit`), so strangers never take these places.
    public static let channelConnectionsLimit = 16
    /// Accepted logging-channel connections still in their handshake, beside `channelConnectionsLimit`. Past it, a
    /// new one evicts the oldest that has not sent its challenge (`ChannelPort`). The bound is what strangers can
    /// make a node hold (each at most a handshake frame, `Frame.handshakeBodyBytesLimit`, and a small read buffer);
    /// its size is how many connections a flood must open within one honest handshake's round trip to evict it.
    public static let unauthenticatedChannelsLimit = 64

    /// Metrics connections open at once; more are answered 503 and closed. Prometheus makes one per scrape, and a
    /// few more leave room for an operator's `curl` while a handful of slow clients wait out their deadline.
    public static let metricsConnectionsLimit = 16
    /// The longest metrics request head (request line and headers) read; past it the answer is 431. A scrape's head
    /// is a few hundred bytes; 8 KiB is what common HTTP servers accept by default.
    public static let metricsRequestHeadBytesLimit = 8 << 10

    /// The configuration, or why it cannot work; `replicatedBytesLimit` is the client protocol's largest command.
    func checked(replicatedBytesLimit: Int) throws(RuntimeError) -> RuntimeConfiguration {
        do {
            _ = try node.primaryLimits.checked()
        } catch {
            throw .invalidConfiguration(error.description)
        }
        do {
            _ = try ClusterSecret(clusterSecret)
        } catch {
            throw .invalidConfiguration(clusterSecret.isEmpty ? "no cluster secret was given; \(error)" : "\(error)")
        }
        guard channelHandshakeTimeout > .zero else {
            throw .invalidConfiguration("the channel handshake timeout must be positive")
        }
        guard heartbeatInterval > .zero, heartbeatInterval < silenceTimeout else {
            throw .invalidConfiguration(
                "heartbeat interval \(heartbeatInterval) must be positive and below the silence timeout "
                    + "\(silenceTimeout), or a live peer would be declared dead")
        }
        guard pollBeforeSleep >= .zero, pollBeforeSleep <= EventLoop.pollBeforeSleepLimit else {
            throw .invalidConfiguration(
                "polling before sleep for \(pollBeforeSleep) is outside 0...\(EventLoop.pollBeforeSleepLimit)")
        }
        guard dialTimeout > .zero, exitLingerLimit >= .zero, clientDrainQuietLimit >= .zero else {
            throw .invalidConfiguration(
                "the dial timeout must be positive, and the exit linger and client drain quiet limit not negative")
        }
        guard clientConnectionsLimit > 0, intakeBatchBytesLimit > 0, clientPendingRepliesLimit > 0,
            clientReadBufferBytes > 0, channelReadBufferBytes > 0, clientOutputBytesLimit > 0
        else {
            throw .invalidConfiguration("client and channel limits must all be positive")
        }
        guard clientConnectionsLimit <= EventLoop.timersLimit / 2 else {
            // Each connection may hold a timer for its blocking command's timeout.
            throw .invalidConfiguration(
                "at most \(EventLoop.timersLimit / 2) client connections (each may hold a timer of the event loop)")
        }
        do {
            _ = try durabilityLimits.checked()
        } catch {
            throw .invalidConfiguration(error.reason)
        }
        guard snapshotAfterLogBytes > 0 else {
            throw .invalidConfiguration("the log size that triggers a snapshot must be positive")
        }
        guard metricsRequestDeadline > .zero else {
            throw .invalidConfiguration("the metrics request deadline \(metricsRequestDeadline) must be positive")
        }
        guard clientIdleTimeout >= .zero else {
            throw .invalidConfiguration("the client idle timeout \(clientIdleTimeout) is negative")
        }
        guard clientQueryBufferBytesLimit >= replicatedBytesLimit + clientReadBufferBytes else {
            throw .invalidConfiguration(
                "the \(clientQueryBufferBytesLimit)-byte client query buffer limit cannot hold the client protocol's "
                    + "largest command (\(replicatedBytesLimit) bytes) and one \(clientReadBufferBytes)-byte read")
        }
        guard frameBodyBytesLimit <= Int(UInt32.max), frameBodyBytesLimit >= Frame.entryPartBytes else {
            throw .invalidConfiguration(
                "frame body limit \(frameBodyBytesLimit) is outside \(Frame.entryPartBytes)...\(UInt32.max) (an "
                    + "entry's part must fit, and the header must hold it)")
        }
        let entryBytes = replicatedBytesLimit + Self.entryOverheadBytesLimit
        guard dataDirectory == nil || entryBytes <= durabilityLimits.recordBytesLimit else {
            throw .invalidConfiguration(
                "the client protocol accepts commands of up to \(replicatedBytesLimit) bytes, which with the "
                    + "entry's recorded values make log records of \(entryBytes) bytes, above the durable log's "
                    + "\(durabilityLimits.recordBytesLimit)-byte record limit")
        }
        guard node.backupLimits.pendingEntriesLimit > node.primaryLimits.unackedEntriesCapacity else {
            throw .invalidConfiguration(
                "the backup's \(node.backupLimits.pendingEntriesLimit)-entry pending limit cannot buffer the "
                    + "\(node.primaryLimits.unackedEntriesCapacity) entries the primary may log while a checkpoint "
                    + "installs; raise it above that")
        }
        if let hook = roleChangeHook {
            guard !hook.command.allSatisfy(\.isWhitespace) else {
                throw .invalidConfiguration("the role-change hook's command is empty")
            }
            guard hook.timeout > .zero, hook.timeout <= RoleChangeHook.timeoutLimit else {
                throw .invalidConfiguration(
                    "the role-change hook's time limit \(hook.timeout) is outside (0, \(RoleChangeHook.timeoutLimit)]")
            }
        }
        let chunkBytes = node.primaryLimits.checkpointChunkBytes + 64
        guard chunkBytes <= frameBodyBytesLimit else {
            throw .invalidConfiguration(
                "checkpoint chunks of \(node.primaryLimits.checkpointChunkBytes) bytes do not fit the "
                    + "\(frameBodyBytesLimit)-byte frame limit")
        }
        var checked = self
        checked.entryBytesLimit = entryBytes
        return checked
    }

    /// The logging channel's transport settings.
    ///
    /// The transport bounds only bytes not yet written to the socket; the unacked log is the primary core's to
    /// bound (`PrimaryLimits`). The transport's bound sits above everything the core can have in flight: the
    /// unacked log, overshot by at most one intake batch (whose last command may be the largest entry) before the
    /// core pauses, ticks and digests added meanwhile, and a window of checkpoint chunks (`checkpointWindowChunks`),
    /// the most of a checkpoint the core has unacked. So only a peer that stops reading can reach it.
    var channelConfiguration: ChannelConnection.Configuration {
        let limits = node.primaryLimits
        let entryWireBytes = Frame.entryWireBytes(payloadByteCount: entryBytesLimit)
        let logBytes = limits.unackedBytesLimit + 2 * (intakeBatchBytesLimit + entryWireBytes) + (1 << 20)
        let checkpointFramesBytes =
            limits.checkpointWindowChunks * (limits.checkpointChunkBytes + FrameCodec.overheadBytes + Frame.checkpointFieldsBytes)
        return ChannelConnection.Configuration(
            heartbeatInterval: heartbeatInterval, silenceTimeout: silenceTimeout, connectTimeout: dialTimeout,
            unwrittenBytesLimit: logBytes + checkpointFramesBytes,
            bodyBytesLimit: frameBodyBytesLimit, entryBytesLimit: entryBytesLimit,
            readBufferBytes: channelReadBufferBytes,
            handshakeTimeout: channelHandshakeTimeout)
    }
}
