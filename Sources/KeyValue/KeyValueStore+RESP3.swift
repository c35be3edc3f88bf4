import Replication

/// Applying and reading `RESP3Entry`s: the command inside, its reply converted to RESP3.
extension KeyValueStore {
    /// Applies a `RESP3Entry`: its command as any entry, then its reply as `RESP3Shape` says for that command.
    mutating func applyInRESP3(_ arguments: CommandArguments, context: inout ApplyContext) -> [UInt8] {
        guard let command = RESP3Entry.command(arguments), let inner = try? CommandArguments(decoding: command) else {
            return RESPWriter.error("ERR malformed \(RESP3Entry.name) entry; nothing was done")
        }
        let wasRESP3 = isReplyingInRESP3
        isReplyingInRESP3 = true
        defer { isReplyingInRESP3 = wasRESP3 }
        return RESP3.convert(applyCommand(command, context: &context), RESP3Shape.of(inner))
    }

    /// `read` for a `RESP3Entry`: its command read as `read` reads any, the reply converted.
    @inline(never)
    func readInRESP3(_ command: [UInt8], into reply: inout [UInt8], context: inout ApplyContext) -> Bool {
        // Malformed: `apply` says what is wrong.
        guard let arguments = try? CommandArguments(decoding: command), let wrapped = RESP3Entry.command(arguments),
            let inner = try? CommandArguments(decoding: wrapped)
        else { return false }
        var answer: [UInt8] = []
        guard read(wrapped, into: &answer, context: &context) else { return false }
        reply.append(contentsOf: RESP3.convert(answer, RESP3Shape.of(inner)))
        return true
    }
}
