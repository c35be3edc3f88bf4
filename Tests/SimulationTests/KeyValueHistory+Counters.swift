import LogChannel

/// Counters (`KeyValueHistory+Linearizability`): INCR and GET, and a sorted set member's score counted by ZINCRBY and
/// read by ZSCORE (doubles in RESP3).
extension KeyValueHistory {
    /// What breaks the counter rules for `key`, given its `operations` and `final` value when known.
    func counterViolations(_ key: String, _ operations: [Operation], final: Int64?) -> [String] {
        var found: [String] = []
        var values: [(value: Int64, operation: Operation, isIncrement: Bool)] = []
        for operation in operations where operation.isAcknowledged {
            switch (operation.operation, operation.reply!) {
            case (.increment, .integer(let value)):
                values.append((value, operation, true))
            case (.scoreIncrement, let reply) where reply.count != nil:
                values.append((reply.count!, operation, true))
            case (.get, .null), (.score, .null):
                values.append((0, operation, false))
            case (.score, let reply) where reply.count != nil:
                values.append((reply.count!, operation, false))
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
        let sentIncrements = operations.filter {
            ($0.operation == .increment(key) || $0.operation == .scoreIncrement(key)) && !$0.isRejected
        }
            .map(\.invokedAt).sorted()
        let earlierValues = RealTime.largestBefore(
            values.map { (at: $0.operation.respondedAt!, value: UInt64(max($0.value, 0))) },
            at: values.map(\.operation.invokedAt))
        for ((value, operation, isIncrement), earlier) in zip(values, earlierValues) {
            let most = RealTime.count(sentIncrements, atOrBefore: operation.respondedAt!)
            if value < 0 || value > Int64(most) {
                found.append("\(operation.description) answered \(value), but only \(most) increments had been sent")
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
                found.append("the final state of \(key) is \(final), above the \(sentIncrements.count) increments sent")
            }
        }
        return found
    }
}
