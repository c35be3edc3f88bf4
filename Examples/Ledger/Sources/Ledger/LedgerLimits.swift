/// Every bound of the ledger and its line protocol, in one value that both are built from.
///
/// Lockstep asks that every queue and buffer be bounded (STYLE 6). A ledger has four things that could grow without
/// end: accounts, holds, each account's history and one connection's unparsed bytes. Each has a limit here, and
/// reaching it has a chosen response: a refused command (accounts, holds), the oldest entry dropped (history), or a
/// closed connection (a line longer than `lineBytesLimit`). Both nodes must run with the same limits, since the
/// backup replays the primary's commands against its own copy; `checked()` runs before a node starts.
public struct LedgerLimits: Equatable, Sendable {
    /// The longest request line, without its newline. A client that sends more without a newline is not speaking
    /// this protocol, so its connection is closed rather than buffered.
    public var lineBytesLimit = 1_024
    /// Open accounts; `OPEN` past this is refused.
    public var accountsLimit = 100_000
    /// History entries kept per account; the oldest is dropped to make room, as a bank statement ages out.
    public var historyEntriesLimit = 100
    /// Holds pending at once across the ledger; `HOLD` past this is refused.
    public var holdsLimit = 1_000
    /// The largest amount one command may move (in the ledger's unit, e.g. cents).
    public var amountLimit: Int64 = 1_000_000_000_000
    /// The most an account may hold, counting its holds; with `accountsLimit` it keeps every sum inside `Int64`.
    public var balanceLimit: Int64 = 10_000_000_000_000
    /// The longest hold, in seconds.
    public var holdSecondsLimit: Int64 = 86_400
    /// The longest account name, in bytes (ASCII letters, digits, `-` and `_`).
    public var accountNameBytesLimit = 32

    /// The defaults.
    public init() {}

    /// The limits, or why they cannot work.
    public func checked() throws(LedgerLimitsError) -> LedgerLimits {
        guard lineBytesLimit >= 64, accountsLimit > 0, historyEntriesLimit > 0, holdsLimit > 0,
            holdSecondsLimit > 0, accountNameBytesLimit > 0
        else {
            throw LedgerLimitsError("every limit must be positive, and lines at least 64 bytes")
        }
        guard amountLimit > 0, amountLimit <= balanceLimit else {
            throw LedgerLimitsError("the amount limit must be positive and at most the balance limit")
        }
        let (total, overflow) = balanceLimit.multipliedReportingOverflow(by: Int64(accountsLimit))
        guard !overflow, total > 0 else {
            throw LedgerLimitsError("balanceLimit × accountsLimit must fit in Int64, so the total money does")
        }
        guard holdSecondsLimit <= Int64.max / 1_000_000_000 else {
            throw LedgerLimitsError("the hold limit must fit in nanoseconds")
        }
        return self
    }
}
