import LogChannel

/// Sets that only grow (`KeyValueHistory+Linearizability`): SADD of unique tokens, SCARD, SISMEMBER and SMEMBERS (each
/// member it lists is seen, and its size is a cardinality).
extension KeyValueHistory {
    /// What breaks the growing-set rules for set `key`, given its `operations` and `final` members when known.
    func setViolations(_ key: String, _ operations: [Operation], final: Set<UInt64>?) -> [String] {
        var found: [String] = []
        var adds: [UInt64: Operation] = [:]
        for operation in operations {
            if case .setAdd(_, let token) = operation.operation { adds[token] = operation }
        }
        var cardinalities: [(count: Int64, operation: Operation)] = []
        var members: [(token: UInt64, operation: Operation)] = []
        var absentees: [(token: UInt64, operation: Operation)] = []
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
            case (.members, let reply) where reply.tokens != nil:
                let tokens = reply.tokens!
                if Set(tokens).count != tokens.count {
                    found.append("\(operation.description) listed a member twice: \(tokens.sorted())")
                }
                members += tokens.map { ($0, operation) }
                cardinalities.append((Int64(tokens.count), operation))
            default:
                found.append("\(operation.description) was answered \(operation.reply!), not a set's reply")
            }
        }
        for (token, operation) in members {
            if let add = adds[token], !add.isRejected, add.invokedAt <= operation.respondedAt! { continue }
            found.append("\(operation.description) saw \(token), not added to \(key) before it returned")
        }
        var firstSeen: [UInt64: Instant] = [:]
        for (token, operation) in members {
            firstSeen[token] = min(firstSeen[token] ?? RealTime.end, operation.respondedAt!)
        }
        for (token, operation) in absentees {
            if let seen = firstSeen[token], seen < operation.invokedAt {
                found.append("\(operation.description) did not find \(token), seen in \(key) before it was sent")
            }
        }
        let sentAdds = adds.values.filter { !$0.isRejected }.map(\.invokedAt).sorted()
        let acknowledgedAdds = adds.values.compactMap(\.respondedAt).sorted()
        let larger = RealTime.largestBefore(
            cardinalities.map { (at: $0.operation.respondedAt!, value: UInt64(max($0.count, 0))) },
            at: cardinalities.map(\.operation.invokedAt))
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
            if !lost.isEmpty {
                found.append("the final state of \(key) lacks \(Array(Set(lost)).sorted().prefix(5)), seen there")
            }
            if let most = cardinalities.map(\.count).max(), Int64(final.count) < most {
                found.append(
                    "the final state of \(key) holds \(final.count) members, fewer than an SCARD saw (\(most))")
            }
        }
        return found
    }
}
