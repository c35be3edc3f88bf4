/// MULTI, EXEC, DISCARD, WATCH and UNWATCH as the frontend sorts them: all answered by the connection's protocol,
/// which holds the transaction and the watch (`KeyValueClientProtocol+Transactions`).
extension KeyValueFrontend {
    /// The transaction request `command` (one of the five, its arity checked) makes.
    static func transactionRequest(_ command: LocalCommand, _ arguments: [[UInt8]]) -> KeyValueRequest {
        switch command {
        case .multi: .transaction(.multi)
        case .exec: .transaction(.exec)
        case .discard: .transaction(.discard)
        case .watch: .transaction(.watch(keys: Array(arguments.dropFirst())))
        default: .transaction(.unwatch)
        }
    }

    /// Whether a connection inside MULTI runs `command` at once rather than queueing it, as Redis runs EXEC,
    /// DISCARD, MULTI, WATCH, QUIT and RESET.
    static func runsInsideTransaction(_ command: LocalCommand) -> Bool {
        switch command {
        case .exec, .discard, .multi, .watch, .quit, .reset: true
        default: false
        }
    }

    /// Whether a connection inside MULTI is refused `command`: the subscription commands and MONITOR, whose effect (a
    /// connection that listens) an EXEC reply could not carry, and SESSION, whose saved reply would be the EXEC's.
    static func isRefusedInsideTransaction(_ command: LocalCommand) -> Bool {
        switch command {
        case .subscribe, .psubscribe, .unsubscribe, .punsubscribe, .monitor, .session: true
        default: false
        }
    }
}

/// One of the transaction commands, for the connection's protocol to answer.
public enum TransactionRequest: Equatable, Sendable {
    /// MULTI, EXEC, DISCARD and UNWATCH, which take no arguments.
    case multi, exec, discard, unwatch
    /// WATCH with its keys.
    case watch(keys: [[UInt8]])
}
