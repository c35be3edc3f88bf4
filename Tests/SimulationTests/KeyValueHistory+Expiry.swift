import LogChannel

/// Expiring keys (`KeyValueHistory+Linearizability`): SET of unique tokens with `PX`, EXPIRE, and GET, PTTL and EXISTS,
/// judged on the simulated wall clock, which is virtual time (`VirtualTimeEntropy`).
///
/// A SET applied at some instant between its invocation and its response lives `milliseconds` from then, and an
/// EXPIRE applied while a value lives gives it `expireSeconds` from then, never less than it had (every TTL a SET
/// gives is shorter). So a value's life ends no sooner than its SET's invocation plus its TTL (unless a later SET
/// replaces it), and no later than the latest deadline its SET's response and every EXPIRE that could have met it
/// allow. The store counts whole
/// milliseconds, so each bound moves by `clockSlack`. Then:
/// - a read sees a value only while it may live: a token whose SET was sent before the read returned, not past its
///   latest deadline when the read was sent, and not overwritten by a SET acknowledged before then;
/// - the key is seen missing (GET null, EXISTS 0, PTTL -2, EXPIRE 0) never while some value certainly lives throughout
///   the read, and seen present (EXISTS 1, a PTTL, EXPIRE 1) only while some value may live;
/// - a PTTL never exceeds the longest TTL, and never answers -1: every value is written with a TTL.
extension KeyValueHistory {
    /// How far the store's whole milliseconds may put an expiry from the instant the checker computes.
    static let clockSlack = Duration.milliseconds(2)

    /// What breaks the rules above for expiring key `key`, given its `operations`.
    func expiryViolations(_ key: String, _ operations: [Operation]) -> [String] {
        var found: [String] = []
        var sets: [UInt64: (operation: Operation, milliseconds: Int)] = [:]
        for operation in operations where !operation.isRejected {
            if case .setExpiring(_, let token, let milliseconds) = operation.operation {
                sets[token] = (operation, milliseconds)
            }
        }
        let expires = operations.filter { $0.operation == .expire(key) && !$0.isRejected }.sorted {
            $0.invokedAt < $1.invokedAt
        }
        let slack = UInt64(Self.clockSlack.nanoseconds)
        /// The latest instant the value of `set` can still be read: never, when its outcome is unknown.
        func latestDeadline(_ set: Operation, milliseconds: Int) -> UInt64 {
            guard let setAt = set.respondedAt else { return .max }
            var deadline = setAt.nanoseconds + UInt64(milliseconds) * 1_000_000 + slack
            let expireNanoseconds = UInt64(KeyValueModel.expireSeconds) * 1_000_000_000
            for expire in expires
            where expire.invokedAt.nanoseconds <= deadline && expire.respondedOrEnd >= set.invokedAt {
                guard let expiredAt = expire.respondedAt else { return .max }
                deadline = max(deadline, expiredAt.nanoseconds + expireNanoseconds + slack)
            }
            return deadline
        }
        let values = sets.values.sorted { $0.operation.invokedAt < $1.operation.invokedAt }
        /// Whether some value certainly lives from `start` to `end`: one set before `start` lives past `end`, and so
        /// does every value that may have replaced it by then (a SET may shorten the TTL, an EXPIRE cannot).
        func certainlyLives(from start: Instant, to end: Instant) -> Bool {
            func outlives(_ set: Operation, _ milliseconds: Int) -> Bool {
                set.invokedAt.nanoseconds + UInt64(milliseconds) * 1_000_000 > end.nanoseconds + slack
            }
            return values.contains { set, milliseconds in
                guard let setAt = set.respondedAt, setAt < start, outlives(set, milliseconds) else { return false }
                return values.allSatisfy { other, otherMilliseconds in
                    other.request == set.request || other.respondedOrEnd < set.invokedAt || other.invokedAt > end
                        || outlives(other, otherMilliseconds)
                }
            }
        }
        /// Whether some value may live at some instant from `start` to `end`.
        func mayLive(from start: Instant, to end: Instant) -> Bool {
            values.contains { set, milliseconds in
                set.invokedAt <= end && latestDeadline(set, milliseconds: milliseconds) >= start.nanoseconds
            }
        }
        for operation in operations where operation.isAcknowledged {
            let (start, end) = (operation.invokedAt, operation.respondedAt!)
            let reply = operation.reply!
            var seesPresent: Bool?
            switch (operation.operation, reply) {
            case (.setExpiring, .status("OK")):
                continue
            case (.get, .null), (.exists, .integer(0)), (.timeToLive, .integer(-2)), (.expire, .integer(0)):
                seesPresent = false
            case (.exists, .integer(1)), (.expire, .integer(1)):
                seesPresent = true
            case (.timeToLive, .integer(let milliseconds)):
                let longest = Int64(KeyValueModel.expireSeconds) * 1_000
                if milliseconds < 0 || milliseconds > longest {
                    found.append("\(operation.description) answered \(milliseconds), not a TTL up to \(longest) ms")
                }
                seesPresent = true
            case (.get, let reply) where reply.token != nil:
                let token = reply.token!
                guard let (set, milliseconds) = sets[token], set.invokedAt <= end else {
                    found.append("\(operation.description) saw \(token), not set in \(key) before it returned")
                    continue
                }
                if start.nanoseconds > latestDeadline(set, milliseconds: milliseconds) {
                    found.append(
                        "\(operation.description) saw \(token) after it expired: \(set.description) was answered at "
                            + "\(set.respondedAt!), and no EXPIRE could have met it")
                }
                if let later = values.first(where: {
                    set.respondedOrEnd < $0.operation.invokedAt && $0.operation.respondedOrEnd < start
                }) {
                    found.append("\(operation.description) saw \(token), overwritten by \(later.operation.description)")
                }
            default:
                found.append("\(operation.description) was answered \(reply), not an expiring key's reply")
            }
            if seesPresent == false, certainlyLives(from: start, to: end) {
                found.append("\(operation.description) found \(key) missing, though a value certainly lived then")
            } else if seesPresent == true, !mayLive(from: start, to: end) {
                found.append("\(operation.description) found \(key), though every value had expired or was not set")
            }
        }
        return found
    }
}
