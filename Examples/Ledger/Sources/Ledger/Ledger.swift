import Lockstep

/// A bank ledger: accounts, transfers between them, holds that expire, and each account's history.
///
/// This is the whole application as Lockstep sees it: a deterministic `StateMachine`. The primary and the backup each
/// hold one `Ledger` and apply the same canonical command lines (`LedgerCommand.line`) in the same order, so they stay
/// identical. Two things make that true:
///
/// - **Time and randomness come only from the `ApplyContext`.** Each operation that moves money reads the clock once
///   (its history timestamp) and draws one random value (its id's suffix). On the primary the context records what
///   it returned into the log entry; on the backup it returns the recorded values. Reading the system clock here
///   instead would give the backup other timestamps, and a failover would change history.
/// - **Nothing depends on `Dictionary` order**, which Swift seeds per process: `accounts` is only looked up by name,
///   and the snapshot (and so the digest) walks it in sorted order. Holds live in an array, in creation order.
///
/// Replies are one line each, ending in a newline: `OK …` when the command did something, `ERR …` when it did
/// nothing, a bare number for `BALANCE`.
public struct Ledger: SmallStateMachine, Equatable, Sendable {
    /// The bounds every command is checked against; the same on both nodes.
    public let limits: LedgerLimits
    /// Accounts by name. Looked up only; anything that walks it sorts the names first.
    var accounts: [String: Account] = [:]
    /// Pending holds, oldest first (which is also expiry-check order).
    var holds: [Hold] = []
    /// The next operation's sequence number, the unique part of its id.
    var nextSequence: UInt64 = 1

    /// An empty ledger: what a new pair starts from, and what a joining backup restores into.
    public init(limits: LedgerLimits = LedgerLimits()) {
        self.limits = limits
    }

    /// Applies one canonical command line and returns its reply line.
    ///
    /// The protocol only logs lines that `LedgerCommand.parse` accepted, so the `ERR` path here is for a log written
    /// by another version; it answers the same way on both nodes, so even then they do not diverge.
    public mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        let line = String(decoding: command, as: UTF8.self)
        let reply: String
        do {
            let parsed = try LedgerCommand.parse(LedgerCommand.words(of: line[...]), limits: limits)
            reply = execute(parsed, context: &context)
        } catch {
            reply = "ERR \(error)"
        }
        return Array((reply + "\n").utf8)
    }

    /// Runs one command and returns its reply, without the newline.
    public mutating func execute(_ command: LedgerCommand, context: inout ApplyContext) -> String {
        switch command {
        case .open(let name):
            guard accounts[name] == nil else { return "ERR account \(name) exists" }
            guard accounts.count < limits.accountsLimit else {
                return "ERR the ledger holds \(limits.accountsLimit) accounts, its limit"
            }
            accounts[name] = Account()
            return "OK"

        case .deposit(let name, let amount):
            guard accounts[name] != nil else { return Self.noSuchAccount(name) }
            guard total(of: name) <= limits.balanceLimit - amount else { return tooRich(name) }
            let (id, at) = stamp("d", context: &context)
            let balance = post(HistoryEntry(id: id, amount: amount, what: "deposit", atMilliseconds: at), to: name)
            return "OK \(balance) \(id)"

        case .withdraw(let name, let amount):
            guard let account = accounts[name] else { return Self.noSuchAccount(name) }
            guard account.available >= amount else { return Self.insufficientFunds }
            let (id, at) = stamp("w", context: &context)
            let balance = post(HistoryEntry(id: id, amount: -amount, what: "withdrawal", atMilliseconds: at), to: name)
            return "OK \(balance) \(id)"

        case .transfer(let from, let to, let amount):
            guard let payer = accounts[from] else { return Self.noSuchAccount(from) }
            guard accounts[to] != nil else { return Self.noSuchAccount(to) }
            guard payer.available >= amount else { return Self.insufficientFunds }
            guard total(of: to) <= limits.balanceLimit - amount else { return tooRich(to) }
            let (id, at) = stamp("t", context: &context)
            let balance = post(HistoryEntry(id: id, amount: -amount, what: "to:\(to)", atMilliseconds: at), to: from)
            post(HistoryEntry(id: id, amount: amount, what: "from:\(from)", atMilliseconds: at), to: to)
            return "OK \(balance) \(id)"

        case .balance(let name):
            guard let account = accounts[name] else { return Self.noSuchAccount(name) }
            return "\(account.available)"

        case .history(let name, let count):
            guard let account = accounts[name] else { return Self.noSuchAccount(name) }
            let newest = account.history.suffix(count).reversed()
            return (["OK \(newest.count)"] + newest.map(\.text)).joined(separator: " ")

        case .hold(let name, let amount, let seconds):
            guard let account = accounts[name] else { return Self.noSuchAccount(name) }
            guard account.available >= amount else { return Self.insufficientFunds }
            guard holds.count < limits.holdsLimit else {
                return "ERR \(limits.holdsLimit) holds are pending, the limit; release one or wait for expiry"
            }
            let (id, at) = stamp("h", context: &context)
            holds.append(Hold(id: id, account: name, amount: amount, expiresAtMilliseconds: at + seconds * 1_000))
            let balance = post(HistoryEntry(id: id, amount: -amount, what: "hold", atMilliseconds: at), to: name)
            return "OK \(balance) \(id)"

        case .release(let id):
            guard let index = holds.firstIndex(where: { $0.id == id }) else {
                return "ERR no pending hold \(id) (released, expired or never made)"
            }
            let hold = holds.remove(at: index)
            let at = Self.milliseconds(context.wallClockNanoseconds())
            let balance = post(
                HistoryEntry(id: id, amount: hold.amount, what: "released", atMilliseconds: at), to: hold.account)
            return "OK \(balance)"
        }
    }

    /// Returns the money of every hold whose time has run out, by the recorded clock.
    ///
    /// The primary runs this every tick interval (100 ms by default) as a log entry of its own; the backup replays it
    /// at the same log position with the same clock value. With no holds pending it reads nothing, so an idle
    /// ledger's ticks record nothing either.
    public mutating func tick(context: inout ApplyContext) {
        guard !holds.isEmpty else { return }
        let now = Self.milliseconds(context.wallClockNanoseconds())
        let expired = holds.filter { $0.expiresAtMilliseconds <= now }
        holds.removeAll { $0.expiresAtMilliseconds <= now }
        for hold in expired {  // oldest first, so history reads the same on both nodes
            post(HistoryEntry(id: hold.id, amount: hold.amount, what: "expired", atMilliseconds: now), to: hold.account)
        }
    }

    /// The spendable balance of `account`, nil if there is no such account.
    public func availableBalance(of account: String) -> Int64? {
        accounts[account]?.available
    }

    /// Every account's name, sorted.
    public var accountNames: [String] {
        accounts.keys.sorted()
    }

    /// All the money in the ledger: every account's spendable balance plus every pending hold. Only deposits and
    /// withdrawals change it.
    public var totalMoney: Int64 {
        accounts.values.reduce(0) { $0 + $1.available } + holds.reduce(0) { $0 + $1.amount }
    }

    /// Adds `entry` to `account`'s history and its amount to its balance: the new balance.
    @discardableResult
    private mutating func post(_ entry: HistoryEntry, to account: String) -> Int64 {
        // Callers looked the account up first; a missing one here is our bug, and stopping is safe.
        precondition(accounts[account] != nil, "posting to account \(account), which does not exist")
        accounts[account]!.available += entry.amount
        precondition(accounts[account]!.available >= 0, "account \(account) went negative")
        accounts[account]!.append(entry, limit: limits.historyEntriesLimit)
        return accounts[account]!.available
    }

    /// A new operation's id and timestamp: the recorded clock, then one recorded random value, in that order.
    ///
    /// The sequence number makes the id unique; the random part makes it unguessable. Both reads go through the
    /// context, so the backup, replaying, produces the very same id.
    private mutating func stamp(_ kind: Character, context: inout ApplyContext) -> (id: String, atMilliseconds: Int64) {
        let at = Self.milliseconds(context.wallClockNanoseconds())
        let random = String(context.randomValue(), radix: 16)
        let id = "\(kind)\(nextSequence)-\(String(repeating: "0", count: 16 - random.count))\(random)"
        nextSequence += 1
        return (id, at)
    }

    /// `account`'s spendable balance plus its pending holds: what `balanceLimit` bounds.
    func total(of account: String) -> Int64 {
        (accounts[account]?.available ?? 0) + holds.reduce(0) { $0 + ($1.account == account ? $1.amount : 0) }
    }

    private func tooRich(_ account: String) -> String {
        "ERR account \(account) would hold more than \(limits.balanceLimit)"
    }

    private static func noSuchAccount(_ name: String) -> String { "ERR no such account \(name)" }

    private static let insufficientFunds = "ERR insufficient funds"

    private static func milliseconds(_ nanoseconds: Int64) -> Int64 { nanoseconds / 1_000_000 }
}
