/// One account: its spendable balance and its newest history entries.
struct Account: Equatable, Sendable {
    /// What the account may spend now; money on hold is not in it. Never negative.
    var available: Int64 = 0
    /// Oldest first, at most `LedgerLimits.historyEntriesLimit` entries.
    var history: [HistoryEntry] = []

    /// Adds `entry`, dropping the oldest one when the statement is full (the bound's chosen response).
    mutating func append(_ entry: HistoryEntry, limit: Int) {
        if history.count >= limit { history.removeFirst(history.count - limit + 1) }
        history.append(entry)
    }
}
