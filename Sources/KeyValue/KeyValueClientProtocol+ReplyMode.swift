import Replication

/// What `CLIENT REPLY` chose for a connection (Redis's `CLIENT_REPLY_OFF` and `CLIENT_REPLY_SKIP`).
public enum ReplyMode: Equatable, Sendable {
    /// Every reply is sent: the default, and what `CLIENT REPLY ON` restores.
    case on
    /// No reply is sent until `CLIENT REPLY ON`.
    case off
    /// The next request's reply is not sent; then replies are on again.
    case skipNext
}

/// `CLIENT REPLY OFF|SKIP`: the requests still run, in order and through the log as always; only their replies are not
/// sent. Pushes are still sent (the subscription confirmations and messages a subscriber listens for), as in Redis.
/// One reply is left as it is: a blocking pop's answer that comes later from another client's entry.
extension KeyValueClientProtocol {
    /// `request` with its reply silenced: node-local answers empty, and a replicated command wrapped in an entry whose
    /// reply the store drops (`NoReplyEntry`), so the command still runs on both nodes.
    static func silenced(_ request: ClientRequest) -> ClientRequest {
        switch request {
        case .local: .local(reply: [])
        case .quit: .quit(reply: [])
        case .monitor: .monitor(reply: [])
        case .replicated(let bytes): .replicated(NoReplyEntry.wrapping(bytes))
        case .blocking(let bytes, let timeout): .blocking(NoReplyEntry.wrapping(bytes), timeout: timeout)
        // The store still holds its PUBLISHes for the release, beside an empty reply (`ReleaseEnvelope`).
        case .broadcast(let bytes): .broadcast(NoReplyEntry.wrapping(bytes))
        case .aboutConnections(let query):
            .aboutConnections(query: KeyValueCommand.encode([Array(NoReplyEntry.name.utf8)] + ((try? KeyValueCommand.decode(query)) ?? [])))
        case .listen, .malformed: request
        }
    }
}

/// How a command whose reply is silenced travels through the log: `lockstep-noreply · the command's encoding`. The
/// store applies the command inside and answers nothing; the backup does the same.
enum NoReplyEntry {
    static let name = "lockstep-noreply"
    /// Bytes the wrapping adds to a command's encoding, at most: the argument count, the name with its length, and the
    /// command's length varint.
    static let overheadBytesLimit = 1 + (1 + name.utf8.count) + 10

    static func wrapping(_ command: [UInt8]) -> [UInt8] {
        CommandArguments(encoding: [Array(name.utf8), command]).encoding
    }

    /// The wrapped command's encoding; nil when malformed (a corrupt entry) or nested.
    static func command(_ arguments: CommandArguments) -> [UInt8]? {
        guard arguments.count == 2 else { return nil }
        if let (name, _) = CommandArguments.peek(arguments[1]), isEntry(name) { return nil }
        return arguments[1]
    }

    static func isEntry(_ name: CommandName) -> Bool { name == entryName }
    private static let entryName = CommandName(Array(name.utf8))!
}
