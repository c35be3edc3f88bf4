/// What the node runtime does with one client request, as decided by `KeyValueFrontend.route`.
public enum KeyValueRequest: Equatable, Sendable {
    /// A data command, encoded by `KeyValueCommand.encode`: the primary appends it to the log, applies it,
    /// and releases the reply once the backup has acked the entry (the output rule).
    case replicated([UInt8])
    /// A blocking pop (BLPOP and its relatives), encoded as `replicated` is: it goes through the log, and may wait
    /// there for another client's command for `timeout` (nil: for ever) (`KeyValueStore+Blocking`).
    case blocking([UInt8], timeout: Duration?)
    /// Answered by this node at once, without the log: connection and introspection commands, errors, and
    /// the READONLY refusal on a node that is not serving. Releasing these early is safe because they
    /// reveal no replicated state.
    case local(reply: [UInt8])
    /// Answered at once; then the connection is closed (QUIT).
    case quit(reply: [UInt8])
    /// `AUTH [username] password`: only the connection's protocol knows the password and whether the connection
    /// has authenticated, so it answers (`KeyValueClientProtocol`).
    case authenticate(username: [UInt8]?, password: [UInt8])
    /// `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE` or `PUNSUBSCRIBE`: what the connection listens to lives in its
    /// protocol session, so the protocol answers (`KeyValueClientProtocol`).
    case subscription(Subscriptions.Request)
    /// `CLIENT SETNAME name` (already validated): the name lives in the connection's protocol session.
    case setName([UInt8])
    /// `HELLO [protover [AUTH username password] [SETNAME name]]`, its syntax checked: the protocol authenticates,
    /// names the connection and answers with `KeyValueFrontend.helloReply`, in Redis's order.
    case hello(protocolVersion: Int?, username: [UInt8]?, password: [UInt8]?, name: [UInt8]?)
    /// `RESET`: the connection forgets its subscriptions and its authentication, which its protocol session holds.
    case reset
    /// `MULTI`, `EXEC`, `DISCARD`, `WATCH` or `UNWATCH` (arity checked): the transaction and the watch live in the
    /// connection's protocol session, so the protocol answers (`KeyValueClientProtocol+Transactions`).
    case transaction(TransactionRequest)
    /// `CONFIG ...` (arity checked): the settings CONFIG SET changes are this node's, shared by its connections in the
    /// protocol (`KeyValueClientProtocol+Settings`).
    case configuration([[UInt8]])
    /// `SLOWLOG ...` (arity checked): the slow log is this node's, shared by the protocol and the store (`SlowLog`).
    case slowLog([[UInt8]])
    /// `CLIENT LIST`, `CLIENT INFO` or `CLIENT KILL`: answered from every open connection, which only the runtime holds
    /// (`ClientRequest.aboutConnections`, `KeyValueClientProtocol+Connections`).
    case connections([[UInt8]])
    /// `MONITOR`: the connection is sent the feed of every request from now on (`MonitorFeed`).
    case monitor
    /// `PUBLISH channel message` on a serving node, as its entry: the protocol broadcasts it once the entry's reply is
    /// released (`KeyValueClientProtocol+Publish`).
    case publish([UInt8])
    /// `CLIENT REPLY ON|OFF|SKIP`: whether the connection's replies are sent lives in its protocol session
    /// (`KeyValueClientProtocol+ReplyMode`).
    case replyMode(ReplyMode)
    /// `SESSION OPEN` on a serving node: the protocol puts its `SessionLimits` into the entry
    /// (`KeyValueStore+Sessions`).
    case openSession
}
