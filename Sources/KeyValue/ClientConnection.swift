#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What `CLIENT GETNAME`, `CLIENT LIST` and `CLIENT INFO` tell about one connection: its id, its name, its ages and
/// the last command it sent. Node-local, like the connection itself: none of it is replicated.
struct ClientConnection: Sendable {
    /// The last command the connection sent, as Redis's `cmd=` field names it (`get`, `client|list`).
    enum LastCommand: Sendable {
        case none
        case data(DataCommand)
        /// A local command, and its subcommand for those that take one (`CommandName` cannot be printed back).
        case local(KeyValueFrontend.LocalCommand, subcommand: [UInt8]?)
    }

    let id: UInt64
    /// The name `CLIENT SETNAME` or `HELLO ... SETNAME` gave; nil when none (an empty name removes it, as in Redis).
    var name: [UInt8]?
    let createdAtNanoseconds: UInt64
    /// When bytes last arrived from the client, for `idle=`.
    var lastRequestAtNanoseconds: UInt64
    var lastCommand = LastCommand.none { didSet { identifiedCount &+= 1 } }
    /// Times `lastCommand` was set: a request after which it has not moved was refused before it was known, and
    /// comparing two counts spares copying the command (and its subcommand) on every request.
    private(set) var identifiedCount: UInt64 = 0
    /// When the frontend began answering the current local command, for its `usec` in `CommandStatistics`; read
    /// only for local commands, so a data command costs no clock read here.
    var localCommandStartedAtNanoseconds: UInt64 = 0
    /// Set by the session before routing: its query buffer from the current request's first byte on (as Redis's
    /// `qbuf=`, which counts the command being run), and its subscription counts.
    var queryBufferBytes = 0
    var channelCount = 0
    var patternCount = 0
    /// Where the client connected from (`host:port`), for MONITOR's lines; nil when the runtime did not say.
    var peerAddress: String?
    /// The database SELECT chose, 0 to 15: every entry the connection sends into the log names it (`DatabaseEntry`).
    var database = 0
    /// The RESP version HELLO chose, 2 or 3, for `resp=`; RESET goes back to 2 (`KeyValueClientProtocol+RESP3`).
    var protocolVersion = 2
    /// Commands queued since MULTI, for `multi=`; nil outside a transaction.
    var queuedCommandCount: Int?
    /// Waiting in a blocking pop, as the runtime sees it (`OpenConnection.isBlocked`), for the `b` flag.
    var isBlocked = false

    init(id: UInt64, now: UInt64 = ClientConnection.monotonicNanoseconds()) {
        self.id = id
        createdAtNanoseconds = now
        lastRequestAtNanoseconds = now
    }

    /// Redis's `CLIENT SETNAME` rule: printable ASCII without spaces (`!` to `~`); empty is allowed (no name).
    static func isValidName(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 >= UInt8(ascii: "!") && $0 <= UInt8(ascii: "~") }
    }

    static let invalidNameReply = RESPWriter.error(
        "ERR Client names cannot contain spaces, newlines or special characters.")

    /// Where a connection's socket is, as the runtime reports it, for `addr=`, `laddr=` and `fd=`.
    struct Endpoints: Sendable {
        var peerAddress: String
        var localAddress: String
        var descriptor: Int32
    }

    /// One `CLIENT LIST` line (without its newline), in Redis 7.0's field order, with the fields this node can
    /// fill truthfully: `addr`, `laddr` and `fd` when `endpoints` are known. Left out, because the client protocol
    /// never sees the socket's buffers: `qbuf-free`, `argv-mem`, `multi-mem`, `rbs`, `rbp`, `obl`, `oll`, `omem`,
    /// `tot-mem` and `events`. `multi=` counts the commands queued since MULTI (-1 outside one, flag `x` inside);
    /// `redir=-1` is what Redis prints for a client without tracking, which is every client here; `ssub=0` because
    /// there are no sharded channels; `user=default` is the only user.
    func line(endpoints: Endpoints? = nil, now: UInt64 = ClientConnection.monotonicNanoseconds()) -> [UInt8] {
        let age = (now &- createdAtNanoseconds) / 1_000_000_000
        let idle = (now &- lastRequestAtNanoseconds) / 1_000_000_000
        let flags = queuedCommandCount != nil ? "x" : channelCount + patternCount > 0 ? "P" : isBlocked ? "b" : "N"
        var text = Array("id=\(id)".utf8)
        if let endpoints {
            text += Array(
                " addr=\(endpoints.peerAddress) laddr=\(endpoints.localAddress) fd=\(endpoints.descriptor)".utf8)
        }
        text += Array(" name=".utf8)
        text.append(contentsOf: name ?? [])
        text.append(
            contentsOf: Array(
                (" age=\(age) idle=\(idle) flags=\(flags) db=\(database) sub=\(channelCount) psub=\(patternCount) ssub=0"
                    + " multi=\(queuedCommandCount ?? -1) qbuf=\(queryBufferBytes) cmd=\(commandName) user=default"
                    + " redir=-1 resp=\(protocolVersion)").utf8))
        return text
    }

    /// `cmd=`: the command's name, `name|subcommand` for commands with subcommands, `NULL` before any.
    var commandName: String {
        switch lastCommand {
        case .none: return "NULL"
        case .data(let command): return command.rawValue
        case .local(let command, let subcommand):
            guard let subcommand else { return command.rawValue }
            return command.rawValue + "|" + String(decoding: ASCII.lowercased(subcommand), as: UTF8.self)
        }
    }

    /// The monotonic clock, for ages: never the wall clock, which may jump.
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
