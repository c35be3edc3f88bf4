import Glibc
import KeyValue
import Posix
import Replication
import Runtime

/// The client port's flags, shared by `lockstep node` and `lockstep pair` (which hands them to both nodes):
/// Redis's `requirepass`, `maxclients`, `timeout` and `maxmemory`, the service name Sentinel clients ask for, and the
/// bounds of the exactly-once sessions (`SESSION`).
struct ClientOptions: Equatable {
    /// The longest password file read: far more than any password, little enough to read at start.
    static let passwordFileBytesLimit = 64 << 10
    /// The longest `--client-timeout`: a year, beyond which "never" (0) says it better.
    static let idleTimeoutSecondsLimit = 366 * 24 * 3_600

    static let valuedFlags: Set<String> = [
        "--requirepass-file", "--max-clients", "--client-timeout", "--service-name", "--session-window",
        "--max-sessions", "--session-reply-bytes", "--session-timeout", "--maxmemory",
    ]

    /// A file holding the password clients must give with AUTH; read at start, so it never appears in `ps`.
    var passwordFile: String?
    /// Nil: the runtime's default.
    var connectionsLimit: Int?
    /// Whole seconds; 0 never closes idle clients. Nil: the runtime's default (0).
    var idleTimeoutSeconds: Int?
    /// The master name the node's SENTINEL commands answer for (`SentinelService`).
    var serviceName = SentinelService.defaultName
    /// What the `SESSION OPEN` entries this node appends carry (`SessionLimits`).
    var sessionLimits = SessionLimits.defaults
    /// Redis's `maxmemory` at start, in bytes (`MemoryLimit`); 0: no limit. CONFIG SET changes it later.
    var memoryLimitBytes: UInt64 = 0

    init(_ arguments: Arguments) throws(CommandError) {
        if arguments.contains("--requirepass-file") { passwordFile = try arguments.required("--requirepass-file") }
        if arguments.contains("--max-clients") {
            connectionsLimit = try arguments.integer("--max-clients", default: 0, in: 1...(1 << 20))
        }
        if arguments.contains("--client-timeout") {
            idleTimeoutSeconds = try arguments.integer(
                "--client-timeout", default: 0, in: 0...Self.idleTimeoutSecondsLimit)
        }
        if let name = arguments.string("--service-name") {
            guard SentinelService.isValidName(name) else {
                throw .usage(
                    "--service-name must be 1 to \(SentinelService.nameBytesLimit) printable ASCII characters without "
                        + "spaces, not \"\(name)\"")
            }
            serviceName = name
        }
        let defaults = SessionLimits.defaults
        sessionLimits.window = try arguments.integer("--session-window", default: defaults.window, in: 1...65_536)
        sessionLimits.sessionsLimit = try arguments.integer(
            "--max-sessions", default: defaults.sessionsLimit, in: 1...(1 << 24))
        sessionLimits.replyBytesLimit = try arguments.integer(
            "--session-reply-bytes", default: defaults.replyBytesLimit, in: 1...(1 << 40))
        let timeoutSeconds = try arguments.integer(
            "--session-timeout", default: Int(defaults.idleTimeoutMilliseconds / 1_000),
            in: 1...Self.idleTimeoutSecondsLimit)
        sessionLimits.idleTimeoutMilliseconds = Int64(timeoutSeconds) * 1_000
        if let text = arguments.string("--maxmemory") {
            guard let bytes = MemoryLimit.bytes(parsing: text) else {
                throw .usage("--maxmemory must be a number of bytes, or with a unit as 100mb or 2gb, not \"\(text)\"")
            }
            memoryLimitBytes = bytes
        }
    }

    /// The flags again, for `pair` to pass to each node.
    var nodeArguments: [String] {
        var words: [String] = []
        if let passwordFile { words += ["--requirepass-file", passwordFile] }
        if let connectionsLimit { words += ["--max-clients", String(connectionsLimit)] }
        if let idleTimeoutSeconds { words += ["--client-timeout", String(idleTimeoutSeconds)] }
        if serviceName != SentinelService.defaultName { words += ["--service-name", serviceName] }
        if memoryLimitBytes != 0 { words += ["--maxmemory", String(memoryLimitBytes)] }
        if sessionLimits != .defaults {
            words += [
                "--session-window", String(sessionLimits.window), "--max-sessions", String(sessionLimits.sessionsLimit),
                "--session-reply-bytes", String(sessionLimits.replyBytesLimit),
                "--session-timeout", String(sessionLimits.idleTimeoutMilliseconds / 1_000),
            ]
        }
        return words
    }

    func apply(to configuration: inout RuntimeConfiguration) {
        if let connectionsLimit { configuration.clientConnectionsLimit = connectionsLimit }
        if let idleTimeoutSeconds { configuration.clientIdleTimeout = .seconds(idleTimeoutSeconds) }
    }

    /// The password in `passwordFile`, without its trailing line break(s); nil when no file was given.
    ///
    /// An unreadable or empty file is an error: starting without the password an operator asked for would open
    /// the store to anyone. The password itself never goes into an error or a log line.
    func password() throws(CommandError) -> ClientPassword? {
        try passwordBytes().map { bytes in
            guard let password = ClientPassword(bytes) else {
                preconditionFailure("readPasswordFile returned an empty password")
            }
            return password
        }
    }

    /// The password's bytes, for the runtime's metrics port (`RuntimeConfiguration.metricsPassword`), which
    /// knows no application's password type; nil when no file was given.
    func passwordBytes() throws(CommandError) -> [UInt8]? {
        guard let passwordFile else { return nil }
        return try Self.readPasswordFile(passwordFile)
    }

    /// The bytes of a `--requirepass-file`, without trailing line breaks: what the node compares AUTH against and
    /// what `lockstep status` sends as AUTH, so both read the same file the same way.
    ///
    /// Unreadable, over `passwordFileBytesLimit` or empty is an error, which names the file but never its bytes.
    static func readPasswordFile(_ path: String) throws(CommandError) -> [UInt8] {
        var bytes: [UInt8] = []
        do {
            let file = try FileDescriptor.open(path, flags: O_RDONLY)
            defer { try? file.close() }  // read-only: nothing to lose
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 4_096, alignment: 1)
            defer { chunk.deallocate() }
            while let count = try file.read(into: chunk), count > 0 {
                bytes.append(contentsOf: chunk.prefix(count))
                guard bytes.count <= passwordFileBytesLimit else {
                    throw CommandError.failure(
                        "--requirepass-file \(path) is over \(passwordFileBytesLimit) bytes; "
                            + "it should hold the password alone")
                }
            }
        } catch let error as CommandError {
            throw error
        } catch {
            throw .failure("cannot read --requirepass-file: \(error)")
        }
        while let last = bytes.last, last == UInt8(ascii: "\n") || last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else {
            throw .failure("--requirepass-file \(path) is empty; give a password, or leave the flag out")
        }
        return bytes
    }

    /// The flags' lines in `--help`, with the defaults `configuration` holds.
    static func help(_ configuration: RuntimeConfiguration) -> String {
        """
          --requirepass-file PATH  clients must AUTH with the password in PATH (trailing newlines dropped)
                                before any other command, as with Redis's requirepass (default: none)
          --max-clients N       client connections open at once; more are answered "-ERR max number of
                                clients reached" and closed (default \(configuration.clientConnectionsLimit))
          --client-timeout S    close client connections idle for S seconds, 0 for never, as Redis's
                                timeout (default \(configuration.clientIdleTimeout.components.seconds))
          --service-name NAME   the master name SENTINEL answers for and +switch-master names, for
                                Sentinel-aware clients (redis-py's master_for(NAME))
                                (default \(SentinelService.defaultName))
          --session-window N    replies each SESSION keeps, so a client may have N requests in flight and
                                retry any of them after a failover (default \(SessionLimits.defaults.window))
          --max-sessions N      sessions held; opening one more evicts the least recently used
                                (default \(SessionLimits.defaults.sessionsLimit))
          --session-reply-bytes B  bytes of saved replies across sessions; past it the least recently used
                                sessions are evicted (default \(SessionLimits.defaults.replyBytesLimit))
          --session-timeout S   a session idle for S seconds expires
                                (default \(SessionLimits.defaults.idleTimeoutMilliseconds / 1_000))
          --maxmemory BYTES     past BYTES of data (MEMORY USAGE over all keys, plus the node's memory at
                                start), refuse writes that may add data with Redis's -OOM error, as Redis's
                                maxmemory with the noeviction policy; units as 100mb or 2gb; CONFIG SET
                                maxmemory changes it (default 0: no limit)
        """
    }
}
