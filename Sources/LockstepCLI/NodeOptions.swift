import Glibc
import Posix
import Runtime

/// What `lockstep node` was asked to do, checked, before anything is opened.
///
/// Kept apart from the runtime so that a bad command line is refused (exit code 2) without binding a port or
/// touching the arbiter.
struct NodeOptions: Equatable {
    /// Longest node name; it appears in every log line, arbiter record and INFO answer.
    static let nameCharactersLimit = 64

    var name: String
    /// Where the Redis-protocol listener binds.
    var clientAddress: SocketAddress
    /// The client address this node gives out: to its peer and the arbiter, in READONLY and TRYAGAIN refusals, ROLE,
    /// INFO and Sentinel answers; `clientAddress` unless that is the wildcard 0.0.0.0, which no client can dial.
    var announcedClientAddress: SocketAddress
    /// Where the logging-channel listener binds.
    var channelAddress: SocketAddress
    /// The channel address the peer should dial, recorded with the arbiter; `channelAddress` unless behind a
    /// proxy or NAT.
    var advertiseAddress: SocketAddress
    /// The other node's (advertised) channel address.
    var peerAddress: SocketAddress
    var arbiterDirectory: String
    /// The file holding the cluster secret both nodes share (`ClusterSecretFile`); read at start.
    var clusterSecretFile: String
    /// Nil: the runtime's default.
    var heartbeatInterval: Duration?
    var silenceTimeout: Duration?
    var unackedEntriesLimit: Int?
    var unackedBytesLimit: Int?
    var replayLagLimit: UInt64?
    var pollBeforeSleep: Duration?
    /// Where the Prometheus metrics endpoint listens; nil: no metrics port.
    var metricsAddress: SocketAddress?
    /// When set, the node stops once this process is no longer its parent (how `pair` leaves no orphans).
    var parentProcessID: pid_t?
    /// `--requirepass-file`, `--max-clients`, `--client-timeout`.
    var client: ClientOptions
    /// `--service-address` on `--service-device`: the address the live node holds.
    var serviceAddress: ServiceAddress?
    /// `--on-role-change` and `--on-role-change-timeout`.
    var roleChangeHook: RoleChangeHook?
    /// `--data-dir`: where the durable log lives; nil keeps nothing on disk.
    var dataDirectory: String?
    /// `--fsync`.
    var fsync = FsyncPolicy.everysec

    static let valuedFlags = Set<String>([
        "--name", "--client", "--channel", "--advertise", "--peer", "--arbiter", "--heartbeat", "--timeout",
        "--unacked-entries", "--unacked-bytes", "--replay-lag", "--poll-us", "--parent-pid",
        "--cluster-secret-file", "--metrics", "--announce-client", "--service-address", "--service-device",
        "--on-role-change", "--on-role-change-timeout", "--data-dir", "--fsync",
    ]).union(ClientOptions.valuedFlags)

    init(_ arguments: Arguments) throws(CommandError) {
        name = try arguments.required("--name")
        guard name.count <= Self.nameCharactersLimit,
            name.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)
                || $0 == "-" || $0 == "_" || $0 == ".") })
        else {
            throw .usage("--name must be 1 to \(Self.nameCharactersLimit) letters, digits, '.', '-' or '_'")
        }
        clientAddress = try Arguments.address(try arguments.required("--client"), flag: "--client")
        announcedClientAddress = try arguments.address("--announce-client") ?? clientAddress
        guard announcedClientAddress.ipv4 != 0 else {
            throw .usage(
                "the client address a node announces (to its peer, the arbiter, and Sentinel clients) cannot be the "
                    + "wildcard 0.0.0.0: give --announce-client HOST:PORT, the address clients dial")
        }
        guard arguments.string("--announce-client") == nil || announcedClientAddress.port != 0 else {
            throw .usage("--announce-client needs the port clients dial, not 0")
        }
        channelAddress = try Arguments.address(try arguments.required("--channel"), flag: "--channel")
        advertiseAddress = try arguments.address("--advertise") ?? channelAddress
        peerAddress = try Arguments.address(try arguments.required("--peer"), flag: "--peer")
        arbiterDirectory = try arguments.required("--arbiter")
        clusterSecretFile = try arguments.required("--cluster-secret-file")
        guard clientAddress.port == 0 || clientAddress != channelAddress else {
            throw .usage("--client and --channel must be different ports")
        }
        guard peerAddress != advertiseAddress else {
            throw .usage("--peer is this node's own channel address; give the other node's")
        }
        if arguments.contains("--heartbeat") {
            heartbeatInterval = try arguments.milliseconds("--heartbeat", default: .zero, in: 1...60_000)
        }
        if arguments.contains("--timeout") {
            silenceTimeout = try arguments.milliseconds("--timeout", default: .zero, in: 1...600_000)
        }
        if arguments.contains("--unacked-entries") {
            unackedEntriesLimit = try arguments.integer("--unacked-entries", default: 0, in: 1...(1 << 30))
        }
        if arguments.contains("--unacked-bytes") {
            unackedBytesLimit = try arguments.integer("--unacked-bytes", default: 0, in: (1 << 10)...(1 << 40))
        }
        if arguments.contains("--replay-lag") {
            replayLagLimit = UInt64(try arguments.integer("--replay-lag", default: 0, in: 1...(1 << 30)))
        }
        if arguments.contains("--poll-us") {
            let limit = Int(EventLoop.pollBeforeSleepLimit.wholeMicroseconds)
            pollBeforeSleep = .microseconds(try arguments.integer("--poll-us", default: 0, in: 0...limit))
        }
        if arguments.contains("--parent-pid") {
            parentProcessID = pid_t(try arguments.integer("--parent-pid", default: 0, in: 1...Int(Int32.max)))
        }
        metricsAddress = try arguments.address("--metrics")
        if let metricsAddress, metricsAddress.port != 0 {
            guard metricsAddress != clientAddress, metricsAddress != channelAddress else {
                throw .usage("--metrics must be a port of its own, not the --client or --channel port")
            }
        }
        client = try ClientOptions(arguments)
        switch (arguments.contains("--service-address"), arguments.contains("--service-device")) {
        case (true, true):
            do {
                serviceAddress = try ServiceAddress(
                    parsing: try arguments.required("--service-address"),
                    device: try arguments.required("--service-device"))
            } catch {
                throw .usage("--service-address/--service-device: \(error)")
            }
        case (false, false):
            break
        default:
            throw .usage("--service-address and --service-device go together: the address, and the device it goes on")
        }
        if arguments.contains("--on-role-change") {
            let limit = Int(RoleChangeHook.timeoutLimit.wholeMilliseconds)
            roleChangeHook = RoleChangeHook(
                command: try arguments.required("--on-role-change"),
                timeout: try arguments.milliseconds(
                    "--on-role-change-timeout", default: RoleChangeHook.defaultTimeout, in: 1...limit))
        } else if arguments.contains("--on-role-change-timeout") {
            throw .usage("--on-role-change-timeout needs --on-role-change")
        }
        dataDirectory = arguments.string("--data-dir")
        guard dataDirectory?.isEmpty != true else { throw .usage("--data-dir must not be empty") }
        if let policy = arguments.string("--fsync") {
            guard let parsed = FsyncPolicy(rawValue: policy) else {
                throw .usage("--fsync must be always, everysec or no, not \(policy)")
            }
            guard dataDirectory != nil else { throw .usage("--fsync needs --data-dir") }
            fsync = parsed
        }
    }

    /// Refuses an arbiter directory that is not there, rather than letting the node wait on it forever.
    ///
    /// The node never creates it: a missing shared directory usually means the share is not mounted, and a
    /// local stand-in would let each machine grant itself epochs, the one way to two primaries.
    func checkArbiterDirectory() throws(CommandError) {
        var information = stat()
        guard stat(arbiterDirectory, &information) == 0 else {
            throw .failure(
                "arbiter directory \(arbiterDirectory) does not exist; create it on the shared file system "
                    + "(the node does not, since a missing share must not turn into a local one)")
        }
        guard information.st_mode & S_IFMT == S_IFDIR else {
            throw .failure("arbiter path \(arbiterDirectory) is not a directory")
        }
    }
}
