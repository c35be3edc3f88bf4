/// What one client request asks of the node, as the application's wire protocol decided.
public enum ClientRequest: Equatable, Sendable {
    /// A command for the state machine: it goes through the log, and its reply waits for the output rule.
    case replicated([UInt8])
    /// A command for the state machine whose reply, once released under the output rule, carries messages for the
    /// listening connections (Redis's PUBLISH, or a transaction with PUBLISHes in it): the runtime takes them out
    /// (`broadcastMessages(_:)`), offers each in turn to every listener (`broadcastNotice(_:session:)`), and answers
    /// the asker `broadcastReply(_:deliveries:listeners:)` with how many took each. Going through the log gives every
    /// message one order on both nodes, and the output rule lets none leave before its entry is on the backup.
    case broadcast([UInt8])
    /// A command for the state machine that may wait for another client's command (Redis's BLPOP): its released
    /// reply may say the asker waits (`routedReply`), and then a later entry's reply carries the asker's. The
    /// connection is not parsed further while it waits, as Redis reads no command of a blocked client. After
    /// `timeout` (nil: never) the runtime sends `unblockRequest`, whose entry answers the waiter if it still waits.
    case blocking([UInt8], timeout: Duration?)
    /// Answered by this node at once, without the log (handshakes, status, refusals that reveal no state).
    case local(reply: [UInt8])
    /// Answered at once; the connection closes once the reply is out (QUIT).
    case quit(reply: [UInt8])
    /// The request broke the wire protocol; nothing after it can be trusted, so the connection closes once
    /// this error reply is out.
    case malformed(reply: [UInt8])
    /// Answered at once, like `.local`, and says whether the connection now listens for the node's own news
    /// (`roleChangeNotice`), as a Redis Pub/Sub subscriber does. A listening connection is pushed those notices
    /// between its replies, and is never closed as idle: it waits for news, not for a reply.
    case listen(reply: [UInt8], isListening: Bool)
    /// Answered from a look at every open connection (Redis's CLIENT LIST and CLIENT KILL): the runtime hands the
    /// protocol each open session with its addresses (`answer(connectionsQuery:from:among:status:)`), sends the
    /// reply, and closes the connections the answer names. `query` is the protocol's own, passed back unread.
    case aboutConnections(query: [UInt8])
    /// Answered at once; from then on the connection is also sent the protocol's feed of what every connection asks
    /// (`takeFeed()`), as a Redis MONITOR client is, and it is never closed as idle.
    case monitor(reply: [UInt8])
}

/// One open client connection as the runtime shows it to its protocol (`ClientRequest.aboutConnections`).
public struct OpenConnection<Session> {
    /// The connection's id, as `makeSession(clientID:)` was given it.
    public var id: UInt64
    /// Its parsing state, names and whatever else the protocol keeps per connection.
    public var session: Session
    /// The client's address, `host:port`.
    public var peerAddress: String
    /// The address it connected to, `host:port`.
    public var localAddress: String
    /// The socket's file descriptor number, for display.
    public var descriptor: Int32
    /// Whether its blocking command waits in the state machine (`ClientRequest.blocking`).
    public var isBlocked: Bool

    /// A connection's view.
    public init(
        id: UInt64, session: Session, peerAddress: String, localAddress: String, descriptor: Int32,
        isBlocked: Bool = false
    ) {
        self.id = id
        self.session = session
        self.peerAddress = peerAddress
        self.localAddress = localAddress
        self.descriptor = descriptor
        self.isBlocked = isBlocked
    }
}

/// A released reply that also answers other connections: waiters that the entry served (`ClientRequest.blocking`).
public struct RoutedReply: Equatable, Sendable {
    /// The asker's own reply; nil when the asker itself now waits (its blocking command found nothing).
    public var own: [UInt8]?
    /// Replies for waiting connections, by the connection id the protocol was given in `makeSession(clientID:)`.
    public var deliveries: [(connectionID: UInt64, reply: [UInt8])]

    /// A reply `own` (nil: the asker waits) that also answers `deliveries`.
    public init(own: [UInt8]?, deliveries: [(connectionID: UInt64, reply: [UInt8])] = []) {
        self.own = own
        self.deliveries = deliveries
    }

    /// Equal parts: the same own reply and the same deliveries in order.
    public static func == (lhs: RoutedReply, rhs: RoutedReply) -> Bool {
        lhs.own == rhs.own && lhs.deliveries.elementsEqual(rhs.deliveries) { $0 == $1 }
    }
}

/// What a protocol answers about every connection: the reply, and the ids of the connections to close (the asker's
/// own closes once the reply is out).
public struct ConnectionsAnswer: Equatable, Sendable {
    /// What the asking connection is sent.
    public var reply: [UInt8]
    /// The ids of the connections to close.
    public var closing: [UInt64]
    /// A blocked connection whose wait to end now (Redis's CLIENT UNBLOCK), with an error reply or as if it timed out.
    public var unblocking: (id: UInt64, isError: Bool)?

    /// `reply`, closing the connections `closing` names and ending the wait `unblocking` names.
    public init(reply: [UInt8], closing: [UInt64] = [], unblocking: (id: UInt64, isError: Bool)? = nil) {
        self.reply = reply
        self.closing = closing
        self.unblocking = unblocking
    }

    /// Equal answers: the same reply, closings and unblocking.
    public static func == (lhs: ConnectionsAnswer, rhs: ConnectionsAnswer) -> Bool {
        lhs.reply == rhs.reply && lhs.closing == rhs.closing && lhs.unblocking?.id == rhs.unblocking?.id
            && lhs.unblocking?.isError == rhs.unblocking?.isError
    }
}

/// An application's wire protocol on the client port: how bytes become requests and what a refusal looks like.
///
/// The node runtime is app-agnostic: it owns sockets, ordering and the output rule, and asks the protocol only to
/// cut requests out of a connection's bytes and to word the replies the runtime itself must give. All methods run
/// on the runtime's loop thread, once per request, so they should be byte scans, not string work (IO-FINDINGS).
public protocol ClientProtocol: Sendable {
    /// The state machine the replicated commands are meant for.
    associatedtype Machine: StateMachine
    /// Per-connection parsing state (a partial request, say).
    associatedtype Session

    /// The largest `.replicated` payload `nextRequest` can produce. The runtime refuses to start unless it fits
    /// one log entry frame, so an accepted command can always be shipped to the backup.
    var replicatedBytesLimit: Int { get }

    /// A fresh session for a new connection; `clientID` is unique within the process (for `CLIENT ID`).
    func makeSession(clientID: UInt64) -> Session

    /// A fresh session for a new connection from `peerAddress` (`host:port`; nil when the socket could not say), for
    /// protocols that show where a request came from (Redis's MONITOR). The default is `makeSession(clientID:)`.
    func makeSession(clientID: UInt64, peerAddress: String?) -> Session

    /// Adds bytes read from the connection.
    func append(_ bytes: UnsafeRawBufferPointer, to session: inout Session)

    /// Bytes the session holds that no request has consumed yet: its query buffer.
    ///
    /// The runtime reads this after every append and closes a connection whose query buffer is over
    /// `clientQueryBufferBytesLimit` (Redis's `client-query-buffer-limit`), whatever the protocol's own bounds.
    func bufferedByteCount(of session: Session) -> Int

    /// The next complete request, nil if more bytes are needed; `.malformed` closes the connection after its reply.
    ///
    /// - Parameters:
    ///   - status: this node's role and positions now, e.g. to refuse data commands on a backup.
    ///   - digest: the state machine's digest, nil when this node holds no replicated state (joining).
    func nextRequest(from session: inout Session, status: NodeStatus, digest: () -> UInt64?) -> ClientRequest?

    /// `nextRequest(from:status:digest:)`, free to take byte arrays from the end of `spareBuffers` for the request
    /// it returns rather than allocate: the runtime puts there the arrays of the commands the core has handled.
    /// By default it takes none.
    func nextRequest(
        from session: inout Session, status: NodeStatus, spareBuffers: inout [[UInt8]], digest: () -> UInt64?
    ) -> ClientRequest?

    /// The reply for a command the node did not execute (not primary, stopping, overloaded): the client may retry
    /// elsewhere, and may do so safely because nothing happened.
    func rejectionReply(reason: String, status: NodeStatus) -> [UInt8]

    /// The reply for a connection the runtime closes for exceeding a bound (see `ConnectionRefusal`); sent once,
    /// best effort, before the close. The default words it as `rejectionReply`.
    func refusalReply(_ refusal: ConnectionRefusal, status: NodeStatus) -> [UInt8]

    /// What a listening connection (`ClientRequest.listen`) is told after the node's role changed, nil for nothing.
    ///
    /// `old` is the status at the previous role change (or at start), `new` the status now. The runtime pushes the
    /// notice after the replies to the requests the connection sent before it, within the connection's output bound;
    /// it asks once per listening connection, so the session decides what it hears (a Pub/Sub client only what
    /// it subscribed to). The default says nothing.
    func roleChangeNotice(from old: NodeStatus, to new: NodeStatus, session: Session) -> [UInt8]?

    /// The answer to `.aboutConnections(query)` from `asker`, given every open connection (the asker among them), in
    /// the order the runtime holds them. Called on the loop thread; costs time in proportion to the connections, which
    /// `clientConnectionsLimit` bounds. The default refuses, as `rejectionReply` words it.
    func answer(
        connectionsQuery query: [UInt8], from asker: OpenConnection<Session>,
        among connections: [OpenConnection<Session>], status: NodeStatus
    ) -> ConnectionsAnswer

    /// Whether some connection monitors (`ClientRequest.monitor`): the runtime says so when the number of monitoring
    /// connections leaves or reaches zero, so the protocol builds its feed only while someone reads it.
    func setFeedWanted(_ isWanted: Bool)

    /// The feed built since the last call, for every monitoring connection; nil when there is none. The runtime calls
    /// it once per round while a connection monitors; the protocol bounds what it holds in between.
    func takeFeed() -> [UInt8]?

    /// The messages a released `.broadcast` command's reply carries, in the order they go out (slices of `reply`);
    /// none for a reply without any (the command failed, or did nothing). The default is none.
    func broadcastMessages(_ reply: ArraySlice<UInt8>) -> [ArraySlice<UInt8>]

    /// What a listening connection is sent for `message`, one of `broadcastMessages`, and how many deliveries that
    /// counts as (Redis counts a channel's and each matching pattern's); nil for nothing (it listens to something
    /// else). Called once per listening connection per message, on the loop thread. The default sends nothing.
    func broadcastNotice(_ message: ArraySlice<UInt8>, session: Session) -> (notice: [UInt8], deliveries: Int)?

    /// The asker's reply to a `.broadcast` command whose released reply was `reply`, once its messages made
    /// `deliveries` deliveries each, in order. `listeners` are the sessions of the connections listening at that
    /// moment, for a reply that reports on them (Redis's PUBSUB NUMSUB inside a transaction); a protocol reads them
    /// only when it must, as they cost a pass over every connection. The default is an empty reply: a protocol
    /// that never broadcasts is never asked.
    func broadcastReply<Listeners: Sequence<Session>>(
        _ reply: ArraySlice<UInt8>, deliveries: [Int], listeners: Listeners
    ) -> [UInt8]

    /// Whether a released reply carries messages though its command was not a `.broadcast` one: the state machine
    /// notified listeners of what the entry did (Redis's keyspace notifications, from any write and from a tick's
    /// output). Then the runtime treats it as a broadcast's. Asked of every released reply, so it must cost a byte's
    /// comparison; the default is false.
    func carriesBroadcast(_ reply: ArraySlice<UInt8>) -> Bool

    /// The parts of a released reply that is routed (`ClientRequest.blocking`): nil for a plain reply, which is all a
    /// protocol without blocking commands produces. The runtime asks only while some connection waits or is being
    /// unblocked, so the check costs nothing otherwise.
    func routedReply(_ reply: ArraySlice<UInt8>) -> RoutedReply?

    /// The replicated command that ends `session`'s wait (its blocking command timed out, its connection closed, or
    /// another connection unblocked it): its entry answers the waiter, if it still waits, with the timeout reply (an
    /// error when `isError`), and otherwise does nothing.
    func unblockRequest(session: Session, isError: Bool) -> [UInt8]

    /// Tells the protocol that the runtime answered `count` commands with `reply`, a `rejectionReply`, without running
    /// them (refused while draining, a batch the core never took, a command too large for an entry): the protocol
    /// counts the replies it sends itself, and these are replies too. The default counts nothing.
    func noteRejections(_ reply: [UInt8], count: Int)
}

extension ClientProtocol {
    /// `nextRequest(from:status:digest:)`: the spare buffers go unused.
    public func nextRequest(
        from session: inout Session, status: NodeStatus, spareBuffers: inout [[UInt8]], digest: () -> UInt64?
    ) -> ClientRequest? {
        nextRequest(from: &session, status: status, digest: digest)
    }

    /// `makeSession(clientID:)`: the address goes unused.
    public func makeSession(clientID: UInt64, peerAddress: String?) -> Session {
        makeSession(clientID: clientID)
    }

    /// `rejectionReply` with the refusal's description as the reason.
    public func refusalReply(_ refusal: ConnectionRefusal, status: NodeStatus) -> [UInt8] {
        rejectionReply(reason: refusal.description, status: status)
    }

    /// Nothing: a protocol that keeps no statistics.
    public func noteRejections(_ reply: [UInt8], count: Int) {}

    /// Nothing: a protocol without listeners has no news to tell.
    public func roleChangeNotice(from old: NodeStatus, to new: NodeStatus, session: Session) -> [UInt8]? {
        nil
    }

    /// Nothing to do: a protocol without a feed never asks for monitoring.
    public func setFeedWanted(_ isWanted: Bool) {}

    /// No feed.
    public func takeFeed() -> [UInt8]? { nil }

    /// None: a protocol without broadcasts has no messages.
    public func broadcastMessages(_ reply: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] { [] }

    /// Nothing: a protocol without broadcasts has no listeners for them.
    public func broadcastNotice(_ message: ArraySlice<UInt8>, session: Session) -> (notice: [UInt8], deliveries: Int)? {
        nil
    }

    /// Nothing to say: never asked of a protocol that does not broadcast.
    public func broadcastReply<Listeners: Sequence<Session>>(
        _ reply: ArraySlice<UInt8>, deliveries: [Int], listeners: Listeners
    ) -> [UInt8] { [] }

    /// False: a protocol without broadcasts carries no messages.
    public func carriesBroadcast(_ reply: ArraySlice<UInt8>) -> Bool { false }

    /// Plain: a protocol without blocking commands routes nothing.
    public func routedReply(_ reply: ArraySlice<UInt8>) -> RoutedReply? { nil }

    /// Nothing: never asked of a protocol without blocking commands.
    public func unblockRequest(session: Session, isError: Bool) -> [UInt8] { [] }

    /// A refusal: a protocol that never asks about other connections has nothing to say about them.
    public func answer(
        connectionsQuery query: [UInt8], from asker: OpenConnection<Session>,
        among connections: [OpenConnection<Session>], status: NodeStatus
    ) -> ConnectionsAnswer {
        ConnectionsAnswer(
            reply: rejectionReply(reason: "this protocol cannot look at other connections", status: status))
    }
}

/// Why the runtime closes a client connection by itself, telling the client first: a bound the client reached.
public enum ConnectionRefusal: Equatable, Sendable, CustomStringConvertible {
    /// `limit` connections are open already (the runtime's `clientConnectionsLimit`, Redis's `maxclients`).
    case clientsLimitReached(limit: Int)
    /// The connection's unconsumed bytes reached `bytes`, over `limit` (Redis's `client-query-buffer-limit`).
    case queryBufferOverflowed(bytes: Int, limit: Int)

    /// One sentence: what the client did and what happens next.
    public var description: String {
        switch self {
        case .clientsLimitReached(let limit):
            "max number of clients reached (\(limit)); the connection is closed"
        case .queryBufferOverflowed(let bytes, let limit):
            "the query buffer holds \(bytes) bytes, over the \(limit)-byte limit; the connection is closed"
        }
    }
}
