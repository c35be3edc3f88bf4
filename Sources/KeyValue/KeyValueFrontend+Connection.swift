import Replication

/// CLIENT and HELLO: the connection's own name, id and description, in Redis 7.0's words.
extension KeyValueFrontend {
    /// The Redis release whose commands, replies and errors this node follows, as `INFO` and `HELLO` report it.
    ///
    /// A plain release number on purpose: clients gate features on it, and a suffix such as `-lockstep` would make
    /// semantic-version parsers rank it below 7.0.0. `INFO` says what the node really is in its `lockstep_*` fields.
    static let redisVersion = "7.0.15"

    /// `CLIENT SETNAME/GETNAME/LIST/INFO/KILL/ID/SETINFO/NO-EVICT/NO-TOUCH/REPLY`.
    ///
    /// LIST, INFO and KILL look at every connection, which the runtime holds: they go to it as `.connections`
    /// (`KeyValueClientProtocol+Connections`).
    static func clientCommand(_ arguments: [[UInt8]], connection: ClientConnection) -> KeyValueRequest {
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "setname") {
            guard arguments.count == 3 else { return .local(reply: Replies.wrongArity("client|setname")) }
            guard ClientConnection.isValidName(arguments[2]) else {
                return .local(reply: ClientConnection.invalidNameReply)
            }
            return .setName(arguments[2])
        }
        if ASCII.equals(subcommand, "getname") {
            guard arguments.count == 2 else { return .local(reply: Replies.wrongArity("client|getname")) }
            return .local(reply: connection.name.map { RESPWriter.bulk($0) } ?? Replies.nullBulk)
        }
        if ASCII.equals(subcommand, "info") {
            guard arguments.count == 2 else { return .local(reply: Replies.wrongArity("client|info")) }
            return .connections(arguments)
        }
        if ASCII.equals(subcommand, "list") || ASCII.equals(subcommand, "kill") {
            guard arguments.count >= 3 || !ASCII.equals(subcommand, "kill") else {
                return .local(reply: Replies.wrongArity("client|kill"))
            }
            return .connections(arguments)
        }
        if ASCII.equals(subcommand, "unblock") {
            guard arguments.count == 3 || arguments.count == 4 else { return .local(reply: Replies.wrongArity("client|unblock")) }
            return .connections(arguments)
        }
        if ASCII.equals(subcommand, "id") {
            guard arguments.count == 2 else { return .local(reply: Replies.wrongArity("client|id")) }
            return .local(reply: RESPWriter.integer(Int64(truncatingIfNeeded: connection.id)))
        }
        if ASCII.equals(subcommand, "setinfo") {
            guard arguments.count == 4 else { return .local(reply: Replies.wrongArity("client|setinfo")) }
            return .local(reply: Replies.ok)
        }
        if ASCII.equals(subcommand, "reply") {
            guard arguments.count == 3 else { return .local(reply: Replies.wrongArity("client|reply")) }
            if ASCII.equals(arguments[2], "on") { return .replyMode(.on) }
            if ASCII.equals(arguments[2], "off") { return .replyMode(.off) }
            if ASCII.equals(arguments[2], "skip") { return .replyMode(.skipNext) }
            return .local(reply: Replies.syntaxError)
        }
        if ASCII.equals(subcommand, "no-evict") || ASCII.equals(subcommand, "no-touch") {
            return .local(reply: Replies.ok)
        }
        return .local(reply: unknownSubcommand(subcommand, of: "CLIENT"))
    }

    /// `HELLO [protover [AUTH username password] [SETNAME name]]`: the version and the options' syntax, checked in
    /// Redis's order; authentication, the name and the reply are the protocol's (`KeyValueRequest.hello`).
    ///
    /// Versions 2 and 3 are spoken; any other gets `-NOPROTO`, the answer clients take as "stay where you are".
    static func helloCommand(_ arguments: [[UInt8]]) -> KeyValueRequest {
        var position = 1
        var protocolVersion: Int?
        if arguments.count >= 2 {
            guard let version = DecimalInteger.parse(arguments[1]) else {
                return .local(reply: RESPWriter.error("ERR Protocol version is not an integer or out of range"))
            }
            guard version == 2 || version == 3 else {
                return .local(reply: RESPWriter.error("NOPROTO unsupported protocol version"))
            }
            protocolVersion = Int(version)
            position = 2
        }
        var username: [UInt8]?
        var password: [UInt8]?
        var name: [UInt8]?
        while position < arguments.count {
            let option = arguments[position]
            let remaining = arguments.count - 1 - position
            if ASCII.equals(option, "auth"), remaining >= 2 {
                username = arguments[position + 1]
                password = arguments[position + 2]
                position += 3
            } else if ASCII.equals(option, "setname"), remaining >= 1 {
                name = arguments[position + 1]
                position += 2
            } else {
                var message = Array("ERR Syntax error in HELLO option '".utf8)
                message.append(contentsOf: option.prefix(128))
                message.append(UInt8(ascii: "'"))
                var writer = RESPWriter()
                writer.appendError(message)
                return .local(reply: writer.bytes)
            }
        }
        return .hello(protocolVersion: protocolVersion, username: username, password: password, name: name)
    }

    /// The NOAUTH error HELLO gives an unauthenticated connection that did not authenticate with it.
    static let helloNotAuthenticatedReply = RESPWriter.error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> "
            + "<pass> option can be used to authenticate the client and select the RESP protocol version at the same "
            + "time")

    /// HELLO's map (flattened into an array in RESP2): server, version, proto, id, mode, role (`replica` on a node
    /// that does not serve, as on a Redis replica) and no modules.
    static func helloReply(_ status: NodeStatus, clientID: UInt64, protocolVersion: Int) -> [UInt8] {
        let reply = RESPWriter.array([
            RESPWriter.bulk("server"), RESPWriter.bulk("redis"),
            RESPWriter.bulk("version"), RESPWriter.bulk(redisVersion),
            RESPWriter.bulk("proto"), RESPWriter.integer(Int64(protocolVersion)),
            RESPWriter.bulk("id"), RESPWriter.integer(Int64(truncatingIfNeeded: clientID)),
            RESPWriter.bulk("mode"), RESPWriter.bulk("standalone"),
            RESPWriter.bulk("role"), RESPWriter.bulk(status.isServing ? "master" : "replica"),
            RESPWriter.bulk("modules"), RESPWriter.array([]),
        ])
        return protocolVersion == 2 ? reply : RESP3.convert(reply, .map)
    }
}
