import LogChannel

/// The key-value simulation's linearizability checker: every acknowledged reply held against a sequential model of
/// its key, and every transaction against atomicity.
///
/// A linearizable store puts every operation at one instant between its invocation and its response, in one order
/// that each key's sequential model (a queue, a map of registers, a growing set, a counter) accepts. Deciding that in
/// general is costly, so, as `LinearizabilityChecker` does for the token log, the checker tests necessary
/// conditions, per key, that unique tokens make cheap; every report is a real violation. `final` is the state the
/// surviving primary holds after healing: a last read of every key, after every operation; nil when the state was
/// lost. Unknown operations (lost, never answered) may or may not have happened; rejected ones never did.
///
/// - *Lists* (RPUSH unique tokens, LPOP, LRANGE, LLEN) are queues. A token is popped at most once, only after its
///   push was sent, and never seen again after its pop returned. Every read (LRANGE, an empty LPOP, the final state)
///   holds each token known present throughout it: pushed and acknowledged before the read was sent, and popped
///   never or only by an LPOP sent after the read returned. Reads hold only tokens pushed before they returned,
///   once each, in an order that does not put a token ahead of one acknowledged before it was sent; LPOPs take
///   tokens in that order too. A length (LLEN, RPUSH's reply) lies between what was known present and what could
///   have been. An acknowledged push is in the final state or was popped, by an acknowledged LPOP or by one of the
///   unknown LPOPs, which must then number at least the tokens that vanished.
/// - *Hashes* (HSET unique values, HGET, HGETALL): each field is a register. A read sees a value whose HSET was sent
///   before the read returned and not overwritten by a later HSET acknowledged before the read was sent; reads never
///   go back to an older value; a field is never missing once an HSET of it was acknowledged.
/// - *Sets* (SADD unique tokens, SCARD, SISMEMBER) only grow: SADD answers 1 (its token is new), a member once seen
///   stays, and a cardinality lies between the SADDs acknowledged before it was sent and those sent before it
///   returned, never going back.
/// - *Counters* (INCR, GET): a value counts INCRs, so two INCRs never answer the same value, values never go back (an
///   INCR sent after another returned answers more), and no value exceeds the INCRs sent before it returned.
/// - *Transactions*: a transaction that reads `pair:set`'s and `pair:list`'s sizes sees them equal, and so does the
///   final state (`KeyValueModel`): a transaction applied in part would leave them apart.
extension KeyValueHistory {
    /// Every violation of the rules above; `final` is the surviving state, when the run ends with one.
    func violations(final: KeyValueModel.State?) -> [String] {
        var found: [String] = []
        if let final { found += final.unreadable.map { "key \($0) does not read as its type in the final state" } }
        var byKey: [String: [Operation]] = [:]
        for operation in operations { byKey[operation.operation.key, default: []].append(operation) }
        for key in byKey.keys.sorted() {
            let keyOperations = byKey[key]!
            if KeyValueModel.lists.contains(key) || key == KeyValueModel.pairList {
                found += listViolations(key, keyOperations, final: final?.lists[key])
            } else if KeyValueModel.hashes.contains(key) {
                found += hashViolations(key, keyOperations, final: final?.hashes[key])
            } else if KeyValueModel.sets.contains(key) || key == KeyValueModel.pairSet {
                found += setViolations(key, keyOperations, final: final?.sets[key])
            } else {
                found += counterViolations(key, keyOperations, final: final?.counters[key])
            }
        }
        found += atomicityViolations(final: final)
        return found
    }

    // MARK: Lists

    private func listViolations(_ key: String, _ operations: [Operation], final: [UInt64]?) -> [String] {
        var found: [String] = []
        var pushes: [UInt64: Operation] = [:]
        var pops: [(token: UInt64, pop: Operation)] = [], poppedBy: [UInt64: Operation] = [:]
        /// Reads of the whole list, in order: LRANGE, an LPOP that found it empty, and the final state.
        var reads: [(tokens: [UInt64], invokedAt: Instant, respondedAt: Instant, what: String)] = []
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
                    found.append("\(operation.description) popped \(token), which \(earlier.description) popped already")
                }
                poppedBy[token] = operation
                pops.append((token, operation))
            case (.leftPop, .null):
                reads.append(([], operation.invokedAt, operation.respondedAt!, "\(operation.description) found it empty"))
            case (.range, .array) where operation.reply!.tokens != nil:
                let tokens = operation.reply!.tokens!
                reads.append((tokens, operation.invokedAt, operation.respondedAt!, "\(operation.description) saw \(tokens)"))
            case (.length, .integer(let length)):
                lengths.append((length, operation, false))
            default:
                found.append("\(operation.description) was answered \(operation.reply!), not a list's reply")
            }
        }
        if let final { reads.append((final, RealTime.end, RealTime.end, "the final state of \(key) holds \(final.prefix(8))…")) }
        let unknownPops = operations.filter { if case .leftPop = $0.operation { $0.isUnknown } else { false } }.count

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
                    found.append("\(read.what): \(token) comes after a token pushed after its own push was acknowledged")
                }
                latestInvocationAhead = max(latestInvocationAhead, push.invokedAt)
            }
            let present = knownPresent(throughout: read.invokedAt, read.respondedAt, final: finalTokens, pushes: pushes, pops: pops)
            if let missing = present.first(where: { !seen.contains($0) }) {
                found.append("\(read.what): \(missing) is missing, though pushed and acknowledged before and not popped")
            }
        }
        // LPOPs take tokens in queue order: none from behind a token that was never popped or popped later.
        let earliestFinalPush = finalTokens.compactMap { pushes[$0]?.respondedAt }.min()
        for (token, pop) in pops {
            guard let push = pushes[token] else { continue }
            if let earliestFinalPush, earliestFinalPush < push.invokedAt {
                found.append("\(pop.description) popped \(token) past a token acknowledged before \(token) was pushed, still in the list")
            }
            for (other, otherPop) in pops where otherPop.invokedAt > pop.respondedAt! {
                if let otherPushed = pushes[other]?.respondedAt, otherPushed < push.invokedAt {
                    found.append("\(pop.description) popped \(token) before \(otherPop.description) popped \(other), pushed ahead of it")
                }
            }
        }
        // Lengths lie between the tokens known present and those that could be.
        let sentPushes = pushes.values.filter { !$0.isRejected }.map(\.invokedAt).sorted()
        let popsReturned = pops.map { $0.pop.respondedAt! }.sorted()
        for (length, operation, isPush) in lengths {
            let respondedAt = operation.respondedAt!
            let most = RealTime.count(sentPushes, atOrBefore: respondedAt) - RealTime.count(popsReturned, before: operation.invokedAt)
            let least = knownPresent(throughout: operation.invokedAt, respondedAt, final: finalTokens, pushes: pushes, pops: pops).count
                + (isPush ? 1 : 0)
            if length < Int64(least) || length > Int64(most) {
                found.append("\(operation.description) answered length \(length), outside the \(least)...\(most) possible")
            }
        }
        // Every acknowledged push survives or was popped; the unknown LPOPs account for the tokens that vanished.
        if let final {
            let held = Set(final)
            let vanished = pushes.values.filter { $0.isAcknowledged }.compactMap { push -> UInt64? in
                guard case .rightPush(_, let token) = push.operation, !held.contains(token), poppedBy[token] == nil else { return nil }
                return token
            }
            if vanished.count > unknownPops {
                found.append("\(key): \(vanished.count) acknowledged pushes vanished (\(vanished.sorted().prefix(5))…), "
                    + "more than the \(unknownPops) LPOPs whose outcome is unknown")
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
        let poppedLater = pops.filter { $0.pop.invokedAt > end && (pushes[$0.token]?.respondedAt.map { $0 < start } ?? false) }
        return neverPopped + poppedLater.map(\.token)
    }

    // MARK: Hashes

    private func hashViolations(_ key: String, _ operations: [Operation], final: [String: UInt64]?) -> [String] {
        var found: [String] = []
        var writes: [UInt64: (field: String, write: Operation)] = [:]
        for operation in operations {
            if case .hashSet(_, let field, let token) = operation.operation { writes[token] = (field, operation) }
        }
        /// What each read saw of each field: a token, or nil for no field.
        var observations: [String: [(token: UInt64?, invokedAt: Instant, respondedAt: Instant, what: String)]] = [:]
        for operation in operations where operation.isAcknowledged {
            let reply = operation.reply!
            switch operation.operation {
            case .hashSet(_, let field, _):
                let fieldWrites = operations.filter { if case .hashSet(_, field, _) = $0.operation { true } else { false } }
                if reply == .integer(1), let earlier = fieldWrites.first(where: { $0.respondedOrEnd < operation.invokedAt }) {
                    found.append("\(operation.description) created \(field), which \(earlier.description) had set before")
                } else if reply == .integer(0),
                    !fieldWrites.contains(where: { $0.operation != operation.operation && !$0.isRejected && $0.invokedAt <= operation.respondedAt! })
                {
                    found.append("\(operation.description) found \(field) already set, though nothing else had set it")
                } else if reply != .integer(1) && reply != .integer(0) {
                    found.append("\(operation.description) was answered \(reply)")
                }
            case .hashGet(_, let field):
                guard reply == .null || reply.token != nil else {
                    found.append("\(operation.description) was answered \(reply), not a field's value")
                    continue
                }
                observations[field, default: []].append((reply.token, operation.invokedAt, operation.respondedAt!, "\(operation.description) saw \(reply.token.map(String.init) ?? "nil")"))
            case .hashGetAll:
                guard let fields = reply.fieldTokens else {
                    found.append("\(operation.description) was answered \(reply), not a hash")
                    continue
                }
                for field in KeyValueModel.fields {
                    observations[field, default: []].append((fields[field], operation.invokedAt, operation.respondedAt!, "\(operation.description) saw \(field) = \(fields[field].map(String.init) ?? "nil")"))
                }
                if let stray = fields.keys.first(where: { !KeyValueModel.fields.contains($0) }) {
                    found.append("\(operation.description) saw field \(stray), never set")
                }
            default:
                found.append("\(operation.description) is not a hash command")
            }
        }
        if let final {
            for field in KeyValueModel.fields {
                observations[field, default: []].append((final[field], RealTime.end, RealTime.end, "the final state of \(key) holds \(field) = \(final[field].map(String.init) ?? "nil")"))
            }
        }
        for field in observations.keys.sorted() {
            let seen = observations[field]!
            let fieldWrites = writes.values.filter { $0.field == field }.map(\.write)
            let acknowledged = fieldWrites.filter(\.isAcknowledged)
            let firstAcknowledged = acknowledged.map { $0.respondedAt! }.min()
            // The latest invocation among the writes acknowledged before each read was sent: a later value overwrote
            // any value acknowledged before that invocation.
            let overwrittenBefore = RealTime.largestBefore(
                acknowledged.map { (at: $0.respondedAt!, value: $0.invokedAt.nanoseconds) }, at: seen.map(\.invokedAt))
            // The latest invocation among the writes whose values reads returned before each read was sent.
            let seenEarlier = RealTime.largestBefore(
                seen.compactMap { observation in
                    observation.token.flatMap { writes[$0] }.map { (at: observation.respondedAt, value: $0.write.invokedAt.nanoseconds) }
                },
                at: seen.map(\.invokedAt))
            let anySeenEarlier = RealTime.largestBefore(
                seen.filter { $0.token != nil }.map { (at: $0.respondedAt, value: UInt64(1)) }, at: seen.map(\.invokedAt))
            for (index, observation) in seen.enumerated() {
                guard let token = observation.token else {
                    if let firstAcknowledged, firstAcknowledged < observation.invokedAt {
                        found.append("\(observation.what), though an HSET of \(field) was acknowledged before")
                    } else if anySeenEarlier[index] != nil {
                        found.append("\(observation.what), though an earlier read saw a value")
                    }
                    continue
                }
                guard let write = writes[token], write.field == field, !write.write.isRejected,
                    write.write.invokedAt <= observation.respondedAt
                else {
                    found.append("\(observation.what), a value not set in \(field) before the read returned")
                    continue
                }
                let writtenAt = write.write.respondedOrEnd.nanoseconds
                if let overwritten = overwrittenBefore[index], overwritten > writtenAt {
                    found.append("\(observation.what), a value overwritten by an HSET acknowledged before the read was sent")
                }
                if let earlier = seenEarlier[index], earlier > writtenAt {
                    found.append("\(observation.what), older than a value an earlier read saw")
                }
            }
        }
        return found
    }

    // MARK: Sets

    private func setViolations(_ key: String, _ operations: [Operation], final: Set<UInt64>?) -> [String] {
        var found: [String] = []
        var adds: [UInt64: Operation] = [:]
        for operation in operations {
            if case .setAdd(_, let token) = operation.operation { adds[token] = operation }
        }
        var cardinalities: [(count: Int64, operation: Operation)] = []
        var members: [(token: UInt64, operation: Operation)] = [], absentees: [(token: UInt64, operation: Operation)] = []
        for operation in operations where operation.isAcknowledged {
            switch (operation.operation, operation.reply!) {
            case (.setAdd(_, let token), .integer(1)):
                members.append((token, operation))
            case (.setAdd, .integer(0)):
                found.append("\(operation.description) found its token already there: applied twice, or out of nowhere")
            case (.cardinality, .integer(let count)):
                cardinalities.append((count, operation))
            case (.isMember(_, let token), .integer(1)):
                members.append((token, operation))
            case (.isMember(_, let token), .integer(0)):
                absentees.append((token, operation))
            default:
                found.append("\(operation.description) was answered \(operation.reply!), not a set's reply")
            }
        }
        for (token, operation) in members {
            if let add = adds[token], !add.isRejected, add.invokedAt <= operation.respondedAt! { continue }
            found.append("\(operation.description) saw \(token), not added to \(key) before it returned")
        }
        var firstSeen: [UInt64: Instant] = [:]
        for (token, operation) in members { firstSeen[token] = min(firstSeen[token] ?? RealTime.end, operation.respondedAt!) }
        for (token, operation) in absentees {
            if let seen = firstSeen[token], seen < operation.invokedAt {
                found.append("\(operation.description) did not find \(token), seen in \(key) before it was sent")
            }
        }
        let sentAdds = adds.values.filter { !$0.isRejected }.map(\.invokedAt).sorted()
        let acknowledgedAdds = adds.values.compactMap(\.respondedAt).sorted()
        let larger = RealTime.largestBefore(
            cardinalities.map { (at: $0.operation.respondedAt!, value: UInt64(max($0.count, 0))) }, at: cardinalities.map(\.operation.invokedAt))
        for ((count, operation), earlier) in zip(cardinalities, larger) {
            let least = RealTime.count(acknowledgedAdds, before: operation.invokedAt)
            let most = RealTime.count(sentAdds, atOrBefore: operation.respondedAt!)
            if count < Int64(least) || count > Int64(most) {
                found.append("\(operation.description) answered \(count), outside the \(least)...\(most) possible")
            }
            if let earlier, count < Int64(earlier) {
                found.append("\(operation.description) answered \(count) after an earlier SCARD answered \(earlier)")
            }
        }
        if let final {
            if let stray = final.sorted().first(where: { adds[$0] == nil || adds[$0]!.isRejected }) {
                found.append("the final state of \(key) holds \(stray), never added to it")
            }
            let lost = members.map(\.token).filter { !final.contains($0) }
            if !lost.isEmpty { found.append("the final state of \(key) lacks \(Array(Set(lost)).sorted().prefix(5)), seen there") }
            if let most = cardinalities.map(\.count).max(), Int64(final.count) < most {
                found.append("the final state of \(key) holds \(final.count) members, fewer than an SCARD saw (\(most))")
            }
        }
        return found
    }

    // MARK: Counters

    private func counterViolations(_ key: String, _ operations: [Operation], final: Int64?) -> [String] {
        var found: [String] = []
        var values: [(value: Int64, operation: Operation, isIncrement: Bool)] = []
        for operation in operations where operation.isAcknowledged {
            switch (operation.operation, operation.reply!) {
            case (.increment, .integer(let value)):
                values.append((value, operation, true))
            case (.get, .null):
                values.append((0, operation, false))
            case (.get, .bulk(let bytes)) where Int64(String(decoding: bytes, as: UTF8.self)) != nil:
                values.append((Int64(String(decoding: bytes, as: UTF8.self))!, operation, false))
            default:
                found.append("\(operation.description) was answered \(operation.reply!), not a counter's reply")
            }
        }
        var incrementAnswering: [Int64: Operation] = [:]
        for (value, operation, isIncrement) in values where isIncrement {
            if let other = incrementAnswering[value] {
                found.append("\(operation.description) and \(other.description) both answered \(value)")
            }
            incrementAnswering[value] = operation
        }
        let sentIncrements = operations.filter { $0.operation == .increment(key) && !$0.isRejected }.map(\.invokedAt).sorted()
        let earlierValues = RealTime.largestBefore(
            values.map { (at: $0.operation.respondedAt!, value: UInt64(max($0.value, 0))) }, at: values.map(\.operation.invokedAt))
        for ((value, operation, isIncrement), earlier) in zip(values, earlierValues) {
            let most = RealTime.count(sentIncrements, atOrBefore: operation.respondedAt!)
            if value < 0 || value > Int64(most) {
                found.append("\(operation.description) answered \(value), but only \(most) INCRs had been sent")
            }
            if let earlier, value < Int64(earlier) || (isIncrement && value == Int64(earlier)) {
                found.append("\(operation.description) answered \(value) after an earlier reply of \(earlier)")
            }
        }
        if let final {
            if let most = values.map(\.value).max(), final < most {
                found.append("the final state of \(key) is \(final), below the \(most) a reply gave")
            }
            if final > Int64(sentIncrements.count) {
                found.append("the final state of \(key) is \(final), above the \(sentIncrements.count) INCRs sent")
            }
        }
        return found
    }

    // MARK: Transactions

    private func atomicityViolations(final: KeyValueModel.State?) -> [String] {
        var found: [String] = []
        for transaction in transactions {
            let commands = operations[transaction]
            guard let set = commands.first(where: { $0.operation == .cardinality(KeyValueModel.pairSet) }),
                let list = commands.first(where: { $0.operation == .length(KeyValueModel.pairList) })
            else { continue }
            if set.reply != list.reply {
                found.append("the EXEC of request \(set.request) saw \(set.reply!) in \(KeyValueModel.pairSet) and "
                    + "\(list.reply!) in \(KeyValueModel.pairList): a transaction was applied in part")
            }
        }
        if let final, let set = final.sets[KeyValueModel.pairSet], let list = final.lists[KeyValueModel.pairList],
            set != Set(list)
        {
            let onlyInSet = set.subtracting(list).sorted(), onlyInList = Set(list).subtracting(set).sorted()
            found.append("the final state has \(onlyInSet.prefix(5)) only in \(KeyValueModel.pairSet) and "
                + "\(onlyInList.prefix(5)) only in \(KeyValueModel.pairList): a transaction was applied in part")
        }
        return found
    }
}
