import LogChannel

/// Watched keys (`KeyValueHistory+Linearizability`): WATCH, GET, then MULTI, SET of the count read plus one, EXEC.
///
/// Only watched transactions write these keys, so each key is a count that every committed EXEC raises by one: two
/// committed EXECs never write one value, reads see a value some EXEC wrote (or nothing, as 0) and never go back, and
/// the final count is at least every committed one. An EXEC must abort exactly when another write to its key came
/// between its WATCH and itself:
/// - *committed although changed*: a committed EXEC, with another EXEC's SET of its key sent after its WATCH was
///   answered and acknowledged before it was sent, is a violation;
/// - *aborted although untouched*: an aborted EXEC, with no SET of its key (acknowledged, or of unknown outcome) that
///   could lie between its WATCH and itself, is a violation. This holds only because the workload keeps a watched
///   transaction on the connection that applied its WATCH, which lasts while its node serves without a restart
///   (`ClientLink`): the watch is node-local (`WatchedKeys`), and a node that never applied it, or restored a
///   checkpoint since, aborts by design. The keys
///   have no TTL and are never flushed, the other changes Redis counts.
extension KeyValueHistory {
    /// What breaks the rules above for watched key `key`, given its `operations` and `final` count when known.
    func watchViolations(_ key: String, _ operations: [Operation], final: Int64?) -> [String] {
        var found: [String] = []
        var writes: [Operation] = []
        var reads: [(value: Int64, operation: Operation)] = []
        for operation in operations {
            switch operation.operation {
            case .set:
                if !operation.isRejected { writes.append(operation) }
            case .get where operation.isAcknowledged:
                switch operation.reply! {
                case .null: reads.append((0, operation))
                case let reply where reply.count != nil: reads.append((reply.count!, operation))
                default: found.append("\(operation.description) was answered \(operation.reply!), not a count")
                }
            default:
                break
            }
        }
        let valueOf: (Operation) -> Int64 = { if case .set(_, let value) = $0.operation { value } else { 0 } }
        var committedWriting: [Int64: Operation] = [:]
        for write in writes where write.isAcknowledged {
            if let other = committedWriting[valueOf(write)] {
                found.append(
                    "\(write.description) and \(other.description) both committed \(valueOf(write)): a watch let a "
                        + "change through")
            }
            committedWriting[valueOf(write)] = write
        }
        // Reads see values written before they returned, and never go back, behind a read or a committed write.
        let earlier = RealTime.largestBefore(
            reads.map { (at: $0.operation.respondedAt!, value: UInt64($0.value)) }
                + writes.filter(\.isAcknowledged).map { (at: $0.respondedAt!, value: UInt64(valueOf($0))) },
            at: reads.map(\.operation.invokedAt))
        for ((value, read), floor) in zip(reads, earlier) {
            if value != 0, !writes.contains(where: { valueOf($0) == value && $0.invokedAt <= read.respondedAt! }) {
                found.append("\(read.description) saw \(value), which no EXEC wrote before the read returned")
            }
            if let floor, value < Int64(floor) {
                found.append("\(read.description) saw \(value) after \(floor) was read or committed")
            }
        }
        if let final {
            if let most = writes.filter(\.isAcknowledged).map(valueOf).max(), final < most {
                found.append("the final state of \(key) is \(final), below the \(most) an EXEC committed")
            }
            if final != 0, !writes.contains(where: { valueOf($0) == final }) {
                found.append("the final state of \(key) is \(final), which no EXEC wrote")
            }
        }
        found += execViolations(key, writes: writes)
        return found
    }

    /// The EXECs of `key` that committed although it changed after their WATCH, or aborted although nothing could
    /// have changed it; `writes` are its SETs that may have been applied.
    private func execViolations(_ key: String, writes: [Operation]) -> [String] {
        var found: [String] = []
        for transaction in watchedTransactions {
            let watch = self.operations[transaction.watch]
            guard watch.operation.key == key, let watchedAt = watch.respondedAt,
                let answeredAt = transaction.execRespondedAt
            else { continue }
            let others = writes.filter { $0.request != self.operations[transaction.commands.lowerBound].request }
            if !transaction.isAborted {
                if let between = others.first(where: {
                    $0.isAcknowledged && watchedAt < $0.invokedAt && $0.respondedAt! < transaction.execInvokedAt
                }) {
                    found.append(
                        "the EXEC of request \(self.operations[transaction.commands.lowerBound].request) committed, "
                            + "though \(between.description) changed \(key) after its \(watch.description)")
                }
            } else if !others.contains(where: { $0.respondedOrEnd >= watch.invokedAt && $0.invokedAt <= answeredAt }) {
                found.append(
                    "the EXEC of request \(self.operations[transaction.commands.lowerBound].request) aborted, though "
                        + "nothing wrote \(key) since its \(watch.description)")
            }
        }
        return found
    }
}
