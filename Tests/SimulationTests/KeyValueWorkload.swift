@testable import KeyValue
import LogChannel
import Replication

/// The key-value store's workload: plain clients send Redis commands of every type the model knows, one at a time or
/// as MULTI … EXEC transactions, watched transactions and blocking pops, in RESP2 or (every odd client, after
/// `HELLO 3`) RESP3; the history records what each was answered (`KeyValueHistory`).
///
/// Clients speak RESP to the store's real frontend (`KeyValueClientProtocol`), one session per connection, as the
/// runtime does; the frontend answers MULTI, QUEUED and HELLO itself and makes the log entry the simulation sends to
/// the node. A connection lives as long as its link (`ClientLink`): a client whose node died or refused it opens a new
/// one. A write transaction adds one token to both pair keys around one to three other writes; a read transaction reads
/// both pair keys' sizes around one or two other reads (`KeyValueModel`). A watched transaction is a conversation on a
/// connection of its own: WATCH, then GET once answered, then MULTI, SET of the count plus one, RPUSH, and EXEC (or
/// DISCARD); it is dropped, as a client whose connection broke drops it, when a step is lost or refused or the link
/// changes. A blocking pop has a connection of its own too, since a blocked connection reads nothing more.
struct KeyValueWorkload: SimulationWorkload {
    static var emptyMachine: KeyValueStore { KeyValueStore() }

    /// Virtual time as the wall clock, so that the history can judge TTLs.
    static func entropy(random: SeededRandom, wallClock: VirtualWallClock) -> any EntropySource {
        VirtualTimeEntropy(random: random, wallClock: wallClock)
    }

    /// Whether `client` says `HELLO 3` on each connection it opens: every odd one, so every run has both protocols.
    static func speaksRESP3(_ client: Int) -> Bool { client % 2 == 1 }

    /// A connection and the link it lives on.
    private struct Connection {
        var link: ClientLink
        var session: KeyValueClientProtocol.Session
    }

    /// A watched transaction under way, on a connection of its own.
    private struct Conversation {
        enum Step {
            /// Waiting for the reply to request `tag`.
            case waiting(tag: UInt64)
            /// The WATCH was answered: the key is read next.
            case watched
            /// The key was read: the transaction follows.
            case read(Int64)
        }

        var connection: Connection
        var key: String
        /// The WATCH request's tag, which the EXEC names in the history.
        var watchTag: UInt64
        var step: Step

        /// Whether its step in flight is request `tag`.
        func isWaiting(for tag: UInt64) -> Bool {
            if case .waiting(tag) = step { true } else { false }
        }
    }

    /// A blocking pop sent: its connection, and how long the runtime lets it wait (nil: for ever).
    private struct BlockingPop {
        var session: KeyValueClientProtocol.Session
        var timeout: Duration?
    }

    var history = KeyValueHistory()
    /// The next token a write carries: one counter for every key, so a token names one write.
    private var nextToken: UInt64 = 1
    /// Tokens sent to each set, which SISMEMBER asks about.
    private var tokensAdded: [String: [UInt64]] = [:]
    /// The store's RESP frontend, which a node runs for its connections.
    private let frontend = KeyValueClientProtocol()
    /// The next connection's id: unique in the run, as a node's are in its process, so watches and waits never mix.
    private var nextConnectionID: UInt64 = 1
    /// Each client's connection for plain requests.
    private var connections: [Int: Connection] = [:]
    /// Each client's watched transaction under way, at most one.
    private var conversations: [Int: Conversation] = [:]
    /// Blocking pops sent and not answered, by tag.
    private var blockingPops: [UInt64: BlockingPop] = [:]
    /// The tag of each blocking pop's request, by its connection id, which a reply that serves it names.
    private var blockedTags: [UInt64: UInt64] = [:]

    mutating func request(tag: UInt64, on link: ClientLink, at now: Instant, random: inout SeededRandom) -> [UInt8] {
        let protocolVersion = Self.speaksRESP3(link.client) ? 3 : 2
        if let conversation = conversations[link.client], conversation.connection.link != link {
            conversations[link.client] = nil   // its connection is gone, and its watch with it
        }
        if let next = nextStep(tag: tag, of: link.client, &random) {
            history.invoked(
                next, tag: tag, at: now, protocolVersion: protocolVersion, watch: conversations[link.client]!.watchTag)
            var session = conversations[link.client]!.connection.session
            defer { conversations[link.client]!.connection.session = session }
            return logged(next, on: &session, link)
        }
        let request: KeyValueModel.Request
        switch random.next() % 12 {
        case 0:
            let token = takeToken()
            let writes = (0...(random.next() % 3)).map { _ in write(&random) }
            let addToSet = KeyValueModel.Operation.setAdd(KeyValueModel.pairSet, token: token)
            let pushToList = KeyValueModel.Operation.rightPush(KeyValueModel.pairList, token: token)
            request = .transaction([addToSet] + writes + [pushToList])
        case 1:
            let reads = (0...(random.next() % 2)).map { _ in read(&random) }
            request = .transaction(
                [.cardinality(KeyValueModel.pairSet)] + reads + [.length(KeyValueModel.pairList)])
        case 2 where conversations[link.client] == nil:
            let key = pick(KeyValueModel.watched, &random)
            var session = openSession(on: link)
            history.invoked(.watch(key), tag: tag, at: now, protocolVersion: protocolVersion)
            let bytes = logged(.watch(key), on: &session, link)
            conversations[link.client] = Conversation(
                connection: Connection(link: link, session: session), key: key, watchTag: tag,
                step: .waiting(tag: tag))
            return bytes
        case 3:
            let timeout = 10 + Int(random.next() % 70)
            let pop = KeyValueModel.Operation.blockingPop(
                pick(KeyValueModel.lists, &random), fromLeft: random.next() % 2 == 0, timeoutMilliseconds: timeout)
            var session = openSession(on: link)
            history.invoked(.single(pop), tag: tag, at: now, protocolVersion: protocolVersion)
            let (bytes, waitLimit) = loggedWithTimeout(.single(pop), on: &session, link)
            // The runtime times the wait as the frontend parsed it, not as the client meant it.
            blockingPops[tag] = BlockingPop(session: session, timeout: waitLimit)
            blockedTags[session.clientID] = tag
            return bytes
        case 4:
            request = .single(expiring(&random))
        default:
            request = .single(random.next() % 2 == 0 ? write(&random) : read(&random))
        }
        if connections[link.client]?.link != link {
            connections[link.client] = Connection(link: link, session: openSession(on: link))
        }
        history.invoked(request, tag: tag, at: now, protocolVersion: protocolVersion)
        var session = connections[link.client]!.session
        defer { connections[link.client]!.session = session }
        return logged(request, on: &session, link)
    }

    mutating func route(tag: UInt64, reply: [UInt8]) -> RoutedReplies {
        guard let routed = RoutedReplyEncoding.decode(reply[...]) else { return RoutedReplies(replies: [(tag, reply)]) }
        var replies: [(tag: UInt64, reply: [UInt8])] = []
        if let own = routed.own { replies.append((tag, own)) }
        for delivery in routed.deliveries {
            // A waiter whose request was lost has nobody reading its connection any more.
            guard let waiting = blockedTags.removeValue(forKey: delivery.connectionID) else { continue }
            replies.append((waiting, delivery.reply))
        }
        guard routed.own == nil, let pop = blockingPops[tag], let timeout = pop.timeout else {
            return RoutedReplies(replies: replies)
        }
        let unblock = frontend.unblockRequest(session: pop.session, isError: false)
        return RoutedReplies(replies: replies, wait: RoutedReplies.Wait(timeout: timeout, unblock: unblock))
    }

    mutating func responded(tag: UInt64, with reply: [UInt8], at now: Instant) -> String? {
        blockingPops[tag] = nil
        let complaint = history.responded(tag: tag, with: reply, at: now)
        advanceConversation(answered: tag, with: complaint == nil ? reply : nil)
        return complaint
    }

    mutating func rejected(tag: UInt64) {
        history.rejected(tag: tag)
        forget(tag)
    }

    mutating func lost(tag: UInt64) {
        history.lost(tag: tag)
        forget(tag)
    }

    func missingAcknowledged(in machine: KeyValueStore) -> String? {
        history.missingAcknowledged(in: KeyValueModel.State(reading: machine))
    }

    // MARK: Connections

    /// A new connection's session on `link`, after `HELLO 3` for a client that speaks RESP3.
    private mutating func openSession(on link: ClientLink) -> KeyValueClientProtocol.Session {
        var session = frontend.makeSession(clientID: nextConnectionID)
        nextConnectionID += 1
        if Self.speaksRESP3(link.client) {
            let (replies, entry, _) = send(KeyValueModel.wire(["HELLO", "3"]), on: &session, link)
            if entry != nil || replies.count != 1 || replies[0].first != UInt8(ascii: "%") {
                history.complain("HELLO 3 was answered \(replies.map { String(decoding: $0, as: UTF8.self) }), "
                    + "not one RESP3 map, or made an entry")
            }
        }
        return session
    }

    /// Sends `request` on `session` and returns the one log entry the frontend made of it; the frontend's own
    /// replies (OK to MULTI, QUEUED) are checked here, as the client reads them before the entry's reply.
    private mutating func logged(
        _ request: KeyValueModel.Request, on session: inout KeyValueClientProtocol.Session, _ link: ClientLink
    ) -> [UInt8] {
        loggedWithTimeout(request, on: &session, link).entry
    }

    /// `logged`, with the timeout of the blocking command the entry holds (nil for none, or for ever).
    private mutating func loggedWithTimeout(
        _ request: KeyValueModel.Request, on session: inout KeyValueClientProtocol.Session, _ link: ClientLink
    ) -> (entry: [UInt8], timeout: Duration?) {
        let (replies, entry, timeout) = send(request.wire, on: &session, link)
        var expected: [[UInt8]] = []
        switch request {
        case .transaction(let operations), .watchedTransaction(let operations), .discard(let operations):
            expected = [Array("+OK\r\n".utf8)] + operations.map { _ in Array("+QUEUED\r\n".utf8) }
        case .single, .watch:
            break
        }
        if replies != expected {
            history.complain("the frontend answered \(request) at once with "
                + "\(replies.map { String(decoding: $0, as: UTF8.self) })")
        }
        guard let entry else {
            history.complain("the frontend made no log entry of \(request)")
            return ([], nil)
        }
        return (entry, timeout)
    }

    /// Writes `bytes` to the frontend as `session`'s connection on `link` and reads every request out: the replies
    /// it gave at once, and the log entry, if it made one (of a replicated or a blocking command, with its timeout).
    private mutating func send(
        _ bytes: [UInt8], on session: inout KeyValueClientProtocol.Session, _ link: ClientLink
    ) -> (replies: [[UInt8]], entry: [UInt8]?, timeout: Duration?) {
        // The frontend is asked as the node's would be while serving: a node that does not serve refuses the entry.
        let status = NodeStatus(role: .primary, nodeName: "n\(link.node)", epoch: 1)
        bytes.withUnsafeBytes { frontend.append($0, to: &session) }
        var replies: [[UInt8]] = [], entry: [UInt8]?, timeout: Duration?
        while let request = frontend.nextRequest(from: &session, status: status, digest: { 0 }) {
            switch request {
            case .local(let reply): replies.append(reply)
            case .replicated(let bytes), .blocking(let bytes, _):
                if entry != nil { history.complain("the frontend made two log entries of one request") }
                entry = bytes
                if case .blocking(_, let limit) = request { timeout = limit }
            default: history.complain("the frontend answered \(request) to a client's request")
            }
        }
        return (replies, entry, timeout)
    }

    // MARK: Watched transactions

    /// The request of `client`'s watched transaction that is due, if one is: the GET after the WATCH, or the EXEC or
    /// DISCARD after the GET; nil while its last step is unanswered, or when there is none.
    private mutating func nextStep(
        tag: UInt64, of client: Int, _ random: inout SeededRandom
    ) -> KeyValueModel.Request? {
        guard let conversation = conversations[client] else { return nil }
        let request: KeyValueModel.Request
        switch conversation.step {
        case .waiting: return nil
        case .watched: request = .single(.get(conversation.key))
        case .read(let count):
            let writes: [KeyValueModel.Operation] = [
                .set(conversation.key, value: count + 1),
                .rightPush(pick(KeyValueModel.lists, &random), token: takeToken()),
            ]
            request = random.next() % 4 == 0 ? .discard(writes) : .watchedTransaction(writes)
        }
        conversations[client]!.step = .waiting(tag: tag)
        return request
    }

    /// Moves the watched transaction that waited for `tag` on: to its read once the WATCH is answered, to its EXEC
    /// once the read is, and to its end once the EXEC or DISCARD is; dropped when `reply` is nil (a wrong reply).
    private mutating func advanceConversation(answered tag: UInt64, with reply: [UInt8]?) {
        guard let client = conversations.first(where: { $0.value.isWaiting(for: tag) })?.key else { return }
        let conversation = conversations[client]!
        guard let reply else {
            conversations[client] = nil
            return
        }
        switch history.operations.last(where: { $0.request == tag })?.operation {
        case .watch?:
            conversations[client]!.step = .watched
        case .get?:
            let version = Self.speaksRESP3(conversation.connection.link.client) ? 3 : 2
            switch RESPReply(parsing: reply, protocolVersion: version) {
            case .null?: conversations[client]!.step = .read(0)
            case let parsed? where parsed.count != nil: conversations[client]!.step = .read(parsed.count!)
            default: conversations[client] = nil
            }
        default:
            conversations[client] = nil   // the EXEC or DISCARD: done
        }
    }

    /// Drops what waited for `tag`, which will never be answered.
    private mutating func forget(_ tag: UInt64) {
        if let pop = blockingPops.removeValue(forKey: tag) { blockedTags[pop.session.clientID] = nil }
        if let client = conversations.first(where: { $0.value.isWaiting(for: tag) })?.key {
            conversations[client] = nil
        }
    }

    // MARK: Commands

    private mutating func takeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    private mutating func write(_ random: inout SeededRandom) -> KeyValueModel.Operation {
        switch random.next() % 6 {
        case 0: return .rightPush(pick(KeyValueModel.lists, &random), token: takeToken())
        case 1: return .leftPop(pick(KeyValueModel.lists, &random))
        case 2:
            let key = pick(KeyValueModel.hashes, &random)
            return .hashSet(key, field: pick(KeyValueModel.fields, &random), token: takeToken())
        case 3:
            let key = pick(KeyValueModel.sets, &random), token = takeToken()
            tokensAdded[key, default: []].append(token)
            return .setAdd(key, token: token)
        case 4: return .scoreIncrement(pick(KeyValueModel.scoreCounters, &random))
        default: return .increment(pick(KeyValueModel.counters, &random))
        }
    }

    private func read(_ random: inout SeededRandom) -> KeyValueModel.Operation {
        switch random.next() % 10 {
        case 0: return .range(pick(KeyValueModel.lists, &random))
        case 1: return .length(pick(KeyValueModel.lists, &random))
        case 2: return .hashGet(pick(KeyValueModel.hashes, &random), field: pick(KeyValueModel.fields, &random))
        case 3: return .hashGetAll(pick(KeyValueModel.hashes, &random))
        case 4: return .cardinality(pick(KeyValueModel.sets, &random))
        case 5:
            // A token added lately (recent ones are the likeliest to be in flight), or one never added.
            let key = pick(KeyValueModel.sets, &random)
            let added = tokensAdded[key] ?? []
            let back = Int(random.next() % 8)
            return .isMember(key, token: back < added.count ? added[added.count - 1 - back] : 0)
        case 6: return .members(pick(KeyValueModel.sets, &random))
        case 7: return .score(pick(KeyValueModel.scoreCounters, &random))
        case 8: return .get(pick(KeyValueModel.watched, &random))
        default: return .get(pick(KeyValueModel.counters, &random))
        }
    }

    /// A command on an expiring key: a SET with a short TTL, an EXPIRE, or a read.
    private mutating func expiring(_ random: inout SeededRandom) -> KeyValueModel.Operation {
        let key = pick(KeyValueModel.expiring, &random)
        switch random.next() % 7 {
        case 0, 1:
            let range = KeyValueModel.expiringMilliseconds
            let milliseconds = range.lowerBound + Int(random.next() % UInt64(range.count))
            return .setExpiring(key, token: takeToken(), milliseconds: milliseconds)
        case 2: return .expire(key)
        case 3: return .timeToLive(key)
        case 4: return .exists(key)
        default: return .get(key)
        }
    }

    private func pick(_ choices: [String], _ random: inout SeededRandom) -> String {
        choices[Int(random.next() % UInt64(choices.count))]
    }
}

/// The simulation of the bundled key-value store.
typealias KeyValueSimulation = PairSimulation<KeyValueWorkload>

extension KeyValueSimulation {
    init(seed: UInt64, faults: FaultMix) {
        self.init(seed: seed, faults: faults, workload: KeyValueWorkload())
    }

    /// Requests whose reply a client has seen.
    var acknowledgedRequests: Int { workload.history.acknowledgedRequests }

    /// The final checks, once healed and quiet: one serving node; the backup's digest equal to its; and every
    /// acknowledged reply linearizable against its state.
    mutating func checkFinalState() {
        guard let primary = finalPrimary(), let store = nodes[primary].core.machine else { return }
        _ = caughtUpBackup(of: primary)
        for violation in workload.history.violations(final: KeyValueModel.State(reading: store)) {
            report(.linearizability, violation)
        }
    }

    /// When the state was lost, what can be judged without it: acknowledged replies against each other.
    mutating func checkHistoryWithoutFinalState() {
        for violation in workload.history.violations(final: nil) { report(.linearizability, violation) }
    }
}
