import LogChannel

/// Every command the key-value simulation's clients sent, with when it was sent and, if acknowledged, when and what
/// it was answered: what `KeyValueHistory+Linearizability` holds against a sequential model of each key.
///
/// A transaction's commands are recorded one by one, each with the EXEC's invocation and response: the store applies
/// them all at one instant, which lies between the two. A request refused by a node that does not serve was never
/// executed; one lost with its node, or never answered, may or may not have been.
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

        var isAcknowledged: Bool { respondedAt != nil }
        /// Whether it may have been applied without a client learning so.
        var isUnknown: Bool { respondedAt == nil && !isRejected }
        /// `respondedAt`, or after the end of the run when never answered.
        var respondedOrEnd: Instant { respondedAt ?? RealTime.end }

        var description: String { operation.arguments.joined(separator: " ") + " (request \(request))" }
    }

    private(set) var operations: [Operation] = []
    /// Requests sent and not yet answered, refused or lost: where their commands are in `operations`.
    private var pending: [UInt64: (commands: Range<Int>, isTransaction: Bool)] = [:]
    /// Acknowledged transactions, as ranges of `operations`.
    private(set) var transactions: [Range<Int>] = []
    private(set) var acknowledgedRequests = 0

    /// A client sent `request` as `tag`.
    mutating func invoked(_ request: KeyValueModel.Request, tag: UInt64, at now: Instant) {
        let start = operations.count
        for operation in request.operations {
            operations.append(Operation(operation: operation, request: tag, invokedAt: now))
        }
        if case .transaction = request {
            pending[tag] = (start..<operations.count, true)
        } else {
            pending[tag] = (start..<operations.count, false)
        }
    }

    /// The primary released the reply to `tag`. Returns a complaint if it is not the reply of its request: not
    /// RESP, an error (no command the clients send can fail on these keys), or an EXEC's array of another length.
    mutating func responded(tag: UInt64, with bytes: [UInt8], at now: Instant) -> String? {
        guard let sent = pending.removeValue(forKey: tag) else {
            return "request \(tag) was answered but is not pending"
        }
        guard let reply = RESPReply(parsing: bytes) else {
            return "request \(tag) was answered with \(bytes.count) bytes that are not one RESP reply"
        }
        var replies = [reply]
        if sent.isTransaction {
            guard case .array(let items) = reply, items.count == sent.commands.count else {
                return "the EXEC of request \(tag), of \(sent.commands.count) commands, was answered \(reply)"
            }
            replies = items
        }
        for (index, reply) in zip(sent.commands, replies) {
            if case .error(let message) = reply { return "\(operations[index].description) failed: \(message)" }
        }
        for (index, reply) in zip(sent.commands, replies) {
            operations[index].respondedAt = now
            operations[index].reply = reply
        }
        if sent.isTransaction { transactions.append(sent.commands) }
        acknowledgedRequests += 1
        return nil
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
    /// HSET's field, an INCR's count, RPUSHes' tokens beyond what the LPOPs of unknown outcome could have taken, or
    /// an acknowledged LPOP's token back in its list. nil if nothing.
    func missingAcknowledged(in state: KeyValueModel.State) -> String? {
        var missing: [String] = []
        var popped: [String: Set<UInt64>] = [:], unknownPops: [String: Int] = [:], vanished: [String: Int] = [:]
        let lists = state.lists.mapValues(Set.init)
        for operation in operations {
            guard case .leftPop(let key) = operation.operation else { continue }
            if let token = operation.reply?.token { popped[key, default: []].insert(token) }
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
            default:
                break
            }
        }
        for (key, count) in vanished.sorted(by: { $0.key < $1.key }) where count > unknownPops[key] ?? 0 {
            missing.append("\(count) pushes to \(key), with \(unknownPops[key] ?? 0) LPOPs of unknown outcome")
        }
        for (key, tokens) in popped.sorted(by: { $0.key < $1.key }) {
            let back = tokens.intersection(lists[key] ?? [])
            if !back.isEmpty { missing.append("the LPOPs of \(back.sorted().prefix(3)) from \(key)") }
        }
        return missing.isEmpty ? nil : "missing acknowledged writes: \(missing.prefix(5))"
    }
}
