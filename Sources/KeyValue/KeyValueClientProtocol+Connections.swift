import Replication

/// CLIENT LIST, CLIENT INFO, CLIENT KILL and PUBSUB (`KeyValueClientProtocol+Publish`) over every open connection, which the runtime hands over
/// (`ClientRequest.aboutConnections`), with Redis 7.0's filters, replies and errors.
extension KeyValueClientProtocol {
    /// Answers `CLIENT LIST|INFO|KILL ...` (`query` is its `KeyValueCommand` encoding) from `asker`.
    public func answer(
        connectionsQuery query: [UInt8], from asker: OpenConnection<Session>,
        among connections: [OpenConnection<Session>], status: NodeStatus
    ) -> ConnectionsAnswer {
        guard var arguments = try? KeyValueCommand.decode(query), arguments.count >= 2 else {
            // Only this protocol builds queries; bytes that do not decode are a bug, answered rather than trusted.
            return ConnectionsAnswer(reply: RESPWriter.error("ERR malformed connections query"))
        }
        if CommandName(arguments[0]).map(NoReplyEntry.isEntry) == true {
            // Asked with replies off (CLIENT REPLY): everything happens but the reply.
            arguments.removeFirst()
            var answer = answer(
                connectionsQuery: KeyValueCommand.encode(arguments), from: asker, among: connections, status: status)
            answer.reply = []
            return answer
        }
        if ASCII.equals(arguments[0], "pubsub") {
            return ConnectionsAnswer(reply: Self.pubsubAnswer(arguments, among: connections.lazy.map(\.session.subscriptions)))
        }
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "info") {
            let reply = RESPWriter.bulk(Self.line(asker) + [UInt8(ascii: "\n")])
            return ConnectionsAnswer(reply: asker.session.connection.shaped(reply, for: arguments))
        }
        if ASCII.equals(subcommand, "list") {
            switch Self.listFilter(arguments) {
            case .failure(let error): return ConnectionsAnswer(reply: error.reply)
            case .success(let isListed):
                var text: [UInt8] = []
                for connection in connections where isListed(connection) {
                    text += Self.line(connection) + [UInt8(ascii: "\n")]
                }
                return ConnectionsAnswer(reply: asker.session.connection.shaped(RESPWriter.bulk(text), for: arguments))
            }
        }
        if ASCII.equals(subcommand, "unblock") { return Self.unblockAnswer(arguments, among: connections) }
        return kill(arguments, from: asker, among: connections)
    }

    /// A refusal worded as Redis words it.
    struct Refusal: Error {
        var reply: [UInt8]

        init(_ message: String, quoting quoted: [UInt8] = [], suffix: String = "") {
            var bytes = Array(message.utf8)
            bytes.append(contentsOf: quoted.prefix(128))
            bytes.append(contentsOf: Array(suffix.utf8))
            var writer = RESPWriter()
            writer.appendError(bytes)
            reply = writer.bytes
        }

        static let syntax = Refusal("ERR syntax error")
    }

    /// `CLIENT LIST [TYPE normal|master|replica|slave|pubsub] [ID id...]`: which connections to list.
    private static func listFilter(
        _ arguments: [[UInt8]]
    ) -> Result<(OpenConnection<Session>) -> Bool, Refusal> {
        if arguments.count == 2 { return .success { _ in true } }
        if arguments.count == 4, ASCII.equals(arguments[2], "type") {
            return clientType(arguments[3]).map { wanted in { type(of: $0) == wanted } }
        }
        if arguments.count > 3, ASCII.equals(arguments[2], "id") {
            var ids: Set<UInt64> = []
            for argument in arguments.dropFirst(3) {
                guard let id = DecimalInteger.parse(argument), id >= 1 else {
                    return .failure(Refusal("ERR Invalid client ID"))
                }
                ids.insert(UInt64(id))
            }
            return .success { ids.contains($0.id) }
        }
        return .failure(.syntax)
    }

    /// `CLIENT KILL addr` (OK or "No such client", and may close the asker) or `CLIENT KILL filter value...` (the
    /// number closed; the asker is skipped unless `SKIPME no`).
    private func kill(
        _ arguments: [[UInt8]], from asker: OpenConnection<Session>, among connections: [OpenConnection<Session>]
    ) -> ConnectionsAnswer {
        guard arguments.count >= 3 else { return ConnectionsAnswer(reply: Refusal.syntax.reply) }
        var address: String?, localAddress: String?, id: UInt64?, wantedType: String?
        var skipsAsker = true
        if arguments.count == 3 {
            address = String(decoding: arguments[2], as: UTF8.self)
            skipsAsker = false
        } else {
            var position = 2
            while position < arguments.count {
                let option = arguments[position]
                guard position + 1 < arguments.count else { return ConnectionsAnswer(reply: Refusal.syntax.reply) }
                let value = arguments[position + 1]
                if ASCII.equals(option, "id") {
                    guard let number = DecimalInteger.parse(value), number >= 1 else {
                        return ConnectionsAnswer(reply: Refusal("ERR client-id should be greater than 0").reply)
                    }
                    id = UInt64(number)
                } else if ASCII.equals(option, "type") {
                    switch Self.clientType(value) {
                    case .failure(let refusal): return ConnectionsAnswer(reply: refusal.reply)
                    case .success(let type): wantedType = type
                    }
                } else if ASCII.equals(option, "addr") {
                    address = String(decoding: value, as: UTF8.self)
                } else if ASCII.equals(option, "laddr") {
                    localAddress = String(decoding: value, as: UTF8.self)
                } else if ASCII.equals(option, "user") {
                    // `default` is the only user.
                    guard ASCII.equals(value, "default") else {
                        let refusal = Refusal("ERR No such user '", quoting: value, suffix: "'")
                        return ConnectionsAnswer(reply: refusal.reply)
                    }
                } else if ASCII.equals(option, "skipme") {
                    if ASCII.equals(value, "yes") {
                        skipsAsker = true
                    } else if ASCII.equals(value, "no") {
                        skipsAsker = false
                    } else {
                        return ConnectionsAnswer(reply: Refusal.syntax.reply)
                    }
                } else {
                    return ConnectionsAnswer(reply: Refusal.syntax.reply)
                }
                position += 2
            }
        }
        var closing: [UInt64] = []
        for connection in connections {
            if let address, connection.peerAddress != address { continue }
            if let localAddress, connection.localAddress != localAddress { continue }
            if let id, connection.id != id { continue }
            if let wantedType, Self.type(of: connection) != wantedType { continue }
            if skipsAsker && connection.id == asker.id { continue }
            closing.append(connection.id)
        }
        if arguments.count == 3 {
            let reply = closing.isEmpty ? RESPWriter.error("ERR No such client") : Replies.ok
            return ConnectionsAnswer(reply: reply, closing: closing)
        }
        return ConnectionsAnswer(reply: RESPWriter.integer(Int64(closing.count)), closing: closing)
    }

    /// `normal` or `pubsub`: no connection here is a master or a replica.
    private static func type(of connection: OpenConnection<Session>) -> String {
        connection.session.subscriptions.isEmpty ? "normal" : "pubsub"
    }

    /// The type a TYPE filter names (`slave` is `replica`); Redis's error for another word.
    private static func clientType(_ name: [UInt8]) -> Result<String, Refusal> {
        let lowered = String(decoding: ASCII.lowercased(name), as: UTF8.self)
        if ["normal", "pubsub", "master", "replica"].contains(lowered) { return .success(lowered) }
        if lowered == "slave" { return .success("replica") }
        return .failure(Refusal("ERR Unknown client type '", quoting: name, suffix: "'"))
    }

    /// The connection's CLIENT LIST line, with what its session holds now.
    private static func line(_ connection: OpenConnection<Session>) -> [UInt8] {
        var described = connection.session.connection
        described.channelCount = connection.session.subscriptions.channels.count
        described.patternCount = connection.session.subscriptions.patterns.count
        described.isBlocked = connection.isBlocked
        return described.line(
            endpoints: ClientConnection.Endpoints(
                peerAddress: connection.peerAddress, localAddress: connection.localAddress,
                descriptor: connection.descriptor))
    }
}
