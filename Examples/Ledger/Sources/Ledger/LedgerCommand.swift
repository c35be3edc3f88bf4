/// One ledger command, as it travels in the log.
///
/// The protocol parses and checks a client's line on the primary (`parse`), so a malformed command is answered at
/// once and never costs a log entry; what goes into the log is the command's canonical line (`line`), which
/// `Ledger.apply` parses again on both nodes. Reading commands (`BALANCE`, `HISTORY`) go through the log too: their
/// answer then reflects every write acknowledged before them, on whichever node serves after a failover.
public enum LedgerCommand: Equatable, Sendable {
    /// `OPEN account`: a new account with nothing in it.
    case open(account: String)
    /// `DEPOSIT account amount`: money from outside the ledger.
    case deposit(account: String, amount: Int64)
    /// `WITHDRAW account amount`: money out of the ledger.
    case withdraw(account: String, amount: Int64)
    /// `TRANSFER from to amount`: money from one account to another, or nothing if `from` has too little.
    case transfer(from: String, to: String, amount: Int64)
    /// `BALANCE account`: the money the account may spend now (held money excluded).
    case balance(account: String)
    /// `HISTORY account [count]`: the newest `count` history entries, newest first.
    case history(account: String, count: Int)
    /// `HOLD account amount seconds`: set money aside until `RELEASE`, or until it expires and returns by itself.
    case hold(account: String, amount: Int64, seconds: Int64)
    /// `RELEASE hold-id`: return held money to its account now.
    case release(holdID: String)

    /// History entries `HISTORY account` shows when no count is given.
    public static let defaultHistoryCount = 10
    /// The longest hold id, in bytes: a letter, a decimal sequence number, `-`, 16 hex digits.
    public static let holdIDBytesLimit = 40

    /// The command a line's words ask for, checked against `limits`; the first word is matched in any case.
    public static func parse(_ words: [Substring], limits: LedgerLimits) throws(LedgerCommandError) -> LedgerCommand {
        guard let first = words.first else { throw .empty }
        let arguments = words.dropFirst()
        switch first.uppercased() {
        case "OPEN":
            guard arguments.count == 1 else { throw .usage("OPEN account") }
            return .open(account: try account(words[1], limits))
        case "DEPOSIT", "WITHDRAW":
            guard arguments.count == 2 else { throw .usage("\(first.uppercased()) account amount") }
            let (name, amount) = (try account(words[1], limits), try self.amount(words[2], limits))
            return first.uppercased() == "DEPOSIT"
                ? .deposit(account: name, amount: amount) : .withdraw(account: name, amount: amount)
        case "TRANSFER":
            guard arguments.count == 3 else { throw .usage("TRANSFER from to amount") }
            let (from, to) = (try account(words[1], limits), try account(words[2], limits))
            guard from != to else { throw .sameAccount }
            return .transfer(from: from, to: to, amount: try amount(words[3], limits))
        case "BALANCE":
            guard arguments.count == 1 else { throw .usage("BALANCE account") }
            return .balance(account: try account(words[1], limits))
        case "HISTORY":
            guard arguments.count == 1 || arguments.count == 2 else { throw .usage("HISTORY account [count]") }
            let name = try account(words[1], limits)
            guard arguments.count == 2 else {
                return .history(account: name, count: min(defaultHistoryCount, limits.historyEntriesLimit))
            }
            guard let count = number(words[2], in: 1...Int64(limits.historyEntriesLimit)) else {
                throw .invalidCount(limit: limits.historyEntriesLimit)
            }
            return .history(account: name, count: Int(count))
        case "HOLD":
            guard arguments.count == 3 else { throw .usage("HOLD account amount seconds") }
            let (name, amount) = (try account(words[1], limits), try self.amount(words[2], limits))
            guard let seconds = number(words[3], in: 1...limits.holdSecondsLimit) else {
                throw .invalidSeconds(limit: limits.holdSecondsLimit)
            }
            return .hold(account: name, amount: amount, seconds: seconds)
        case "RELEASE":
            guard arguments.count == 1 else { throw .usage("RELEASE hold-id") }
            let id = words[1]
            guard id.utf8.count <= holdIDBytesLimit, id.utf8.allSatisfy({ isWordByte($0) && $0 != UInt8(ascii: "_") })
            else { throw .invalidHoldID }
            return .release(holdID: String(id))
        default:
            throw .unknownCommand(String(first.prefix(32)))
        }
    }

    /// The canonical line: what the log carries and `parse` reads back as this command.
    public var line: String {
        switch self {
        case .open(let account): "OPEN \(account)"
        case .deposit(let account, let amount): "DEPOSIT \(account) \(amount)"
        case .withdraw(let account, let amount): "WITHDRAW \(account) \(amount)"
        case .transfer(let from, let to, let amount): "TRANSFER \(from) \(to) \(amount)"
        case .balance(let account): "BALANCE \(account)"
        case .history(let account, let count): "HISTORY \(account) \(count)"
        case .hold(let account, let amount, let seconds): "HOLD \(account) \(amount) \(seconds)"
        case .release(let holdID): "RELEASE \(holdID)"
        }
    }

    /// The words of a line, split at spaces and tabs.
    public static func words(of line: Substring) -> [Substring] {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" })
    }

    /// Whether `word` may name an account: 1 to `accountNameBytesLimit` letters, digits, `-` or `_`.
    static func isAccountName(_ word: Substring, limits: LedgerLimits) -> Bool {
        !word.isEmpty && word.utf8.count <= limits.accountNameBytesLimit && word.utf8.allSatisfy(isWordByte)
    }

    private static func account(_ word: Substring, _ limits: LedgerLimits) throws(LedgerCommandError) -> String {
        guard isAccountName(word, limits: limits) else { throw .invalidAccount(limit: limits.accountNameBytesLimit) }
        return String(word)
    }

    private static func amount(_ word: Substring, _ limits: LedgerLimits) throws(LedgerCommandError) -> Int64 {
        guard let amount = number(word, in: 1...limits.amountLimit) else {
            throw .invalidAmount(limit: limits.amountLimit)
        }
        return amount
    }

    /// A plain decimal number (digits only: no sign, no spaces) within `range`.
    private static func number(_ word: Substring, in range: ClosedRange<Int64>) -> Int64? {
        // 18 digits always fit in Int64, and no limit here needs more.
        guard (1...18).contains(word.utf8.count), word.utf8.allSatisfy({ (48...57).contains($0) }),
            let value = Int64(word), range.contains(value)
        else { return nil }
        return value
    }

    /// ASCII letters, digits, `-` and `_`: bytes that can never be mistaken for the protocol's separators.
    private static func isWordByte(_ byte: UInt8) -> Bool {
        (48...57).contains(byte) || (65...90).contains(byte) || (97...122).contains(byte)
            || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
    }
}
