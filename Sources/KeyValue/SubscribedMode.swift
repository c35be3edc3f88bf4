/// Redis's subscribed mode: while a RESP2 connection holds subscriptions, it may only change them, PING, QUIT or
/// RESET.
///
/// A client in this mode reads pushed messages between its replies, so any other reply would be mistaken for
/// one; Redis refuses the rest with the error below, after its unknown-command and arity checks (so those errors
/// come first, as they do here, from `KeyValueFrontend.route`).
enum SubscribedMode {
    /// The reply to `arguments` on a subscribed connection when it differs from the normal one: PING's Pub/Sub
    /// form, or the refusal of a command not allowed here; nil when the normal routing answers.
    static func reply(to arguments: CommandArguments) -> [UInt8]? {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return nil }
        let fullName: String
        if let command = KeyValueFrontend.LocalCommand(name: name) {
            guard command.accepts(argumentCount: arguments.count) else { return nil }
            switch command {
            case .subscribe, .psubscribe, .unsubscribe, .punsubscribe, .quit, .reset:
                return nil
            case .ping:
                // `pong` and the argument (empty without one), as a two-element array: Redis's PING while subscribed.
                let payload = arguments.count == 2 ? Array(arguments.bytes(at: 1)) : []
                return RESPWriter.array([RESPWriter.bulk("pong"), RESPWriter.bulk(payload)])
            default:
                // `COMMAND` alone has no subcommand to name (its arity allows one argument).
                guard command.hasSubcommands, arguments.count >= 2 else {
                    fullName = command.rawValue
                    break
                }
                let subcommand = String(decoding: ASCII.lowercased(Array(arguments.bytes(at: 1))), as: UTF8.self)
                fullName = "\(command.rawValue)|\(subcommand)"
            }
        } else if let command = DataCommand(name: name) {
            guard command.accepts(argumentCount: arguments.count) else { return nil }
            fullName = command.rawValue
        } else {
            return nil
        }
        return RESPWriter.error(
            "ERR Can't execute '\(fullName.prefix(128))': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                + "are allowed in this context")
    }
}
