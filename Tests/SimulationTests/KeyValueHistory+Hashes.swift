import LogChannel

/// Hash fields as registers (`KeyValueHistory+Linearizability`): HSET of unique values, HGET and HGETALL.
extension KeyValueHistory {
    /// What one read saw of one field: a token, or nil for no field.
    struct FieldRead {
        var token: UInt64?
        var invokedAt: Instant
        var respondedAt: Instant
        /// What it saw, for a report.
        var what: String
    }

    /// What breaks the register rules for hash `key`'s fields, given its `operations` and `final` fields when known.
    func hashViolations(_ key: String, _ operations: [Operation], final: [String: UInt64]?) -> [String] {
        var found: [String] = []
        var writes: [UInt64: (field: String, write: Operation)] = [:]
        for operation in operations {
            if case .hashSet(_, let field, let token) = operation.operation { writes[token] = (field, operation) }
        }
        var observations: [String: [FieldRead]] = [:]
        for operation in operations where operation.isAcknowledged {
            let reply = operation.reply!
            switch operation.operation {
            case .hashSet(_, let field, _):
                let fieldWrites = operations.filter {
                    if case .hashSet(_, field, _) = $0.operation { true } else { false }
                }
                let others = fieldWrites.filter { $0.operation != operation.operation && !$0.isRejected }
                let earlier = others.first { $0.respondedOrEnd < operation.invokedAt }
                if reply == .integer(1), let earlier {
                    found.append(
                        "\(operation.description) created \(field), which \(earlier.description) had set before")
                } else if reply == .integer(0), !others.contains(where: { $0.invokedAt <= operation.respondedAt! }) {
                    found.append("\(operation.description) found \(field) already set, though nothing else had set it")
                } else if reply != .integer(1) && reply != .integer(0) {
                    found.append("\(operation.description) was answered \(reply)")
                }
            case .hashGet(_, let field):
                guard reply == .null || reply.token != nil else {
                    found.append("\(operation.description) was answered \(reply), not a field's value")
                    continue
                }
                observations[field, default: []].append(FieldRead(operation, saw: reply.token, of: nil))
            case .hashGetAll:
                guard let fields = reply.fieldTokens else {
                    found.append("\(operation.description) was answered \(reply), not a hash")
                    continue
                }
                for field in KeyValueModel.fields {
                    observations[field, default: []].append(FieldRead(operation, saw: fields[field], of: field))
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
                observations[field, default: []].append(FieldRead(
                    token: final[field], invokedAt: RealTime.end, respondedAt: RealTime.end,
                    what: "the final state of \(key) holds \(field) = \(final[field].map(String.init) ?? "nil")"))
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
                    observation.token.flatMap { writes[$0] }.map {
                        (at: observation.respondedAt, value: $0.write.invokedAt.nanoseconds)
                    }
                },
                at: seen.map(\.invokedAt))
            let anySeenEarlier = RealTime.largestBefore(
                seen.filter { $0.token != nil }.map { (at: $0.respondedAt, value: UInt64(1)) },
                at: seen.map(\.invokedAt))
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
                    found.append(
                        "\(observation.what), a value overwritten by an HSET acknowledged before the read was sent")
                }
                if let earlier = seenEarlier[index], earlier > writtenAt {
                    found.append("\(observation.what), older than a value an earlier read saw")
                }
            }
        }
        return found
    }
}

extension KeyValueHistory.FieldRead {
    /// What acknowledged `operation` saw of a field: `token`; `field` names it for HGETALL, nil for HGET.
    init(_ operation: KeyValueHistory.Operation, saw token: UInt64?, of field: String?) {
        let value = token.map(String.init) ?? "nil"
        self.init(
            token: token, invokedAt: operation.invokedAt, respondedAt: operation.respondedAt!,
            what: "\(operation.description) saw " + (field.map { "\($0) = \(value)" } ?? value))
    }
}
