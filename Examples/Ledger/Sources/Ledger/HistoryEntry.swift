/// One line of an account's statement: what changed its spendable balance, by how much, and when.
///
/// Its text form, as `HISTORY` shows it, is `id,amount,what,unix-milliseconds`, e.g. `t7-9f3a1c2b00112233,-30,to:bob,
/// 1718000000123`; the amount carries its sign. A transfer leaves one entry on each side with the same id.
public struct HistoryEntry: Equatable, Sendable {
    /// The id of the operation: a kind letter, the ledger's sequence number and 16 hex digits of recorded randomness.
    public var id: String
    /// The change to the account's spendable balance: positive for money in, negative for money out.
    public var amount: Int64
    /// `deposit`, `withdrawal`, `to:ACCOUNT`, `from:ACCOUNT`, `hold`, `released` or `expired`.
    public var what: String
    /// When, by the primary's recorded clock: Unix time in milliseconds.
    public var atMilliseconds: Int64

    /// An entry with these fields.
    public init(id: String, amount: Int64, what: String, atMilliseconds: Int64) {
        self.id = id
        self.amount = amount
        self.what = what
        self.atMilliseconds = atMilliseconds
    }

    /// Reads the text form back, as a client of `HISTORY` would; nil if it is not one.
    public init?<Text: StringProtocol>(text: Text) {
        let fields = text.split(separator: ",", omittingEmptySubsequences: false)
        guard fields.count == 4, let amount = Int64(fields[1]), let at = Int64(fields[3]) else { return nil }
        self.init(id: String(fields[0]), amount: amount, what: String(fields[2]), atMilliseconds: at)
    }

    /// The text form, as `HISTORY` shows it.
    public var text: String {
        "\(id),\(amount > 0 ? "+" : "")\(amount),\(what),\(atMilliseconds)"
    }
}
