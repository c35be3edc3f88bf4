/// Why a command was refused before it was queued.
public enum CommandRefusal: Equatable, Sendable, CustomStringConvertible {
    /// No command name.
    case empty
    /// A command that acts on the connection or spans requests (MULTI, SUBSCRIBE, ...), which a session cannot carry.
    case notAllowedInSession(String)
    /// Larger than `LockstepClientConfiguration.commandBytesLimit`.
    case tooLarge(bytes: Int, limit: Int)

    /// One sentence naming what was wrong.
    public var description: String {
        switch self {
        case .empty: "a command needs at least its name"
        case .notAllowedInSession(let name): "\(name) cannot run inside a session; use a plain Redis client for it"
        case .tooLarge(let bytes, let limit): "the command takes \(bytes) bytes, over the limit of \(limit)"
        }
    }
}
