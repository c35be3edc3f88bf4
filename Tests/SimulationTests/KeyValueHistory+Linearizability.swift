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
/// - *Lists* (RPUSH unique tokens, LPOP, BLPOP, BRPOP, LRANGE, LLEN) are queues (`KeyValueHistory+Lists` says how
///   the pops from the tail and the timeouts fit). A token is popped at most once, only after its
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
/// - *Sets* (SADD unique tokens, SCARD, SISMEMBER, SMEMBERS) only grow: SADD answers 1 (its token is new), a member
///   once seen stays, and a cardinality lies between the SADDs acknowledged before it was sent and those sent before
///   it returned, never going back.
/// - *Counters* (INCR and GET, or ZINCRBY and ZSCORE of one member): a value counts increments, so two increments
///   never answer the same value, values never go back (an increment sent after another returned answers more), and
///   no value exceeds the increments sent before it returned.
/// - *Watched keys* (WATCH, GET, MULTI, SET, EXEC): an EXEC aborts exactly when its key changed since its WATCH
///   (`KeyValueHistory+Watches`); a DISCARDed command never takes effect, as a rejected one.
/// - *Expiring keys* (SET … PX, EXPIRE, GET, PTTL, EXISTS): a value is read only while it may live, and the key is
///   never missing while a value certainly lives (`KeyValueHistory+Expiry`).
/// - *RESP3*: a client that said `HELLO 3` reads every reply in RESP3 (maps, sets, doubles, `_` nulls), which the
///   rules above judge as they judge RESP2's.
/// - *Transactions*: a transaction that reads `pair:set`'s and `pair:list`'s sizes sees them equal, and so does the
///   final state (`KeyValueModel`): a transaction applied in part would leave them apart.
extension KeyValueHistory {
    /// Every violation of the rules above; `final` is the surviving state, when the run ends with one.
    func violations(final: KeyValueModel.State?) -> [String] {
        var found = complaints
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
            } else if KeyValueModel.watched.contains(key) {
                found += watchViolations(key, keyOperations, final: final?.counters[key])
            } else if KeyValueModel.expiring.contains(key) {
                found += expiryViolations(key, keyOperations)
            } else {
                found += counterViolations(key, keyOperations, final: final?.counters[key])
            }
        }
        found += atomicityViolations(final: final)
        return found
    }

    // MARK: Transactions

    /// What breaks atomicity: a transaction, or the final state, that sees the pair keys apart.
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
