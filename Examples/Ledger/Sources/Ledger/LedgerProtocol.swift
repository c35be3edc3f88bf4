import Lockstep

/// The ledger's wire protocol: one request per line, one reply line per request, over TCP.
///
/// A request is words separated by spaces or tabs, ended by `\n` (a `\r` before it is dropped, for telnet). The
/// node runtime owns the sockets and the output rule; this type only cuts lines out of a connection's bytes and
/// sorts them:
///
/// - `PING`, `ROLE`, `STATUS`, `DIGEST` and `QUIT` are answered by the node itself (`.local`), without the log: they
///   are about this node, not the ledger, and a backup answers them too.
/// - Ledger commands (`LedgerCommand`) are checked here, so a malformed one is answered `ERR …` without a log entry.
///   On the primary a valid one goes into the log as its canonical line (`.replicated`); its reply is released only
///   once the backup has acknowledged that entry. Anywhere else it is refused with `REFUSED …`, naming the primary.
/// - A line longer than `LedgerLimits.lineBytesLimit` is not this protocol: it is answered and the connection closed
///   (`.malformed`), so one client cannot make the node buffer without end.
///
/// Replies start with `OK` (done), `ERR` (not done: the request was wrong or the ledger said no), `REFUSED` (not done
/// here: retry elsewhere, safely), or are a bare value (`BALANCE`, `PONG`, `ROLE`, `STATUS`, `DIGEST`).
public struct LedgerProtocol: ClientProtocol {
    public typealias Machine = Ledger

    /// One connection's unparsed bytes.
    ///
    /// Bounded by the runtime's read size plus one line: the runtime parses every complete line before it reads
    /// again (or stops reading while replies are pending), and an incomplete line past the limit closes the
    /// connection.
    public struct Session {
        var buffer: [UInt8] = []
        /// Where the next line starts in `buffer`; consumed lines are dropped in batches, not one by one.
        var start = 0
    }

    /// The bounds lines and commands are checked against: the same value the `Ledger` was made with.
    public let limits: LedgerLimits

    /// A protocol for a ledger with these limits.
    public init(limits: LedgerLimits = LedgerLimits()) {
        self.limits = limits
    }

    /// A canonical line is never longer than the line it came from (one space between words, no `\r`).
    public var replicatedBytesLimit: Int { limits.lineBytesLimit }

    /// An empty session; the ledger has no per-client state.
    public func makeSession(clientID: UInt64) -> Session {
        Session()
    }

    /// Keeps bytes read from the connection until they make a line.
    public func append(_ bytes: UnsafeRawBufferPointer, to session: inout Session) {
        session.buffer.append(contentsOf: bytes)
    }

    /// The bytes after the last complete line.
    public func bufferedByteCount(of session: Session) -> Int {
        session.buffer.count - session.start
    }

    /// The next complete line as a request, nil until one has arrived.
    public func nextRequest(from session: inout Session, status: NodeStatus, digest: () -> UInt64?) -> ClientRequest? {
        let unread = session.buffer[session.start...]
        guard let newline = unread.firstIndex(of: UInt8(ascii: "\n")) else {
            guard unread.count <= limits.lineBytesLimit else { return .malformed(reply: Self.tooLong(limits)) }
            session.buffer.removeFirst(session.start)
            session.start = 0
            return nil
        }
        var end = newline
        if end > session.start, session.buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end - session.start <= limits.lineBytesLimit else { return .malformed(reply: Self.tooLong(limits)) }
        let line = String(decoding: session.buffer[session.start..<end], as: UTF8.self)
        session.start = newline + 1
        if session.start == session.buffer.count {
            session.buffer.removeAll(keepingCapacity: true)
            session.start = 0
        }
        return request(LedgerCommand.words(of: line[...]), status: status, digest: digest)
    }

    /// `REFUSED <reason>[; the primary is at HOST:PORT]; the command was not executed`.
    ///
    /// The runtime asks for this when it did not execute a command (this node is not the primary, is stopping, or
    /// has too many clients); the protocol uses it for ledger commands that reach a backup. It names the primary
    /// whenever this node knows it: a backup's (or a stopped node's) peer is the node that serves. A serving node's
    /// peer is its backup, so its refusals name nobody.
    public func rejectionReply(reason: String, status: NodeStatus) -> [UInt8] {
        let flat = String(reason.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
        let primary = !status.isServing && !status.peerClientAddress.isEmpty
            ? "; the primary is at \(status.peerClientAddress)" : ""
        return Self.reply("REFUSED \(flat)\(primary); the command was not executed")
    }

    private func request(_ words: [Substring], status: NodeStatus, digest: () -> UInt64?) -> ClientRequest {
        let name = words.first?.uppercased() ?? ""
        switch name {
        case "PING", "ROLE", "STATUS", "DIGEST", "QUIT":
            guard words.count == 1 else { return .local(reply: Self.reply("ERR wrong arguments; usage: \(name)")) }
            switch name {
            case "PING": return .local(reply: Self.reply("PONG"))
            case "ROLE": return .local(reply: Self.reply(Self.roleLine(status)))
            case "STATUS": return .local(reply: Self.reply(Self.statusLine(status)))
            case "DIGEST":
                // A joining node holds no ledger: a digest of "nothing" would look like a real, empty one.
                guard let digest = digest() else {
                    return .local(reply: Self.reply("ERR this node holds no ledger yet (\(status.role.rawValue))"))
                }
                return .local(reply: Self.reply(String(digest, radix: 16)))
            default: return .quit(reply: Self.reply("BYE"))
            }
        default:
            let command: LedgerCommand
            do {
                command = try LedgerCommand.parse(words, limits: limits)
            } catch {
                return .local(reply: Self.reply("ERR \(error)"))
            }
            guard status.isServing else {
                let reason = status.role == .stopped
                    ? "this node has stopped (\(status.reason))"
                    : "this node is a \(status.role.rawValue), not the primary"
                return .local(reply: rejectionReply(reason: reason, status: status))
            }
            return .replicated(Array(command.line.utf8))
        }
    }

    /// `ROLE`: `<role> epoch=<n> peer=<host:port or ->`, where the peer is the primary on a backup and the backup on
    /// a primary.
    static func roleLine(_ status: NodeStatus) -> String {
        "\(status.role.rawValue) epoch=\(status.epoch) peer=\(peer(status))"
    }

    /// `STATUS`: the role line's fields and the log positions as `name=value` words, then `reason=` and the rest of the
    /// line (the reason has spaces).
    static func statusLine(_ status: NodeStatus) -> String {
        let fields: [(String, String)] = [
            ("role", status.role.rawValue), ("node", status.nodeName), ("epoch", "\(status.epoch)"),
            ("client", status.clientAddress), ("peer", peer(status)), ("peer_state", status.peerState.rawValue),
            ("log", "\(status.logSequence)"), ("acked", "\(status.ackedSequence)"),
            ("applied", "\(status.appliedSequence)"), ("lag", "\(status.replayLag)"),
        ]
        let reason = String(status.reason.map { $0 == "\r" || $0 == "\n" ? " " : $0 })
        return fields.map { "\($0.0)=\($0.1)" }.joined(separator: " ") + " reason=\(reason)"
    }

    /// The peer's client address, `-` when unknown (one word either way, so the line splits at spaces).
    private static func peer(_ status: NodeStatus) -> String {
        status.peerClientAddress.isEmpty ? "-" : status.peerClientAddress
    }

    private static func tooLong(_ limits: LedgerLimits) -> [UInt8] {
        reply("ERR line longer than \(limits.lineBytesLimit) bytes; closing the connection")
    }

    private static func reply(_ line: String) -> [UInt8] {
        Array((line + "\n").utf8)
    }
}
