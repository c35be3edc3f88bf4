@testable import KeyValue
import Replication

/// Connections speaking RESP to a primary's store the way the node runtime drives them: each request goes through the
/// client protocol, and a replicated one is applied to the store, which records its log entry for a backup to replay.
struct ConnectedStore {
    let wire: KeyValueClientProtocol
    var primary = StoreDriver()
    var status = NodeStatus(
        role: .primary, nodeName: "a", epoch: 3, peerClientAddress: "10.0.0.2:7000", clientAddress: "10.0.0.1:7000")
    private var sessions: [UInt64: KeyValueClientProtocol.Session] = [:]
    /// Connections a CLIENT KILL closed, in order.
    private(set) var closed: [UInt64] = []
    /// What each connection was pushed by PUBLISH, as RESP text, in order.
    private(set) var pushed: [UInt64: [String]] = [:]
    /// What each waiting connection was answered by later entries (a blocking pop served or ended), in order.
    private(set) var delivered: [UInt64: [String]] = [:]
    /// Connections whose blocking pop waits.
    private var waiting: Set<UInt64> = []
    /// What `send` answers for a blocking pop that waits.
    static let waiting = "(waiting)"

    /// Connections to a store that notes its slow commands in the protocol's slow log and reads its keyspace event
    /// setting, as a node's do; sessions open under `sessionLimits`, and must AUTH with `requiredPassword` when one is
    /// given.
    init(sessionLimits: SessionLimits = .defaults, requiredPassword: ClientPassword? = nil) {
        wire = KeyValueClientProtocol(requiredPassword: requiredPassword, sessionLimits: sessionLimits)
        primary.store = KeyValueStore(slowLog: wire.slowLog, keyspaceEvents: wire.keyspaceEvents)
    }

    /// The log so far: what a backup replays.
    var log: [LogEntry] { primary.log }

    /// Sends one request from connection `client` (opened on first use) and returns its reply as RESP text.
    @discardableResult
    mutating func send(_ client: UInt64, _ arguments: String...) -> String {
        send(client, arguments: arguments)
    }

    @discardableResult
    mutating func send(_ client: UInt64, arguments: [String]) -> String {
        send(client, binary: arguments.map { Array($0.utf8) })
    }

    /// `send` for arguments that are not text (a DUMP payload).
    @discardableResult
    mutating func send(_ client: UInt64, binary arguments: [[UInt8]]) -> String {
        var request = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments { request += Array("$\(argument.count)\r\n".utf8) + argument + [13, 10] }
        precondition(!closed.contains(client), "connection \(client) was closed")
        var session = sessions[client] ?? wire.makeSession(clientID: client)
        request.withUnsafeBytes { wire.append($0, to: &session) }
        let store = primary.store
        // As the runtime's routing status, which reads the store's figures each round.
        status.machineStatistics = store.statistics
        let next = wire.nextRequest(from: &session, status: status, digest: { store.digest() })
        sessions[client] = session
        switch next {
        case .replicated(let bytes), .broadcast(let bytes): return released(primary.run(encoded: bytes))
        case .blocking(let bytes, _):
            let reply = released(primary.run(encoded: bytes))
            if reply == Self.waiting { waiting.insert(client) }
            return reply
        case .aboutConnections(let query):
            // As the runtime answers it: every open connection in id order; the ones the answer names close.
            let open = sessions.keys.sorted().map { id in
                OpenConnection(
                    id: id, session: sessions[id]!, peerAddress: "127.0.0.1:\(50_000 + id)",
                    localAddress: "127.0.0.1:7000", descriptor: Int32(10 + id), isBlocked: waiting.contains(id))
            }
            let asker = open.first { $0.id == client }!
            let answer = wire.answer(connectionsQuery: query, from: asker, among: open, status: status)
            for id in answer.closing { sessions[id] = nil }
            closed += answer.closing
            if let unblocking = answer.unblocking { unblock(unblocking.id, isError: unblocking.isError) }
            return text(answer.reply)
        case .local(let reply), .quit(let reply), .malformed(let reply), .listen(let reply, _): return text(reply)
        case .monitor(let reply):
            // As the runtime does when the first connection monitors.
            wire.setFeedWanted(true)
            return text(reply)
        case nil: return "(incomplete)"
        }
    }

    /// Ends connection `client`'s wait as the runtime does after a timeout or a close: with the protocol's unblock
    /// request. Returns what the request itself answers (nothing anyone reads).
    @discardableResult
    mutating func unblock(_ client: UInt64, isError: Bool = false) -> String {
        released(primary.run(encoded: wire.unblockRequest(session: sessions[client]!, isError: isError)))
    }

    /// Runs the active-expiry tick and releases its output (keyspace notifications) as the runtime does.
    mutating func tick() {
        _ = released(primary.tick())
    }

    /// A released reply as the runtime handles it: the waiters' parts to them; then, for a reply that carries messages
    /// (a PUBLISH's, or any with keyspace notifications), each message offered in turn to every connection in id order,
    /// and the counts and the listeners handed back for the asker's reply, which is returned.
    private mutating func released(_ reply: [UInt8]) -> String {
        var own = reply
        if let routed = wire.routedReply(reply[...]) {
            for delivery in routed.deliveries {
                delivered[delivery.connectionID, default: []].append(text(delivery.reply))
                waiting.remove(delivery.connectionID)
            }
            guard let asker = routed.own else { return Self.waiting }
            own = asker
        }
        guard wire.carriesBroadcast(own[...]) else { return text(own) }
        let listeners = sessions.keys.sorted().map { sessions[$0]! }
        let deliveries = wire.broadcastMessages(own[...]).map { message in
            var count = 0
            for (id, session) in zip(sessions.keys.sorted(), listeners) {
                guard let (notice, taken) = wire.broadcastNotice(message, session: session) else { continue }
                pushed[id, default: []].append(text(notice))
                count += taken
            }
            return count
        }
        return text(wire.broadcastReply(own[...], deliveries: deliveries, listeners: listeners))
    }

    /// Whether connection `client` is inside MULTI.
    func isInTransaction(_ client: UInt64) -> Bool {
        sessions[client]?.transaction != nil
    }

    /// Connection `client`'s CLIENT LIST line.
    func clientLine(_ client: UInt64) -> String {
        text(sessions[client]?.connection.line() ?? [])
    }
}

/// Replies as RESP text, for expectations that read like the wire.
enum RESP {
    static let ok = "+OK\r\n", queued = "+QUEUED\r\n", nullArray = "*-1\r\n", nullBulk = "$-1\r\n"

    /// An array of already-encoded replies.
    static func array(_ elements: String...) -> String {
        "*\(elements.count)\r\n" + elements.joined()
    }

    static func integer(_ value: Int) -> String { ":\(value)\r\n" }
    static func bulk(_ value: String) -> String { "$\(value.utf8.count)\r\n\(value)\r\n" }
    static func error(_ message: String) -> String { "-\(message)\r\n" }
}
