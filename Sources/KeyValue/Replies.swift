/// The replies and error texts commands share, worded exactly as Redis words them.
///
/// Clients and tests match on Redis's wording (and tools such as `redis-cli` show it), so every error is
/// spelled once here rather than retyped, and slightly differently, in each command.
enum Replies {
    static let ok = RESPWriter.ok
    static let nullBulk = RESPWriter.nullBulk
    static let zero = RESPWriter.integer(0)
    static let one = RESPWriter.integer(1)
    static let pong = RESPWriter.simpleString("PONG")
    static let syntaxError = RESPWriter.error("ERR syntax error")
    static let notInteger = RESPWriter.error("ERR value is not an integer or out of range")
    static let overflow = RESPWriter.error("ERR increment or decrement would overflow")
    static let decrementOverflow = RESPWriter.error("ERR decrement would overflow")
    static let databaseOutOfRange = RESPWriter.error("ERR DB index is out of range")
    static let sameObject = RESPWriter.error("ERR source and destination objects are the same")
    static let wrongType = RESPWriter.error("WRONGTYPE Operation against a key holding the wrong kind of value")
    static let stringTooLong = RESPWriter.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")

    /// Redis's error for an unknown subcommand, naming it (at most its first 128 bytes: it is the client's) and
    /// `command`'s HELP.
    static func unknownSubcommand<Bytes: Collection<UInt8>>(_ subcommand: Bytes, of command: String) -> [UInt8] {
        subcommandError("ERR unknown subcommand '", subcommand, command)
    }

    /// The same for a subcommand that is unknown or has the wrong number of arguments (OBJECT, MEMORY, SLOWLOG).
    static func unknownSubcommandOrArity<Bytes: Collection<UInt8>>(_ subcommand: Bytes, of command: String) -> [UInt8] {
        subcommandError("ERR unknown subcommand or wrong number of arguments for '", subcommand, command)
    }

    private static func subcommandError<Bytes: Collection<UInt8>>(
        _ start: String, _ subcommand: Bytes, _ command: String
    ) -> [UInt8] {
        var message = Array(start.utf8)
        message.append(contentsOf: subcommand.prefix(128))
        message.append(contentsOf: Array("'. Try \(command) HELP.".utf8))
        var writer = RESPWriter()
        writer.appendError(message)
        return writer.bytes
    }

    static func wrongArity(_ name: String) -> [UInt8] {
        RESPWriter.error("ERR wrong number of arguments for '\(name)' command")
    }

    /// Whether `reply` is a `wrongArity` error, for `CommandStatistics`, which counts it as a refusal.
    static func isWrongArity(_ reply: [UInt8]) -> Bool {
        reply.starts(with: wrongArityStart)
    }

    private static let wrongArityStart = Array("-ERR wrong number of arguments for '".utf8)

    static func invalidExpireTime(_ name: String) -> [UInt8] {
        RESPWriter.error("ERR invalid expire time in '\(name)' command")
    }

    /// `ERR unknown command 'x', with args beginning with: 'a' 'b' `, quoting at most about 128 bytes of each,
    /// as Redis does (the trailing space included).
    static func unknownCommand(_ arguments: [[UInt8]]) -> [UInt8] {
        let quotedBytesLimit = 128
        var message = Array("ERR unknown command '".utf8)
        message.append(contentsOf: (arguments.first ?? []).prefix(quotedBytesLimit))
        message.append(contentsOf: Array("', with args beginning with: ".utf8))
        var quoted = 0
        for argument in arguments.dropFirst() where quoted < quotedBytesLimit {
            let part = argument.prefix(quotedBytesLimit - quoted)
            message.append(UInt8(ascii: "'"))
            message.append(contentsOf: part)
            message.append(contentsOf: [UInt8(ascii: "'"), UInt8(ascii: " ")])
            quoted += part.count + 3
        }
        var writer = RESPWriter()
        writer.appendError(message)
        return writer.bytes
    }
}
