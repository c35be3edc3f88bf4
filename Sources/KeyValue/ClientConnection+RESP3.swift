/// Local replies in the protocol the connection speaks.
extension ClientConnection {
    /// `reply`, a RESP2 reply to `arguments`, as this connection reads it: itself in RESP2, else converted as
    /// `RESP3Shape` says for the command. Replicated commands' replies are converted by the store instead
    /// (`RESP3Entry`).
    @inline(__always)
    func shaped(_ reply: [UInt8], for arguments: CommandArguments) -> [UInt8] {
        protocolVersion == 2 ? reply : RESP3.convert(reply, RESP3Shape.of(arguments))
    }

    /// `shaped(_:for:)` for a command whose arguments the frontend has taken apart.
    func shaped(_ reply: [UInt8], for arguments: [[UInt8]]) -> [UInt8] {
        protocolVersion == 2 ? reply : RESP3.convert(reply, RESP3Shape.of(CommandArguments(encoding: arguments)))
    }
}
