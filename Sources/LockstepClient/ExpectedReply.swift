/// What the next reply on the connection answers. Redis answers in order, so one queue per connection says.
enum ExpectedReply: Sendable, Equatable {
    case authentication, role, sentinel, sessionOpen, sessionClose
    /// `SESSION EXEC session number ...`: a reply for a session since abandoned is dropped.
    case execution(session: Int64, number: UInt64)
}

/// The replies a connection still owes, oldest first; emptied when the connection goes.
///
/// Bounded by what the core sends on one connection: the handshake's three requests, one SESSION OPEN or CLOSE per
/// session, and `requestsInFlightLimit` executions (a resend replaces an earlier transmission, it does not add one).
struct ExpectedReplies {
    private var entries: [ExpectedReply] = []
    private var head = 0

    /// Whether no reply is owed.
    var isEmpty: Bool { head == entries.count }

    /// Notes a request just sent.
    mutating func append(_ expected: ExpectedReply) {
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        entries.append(expected)
    }

    /// What the reply that arrived answers; nil if none was owed (the node broke the protocol).
    mutating func popFirst() -> ExpectedReply? {
        guard head < entries.count else { return nil }
        defer { head += 1 }
        return entries[head]
    }

    /// Forgets every owed reply: the connection is gone.
    mutating func removeAll() {
        entries.removeAll(keepingCapacity: true)
        head = 0
    }
}
