import LogChannel

/// Lists as queues (`KeyValueHistory+Linearizability`): RPUSH of unique tokens, LPOP, BLPOP, BRPOP, LRANGE and LLEN.
///
/// A BRPOP takes from the tail, so the rules of queue order hold for the pops from the head (LPOP, BLPOP) only; every
/// other rule holds for every pop. A blocking pop answered null timed out: it saw the list empty when it began to wait,
/// a read of the whole list, and its reply came no sooner than its timeout after it was sent.
extension KeyValueHistory {
    /// A read of a whole list, in order: an LRANGE, an LPOP that found the list empty, or the final state.
    struct ListRead {
        var tokens: [UInt64]
        var invokedAt: Instant
        var respondedAt: Instant
        /// What it saw, for a report.
        var what: String
    }

    /// What breaks the queue rules for list `key`, given its `operations` and its `final` tokens when known.
    func listViolations(_ key: String, _ operations: [Operation], final: [UInt64]?) -> [String] {
        var found: [String] = []
        var pushes: [UInt64: Operation] = [:]
        var pops: [(token: UInt64, pop: Operation)] = [], poppedBy: [UInt64: Operation] = [:]
        // Reads of the whole list, in order: LRANGE, an LPOP that found it empty, and the final state.
        var reads: [ListRead] = []
        var lengths: [(length: Int64, operation: Operation, isPush: Bool)] = []
        for operation in operations {
            if case .rightPush(_, let token) = operation.operation { pushes[token] = operation }
        }
        for operation in operations where operation.isAcknowledged {
            switch (operation.operation, operation.reply!) {
            case (.rightPush, .integer(let length)):
                lengths.append((length, operation, true))
            case (.leftPop, .bulk) where operation.reply!.token != nil:
                let token = operation.reply!.token!
                if let earlier = poppedBy[token] {
                    found.append(
                        "\(operation.description) popped \(token), which \(earlier.description) popped already")
                }
                poppedBy[token] = operation
                pops.append((token, operation))
            case (.leftPop, .null):
                reads.append(ListRead(operation, saw: [], "found it empty"))
            case (.blockingPop, _) where operation.poppedToken != nil:
                let token = operation.poppedToken!
                if case .array(let parts) = operation.reply!, parts[0] != .bulk(Array(key.utf8)) {
                    found.append("\(operation.description) was answered \(operation.reply!), naming another key")
                }
                if let earlier = poppedBy[token] {
                    found.append(
                        "\(operation.description) popped \(token), which \(earlier.description) popped already")
                }
                poppedBy[token] = operation
                pops.append((token, operation))
            case (.blockingPop(_, _, let timeout), .null):
                let waited = operation.respondedAt!.nanoseconds - operation.invokedAt.nanoseconds
                if waited < UInt64(timeout) * 1_000_000 {
                    found.append(
                        "\(operation.description) timed out after \(waited / 1_000) µs, before its \(timeout) ms")
                }
                reads.append(ListRead(operation, saw: [], "timed out"))
            case (.range, .array) where operation.reply!.tokens != nil:
                let tokens = operation.reply!.tokens!
                reads.append(ListRead(operation, saw: tokens, "saw \(tokens)"))
            case (.length, .integer(let length)):
                lengths.append((length, operation, false))
            default:
                found.append("\(operation.description) was answered \(operation.reply!), not a list's reply")
            }
        }
        if let final {
            reads.append(ListRead(
                tokens: final, invokedAt: RealTime.end, respondedAt: RealTime.end,
                what: "the final state of \(key) holds \(final.prefix(8))…"))
        }
        let unknownPops = operations.filter { $0.operation.isPop && $0.isUnknown }.count

        // A pop takes a token that was pushed, before the pop returned.
        for (token, pop) in pops {
            if let push = pushes[token], !push.isRejected, push.invokedAt <= pop.respondedAt! { continue }
            found.append("\(pop.description) popped \(token), which was not pushed to \(key) before it returned")
        }
        // Reads hold what was pushed, once, never a token popped before they were sent, in real-time order, and every
        // token known present throughout.
        let finalTokens = final ?? []
        for read in reads {
            var seen: Set<UInt64> = []
            var latestInvocationAhead = Instant.zero
            for token in read.tokens {
                if !seen.insert(token).inserted { found.append("\(read.what): \(token) twice") }
                guard let push = pushes[token], !push.isRejected, push.invokedAt <= read.respondedAt else {
                    found.append("\(read.what): \(token) was not pushed to \(key) before the read returned")
                    continue
                }
                if let pop = poppedBy[token], pop.respondedAt! < read.invokedAt {
                    found.append("\(read.what): \(token) reappears after \(pop.description) popped it")
                }
                if let pushed = push.respondedAt, pushed < latestInvocationAhead {
                    found.append(
                        "\(read.what): \(token) comes after a token pushed after its own push was acknowledged")
                }
                latestInvocationAhead = max(latestInvocationAhead, push.invokedAt)
            }
            let present = knownPresent(
                throughout: read.invokedAt, read.respondedAt, final: finalTokens, pushes: pushes, pops: pops)
            if let missing = present.first(where: { !seen.contains($0) }) {
                found.append(
                    "\(read.what): \(missing) is missing, though pushed and acknowledged before and not popped")
            }
        }
        // Pops from the head take tokens in queue order: none from behind a token that was never popped or popped
        // later.
        let earliestFinalPush = finalTokens.compactMap { pushes[$0]?.respondedAt }.min()
        let headPops = pops.filter { $0.pop.operation.isPopFromHead }
        for (token, pop) in headPops {
            guard let push = pushes[token] else { continue }
            if let earliestFinalPush, earliestFinalPush < push.invokedAt {
                found.append(
                    "\(pop.description) popped \(token) past a token acknowledged before \(token) was pushed, "
                        + "still in the list")
            }
            for (other, otherPop) in headPops where otherPop.invokedAt > pop.respondedAt! {
                if let otherPushed = pushes[other]?.respondedAt, otherPushed < push.invokedAt {
                    found.append(
                        "\(pop.description) popped \(token) before \(otherPop.description) popped \(other), "
                            + "pushed ahead of it")
                }
            }
        }
        // Lengths lie between the tokens known present and those that could be.
        let sentPushes = pushes.values.filter { !$0.isRejected }.map(\.invokedAt).sorted()
        let popsReturned = pops.map { $0.pop.respondedAt! }.sorted()
        for (length, operation, isPush) in lengths {
            let respondedAt = operation.respondedAt!
            let most = RealTime.count(sentPushes, atOrBefore: respondedAt)
                - RealTime.count(popsReturned, before: operation.invokedAt)
            let present = knownPresent(
                throughout: operation.invokedAt, respondedAt, final: finalTokens, pushes: pushes, pops: pops)
            let least = present.count + (isPush ? 1 : 0)
            if length < Int64(least) || length > Int64(most) {
                found.append(
                    "\(operation.description) answered length \(length), outside the \(least)...\(most) possible")
            }
        }
        // Every acknowledged push survives or was popped; the unknown LPOPs account for the tokens that vanished.
        if let final {
            let held = Set(final)
            let vanished = pushes.values.filter { $0.isAcknowledged }.compactMap { push -> UInt64? in
                guard case .rightPush(_, let token) = push.operation, !held.contains(token), poppedBy[token] == nil
                else { return nil }
                return token
            }
            if vanished.count > unknownPops {
                found.append(
                    "\(key): \(vanished.count) acknowledged pushes vanished (\(vanished.sorted().prefix(5))…), "
                    + "more than the \(unknownPops) pops whose outcome is unknown")
            }
        }
        return found
    }

    /// Tokens certainly in the list from `start` to `end`: pushed and acknowledged before `start`, and never popped
    /// (in `final`) or popped by an LPOP sent after `end`.
    private func knownPresent(
        throughout start: Instant, _ end: Instant, final: [UInt64], pushes: [UInt64: Operation],
        pops: [(token: UInt64, pop: Operation)]
    ) -> [UInt64] {
        let neverPopped = final.filter { token in pushes[token]?.respondedAt.map { $0 < start } ?? false }
        let poppedLater = pops.filter {
            $0.pop.invokedAt > end && (pushes[$0.token]?.respondedAt.map { $0 < start } ?? false)
        }
        return neverPopped + poppedLater.map(\.token)
    }
}

extension KeyValueHistory.ListRead {
    /// What acknowledged `operation` saw: `tokens`, described by `what`.
    init(_ operation: KeyValueHistory.Operation, saw tokens: [UInt64], _ what: String) {
        self.init(
            tokens: tokens, invokedAt: operation.invokedAt, respondedAt: operation.respondedAt!,
            what: "\(operation.description) \(what)")
    }
}

extension KeyValueHistory.Operation {
    /// The token an acknowledged pop took: LPOP's bulk string, or the element of a blocking pop's `[key, element]`;
    /// nil for anything else.
    var poppedToken: UInt64? {
        switch (operation, reply) {
        case (.leftPop, let reply?): reply.token
        case (.blockingPop, .array(let parts)?) where parts.count == 2: parts[1].token
        default: nil
        }
    }
}

extension KeyValueModel.Operation {
    /// Whether the command pops from a list's head (LPOP, BLPOP), where the queue's order shows.
    var isPopFromHead: Bool {
        switch self {
        case .leftPop, .blockingPop(_, fromLeft: true, _): true
        default: false
        }
    }
}
