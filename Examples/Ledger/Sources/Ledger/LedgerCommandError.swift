/// Why a request line is not a ledger command; its description is the text after `ERR ` in the reply.
///
/// These are found by the protocol before anything is logged, so the client learns that nothing happened.
public enum LedgerCommandError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A blank line.
    case empty
    /// The first word names no command.
    case unknownCommand(String)
    /// The wrong number of arguments; `usage` shows the right ones.
    case usage(String)
    /// An account name that is empty, too long or has characters other than letters, digits, `-` and `_`.
    case invalidAccount(limit: Int)
    /// An amount that is not a whole number from 1 to `limit`.
    case invalidAmount(limit: Int64)
    /// A history count that is not a whole number from 1 to `limit`.
    case invalidCount(limit: Int)
    /// A hold duration that is not a whole number of seconds from 1 to `limit`.
    case invalidSeconds(limit: Int64)
    /// A word that cannot be a hold id.
    case invalidHoldID
    /// A transfer from an account to itself.
    case sameAccount

    /// What was wrong, worded for the `ERR` reply.
    public var description: String {
        switch self {
        case .empty: "empty line; send a command such as PING or BALANCE alice"
        case .unknownCommand(let word): "unknown command '\(word)'"
        case .usage(let usage): "wrong arguments; usage: \(usage)"
        case .invalidAccount(let limit): "account names are 1 to \(limit) letters, digits, '-' or '_'"
        case .invalidAmount(let limit): "amounts are whole numbers from 1 to \(limit)"
        case .invalidCount(let limit): "history counts are whole numbers from 1 to \(limit)"
        case .invalidSeconds(let limit): "hold durations are whole seconds from 1 to \(limit)"
        case .invalidHoldID: "not a hold id (as HOLD replied, e.g. h12-0123456789abcdef)"
        case .sameAccount: "a transfer needs two different accounts"
        }
    }
}
