import LogChannel

/// Every command the key-value simulation's clients sent, with when it was sent and, if acknowledged, when and what
/// it was answered: what `KeyValueHistory+Linearizability` holds against a sequential model of each key.
///
/// A transaction's commands are recorded one by one, each with the EXEC's invocation and response: the store applies
/// them all at one instant, which lies between the two. A request refused by a node that does not serve was never
/// executed; one lost with its node, or never answered, may or may not have been. So were never executed the commands
/// of an EXEC aborted by its watch and of a DISCARD; a watched EXEC is also recorded with its WATCH
/// (`WatchedTransaction`), which `KeyValueHistory+Watches` judges.
struct KeyValueHistory {
    /// One command of a request.
    struct Operation {
        var operation: KeyValueModel.Operation
        /// The request (its tag) the command was sent in.
        var request: UInt64
        var invokedAt: Instant
        /// When the reply left the primary; nil while the outcome is unknown.
        var respondedAt: Instant?
        var reply: RESPReply?
        var isRejected = false
        /// 3 when the client said `HELLO 3`, else 2: the protocol its reply was read in.
        var protocolVersion = 2

        var isAcknowledged: Bool { respondedAt != nil }
        /// Whether it may have been applied without a client learning so.
        var isUnknown: Bool { respondedAt == nil && !isRejected }
        /// `respondedAt`, or after the end of the run when never answered.
        var respondedOrEnd: Instant { respondedAt ?? RealTime.end }

        var description: String { operation.arguments.joined(separator: " ") + " (request \(request))" }
    }

    /// A WATCH and the EXEC that followed it on the same connection.
    struct WatchedTransaction {
        /// The WATCH, in `operations`.
        var watch: Int
        /// The EXEC's commands, in `operations`.
        var commands: Range<Int>
        var execInvokedAt: Instant
        /// When the EXEC was answered; nil while its outcome is unknown.
        var execRespondedAt: Instant?
        /// Whether the EXEC answered a null: the watched key changed, so nothing was done.
        var isAborted = false
    }

    private struct Pending {
        var commands: Range<Int>
        var request: KeyValueModel.Request
        /// Where the EXEC of a watched transaction is in `watchedTransactions`.
        var watchedTransaction: Int?
    }

    private(set) var operations: [Operation] = []
    /// Requests sent and not yet answered, refused or lost.
    private var pending: [UInt64: Pending] = [:]
    /// Acknowledged transactions, as ranges of `operations`.
    private(set) var transactions: [Range<Int>] = []
    /// Acknowledged DISCARDs, as ranges of `operations`: commands never executed.
    private(set) var discards: [Range<Int>] = []
    /// Every watched EXEC sent.
    private(set) var watchedTransactions: [WatchedTransaction] = []
    /// Where each WATCH request's command is in `operations`.
    private var watchOperations: [UInt64: Int] = [:]
    /// What the client saw wrong outside the replies the checkers judge (the frontend's own replies, say).
    private(set) var complaints: [String] = []
    private(set) var acknowledgedRequests = 0

    /// A client sent `request` as `tag`, in RESP3 when `protocolVersion` is 3; a watched transaction's EXEC or
    /// DISCARD names the tag of its `watch`. The commands a DISCARD drops were never executed.
    mutating func invoked(
        _ request: KeyValueModel.Request, tag: UInt64, at now: Instant, protocolVersion: Int = 2, watch: UInt64? = nil
    ) {
        let start = operations.count
        for operation in request.operations {
            operations.append(
                Operation(operation: operation, request: tag, invokedAt: now, protocolVersion: protocolVersion))
        }
        var entry = Pending(commands: start..<operations.count, request: request)
        switch request {
        case .watch:
            watchOperations[tag] = start
        case .watchedTransaction:
            guard let watch, let watchOperation = watchOperations[watch] else {
                preconditionFailure("an EXEC under a watch names the WATCH it follows")
            }
            entry.watchedTransaction = watchedTransactions.count
            watchedTransactions.append(
                WatchedTransaction(watch: watchOperation, commands: entry.commands, execInvokedAt: now))
        case .discard:
            for index in entry.commands { operations[index].isRejected = true }
        case .single, .transaction:
            break
        }
        pending[tag] = entry
    }

    /// The client saw something wrong that no reply records.
    mutating func complain(_ complaint: String) {
        complaints.append(complaint)
    }

    /// The primary released the reply to `tag`. Returns a complaint if it is not the reply of its request: not
    /// one reply in the client's protocol, an error (no command the clients send can fail on these keys), an EXEC's
    /// array of another length, a null for an EXEC without a watch, a reply of a shape the protocol does not give
    /// that command (`shapeComplaint`), or anything but OK for a WATCH or DISCARD.
    mutating func responded(tag: UInt64, with bytes: [UInt8], at now: Instant) -> String? {
        guard let sent = pending.removeValue(forKey: tag) else {
            return "request \(tag) was answered but is not pending"
        }
        let protocolVersion = operations[sent.commands.lowerBound].protocolVersion
        guard let reply = RESPReply(parsing: bytes, protocolVersion: protocolVersion) else {
            return "request \(tag) was answered with \(bytes.count) bytes that are not one RESP\(protocolVersion) reply"
        }
        var replies = [reply]
        switch sent.request {
        case .watch:
            guard reply == .status("OK") else { return "the WATCH of request \(tag) was answered \(reply)" }
        case .discard:
            guard reply == .status("OK") else { return "the DISCARD of request \(tag) was answered \(reply)" }
            discards.append(sent.commands)
            acknowledgedRequests += 1
            return nil   // the DISCARDed commands stay never executed
        case .watchedTransaction where reply == .null:
            let watched = sent.watchedTransaction!
            watchedTransactions[watched].execRespondedAt = now
            watchedTransactions[watched].isAborted = true
            for index in sent.commands { operations[index].isRejected = true }
            acknowledgedRequests += 1
            return nil
        case .transaction, .watchedTransaction:
            guard case .array(let items) = reply, items.count == sent.commands.count else {
                return "the EXEC of request \(tag), of \(sent.commands.count) commands, was answered \(reply)"
            }
            replies = items
        case .single:
            break
        }
        for (index, reply) in zip(sent.commands, replies) {
            if case .error(let message) = reply { return "\(operations[index].description) failed: \(message)" }
            if let complaint = Self.shapeComplaint(operations[index].operation, reply, protocolVersion) {
                return "\(operations[index].description) \(complaint)"
            }
        }
        for (index, reply) in zip(sent.commands, replies) {
            operations[index].respondedAt = now
            operations[index].reply = reply
        }
        if sent.request.isTransaction { transactions.append(sent.commands) }
        if let watched = sent.watchedTransaction { watchedTransactions[watched].execRespondedAt = now }
        acknowledgedRequests += 1
        return nil
    }

    /// What is wrong with the form of `reply` to `operation` in `protocolVersion`, where the protocols differ: RESP3
    /// answers HGETALL with a map, SMEMBERS with a set and a score with a double, RESP2 with arrays and bulk strings.
    /// (Each parser already refuses the other protocol's frames and nulls.) nil when right.
    static func shapeComplaint(_ operation: KeyValueModel.Operation, _ reply: RESPReply, _ protocolVersion: Int)
        -> String?
    {
        let isRESP3 = protocolVersion == 3
        switch (operation, reply) {
        case (.hashGetAll, .map), (.members, .set), (.scoreIncrement, .double), (.score, .double):
            return isRESP3 ? nil : "was answered \(reply), a RESP3 form, in RESP2"
        case (.hashGetAll, .array), (.members, .array), (.scoreIncrement, .bulk), (.score, .bulk):
            return isRESP3 ? "was answered \(reply), a RESP2 form, in RESP3" : nil
        default:
            return nil
        }
    }

    /// The request was refused without being executed.
    mutating func rejected(tag: UInt64) {
        guard let sent = pending.removeValue(forKey: tag) else { return }
        for index in sent.commands { operations[index].isRejected = true }
    }

    /// The request's outcome will never be known.
    mutating func lost(tag: UInt64) {
        pending[tag] = nil
    }
}

extension KeyValueHistory {
    /// What `state`, held by a node going live, lacks of the acknowledged writes: an acknowledged SADD's token, an
    /// HSET's field, an INCR's or ZINCRBY's count, a watched EXEC's count, RPUSHes' tokens beyond what the pops of
    /// unknown outcome could have taken, or
    /// an acknowledged pop's token back in its list. nil if nothing.
    func missingAcknowledged(in state: KeyValueModel.State) -> String? {
        var missing: [String] = []
        var popped: [String: Set<UInt64>] = [:], unknownPops: [String: Int] = [:], vanished: [String: Int] = [:]
        let lists = state.lists.mapValues(Set.init)
        for operation in operations {
            guard operation.operation.isPop else { continue }
            let key = operation.operation.key
            if let token = operation.poppedToken { popped[key, default: []].insert(token) }
            if operation.isUnknown { unknownPops[key, default: 0] += 1 }
        }
        for operation in operations where operation.isAcknowledged {
            switch operation.operation {
            case .rightPush(let key, let token):
                if lists[key]?.contains(token) != true && popped[key]?.contains(token) != true {
                    vanished[key, default: 0] += 1
                }
            case .setAdd(let key, let token):
                if state.sets[key]?.contains(token) != true { missing.append("\(key)'s \(token)") }
            case .hashSet(let key, let field, _):
                if state.hashes[key]?[field] == nil { missing.append("\(key)'s field \(field)") }
            case .increment(let key):
                if case .integer(let value)? = operation.reply, state.counters[key] ?? 0 < value {
                    missing.append("\(key) at \(state.counters[key] ?? 0) after an INCR answered \(value)")
                }
            case .scoreIncrement(let key):
                if let value = operation.reply?.count, state.counters[key] ?? 0 < value {
                    missing.append("\(key) at \(state.counters[key] ?? 0) after a ZINCRBY answered \(value)")
                }
            case .set(let key, let value):
                // Acknowledged only when its watched EXEC committed.
                if state.counters[key] ?? 0 < value {
                    missing.append("\(key) at \(state.counters[key] ?? 0) after a watched EXEC set \(value)")
                }
            default:
                break
            }
        }
        for (key, count) in vanished.sorted(by: { $0.key < $1.key }) where count > unknownPops[key] ?? 0 {
            missing.append("\(count) pushes to \(key), with \(unknownPops[key] ?? 0) pops of unknown outcome")
        }
        for (key, tokens) in popped.sorted(by: { $0.key < $1.key }) {
            let back = tokens.intersection(lists[key] ?? [])
            if !back.isEmpty { missing.append("the pops of \(back.sorted().prefix(3)) from \(key)") }
        }
        return missing.isEmpty ? nil : "missing acknowledged writes: \(missing.prefix(5))"
    }
}
