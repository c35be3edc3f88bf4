/// How a command of a connection that said `HELLO 3` travels through the log: wrapped in an entry that asks for its
/// reply in RESP3, under a name no client can send.
///
/// The protocol a connection speaks is node-local (its session, `ClientConnection.protocolVersion`), but a replicated
/// command's reply is made by the store when the entry is applied, and the runtime releases it without asking the
/// protocol again. So the entry carries the wish: the store applies the command inside as usual, in RESP2, and
/// converts the reply (`RESP3`, shaped by `RESP3Shape.of` the command). The backup converts too and discards the
/// reply, as it discards every reply. RESP2 connections' entries are the command itself, unwrapped, so their path
/// (GET, SET) does not change at all. The layout, as an argument list: `lockstep-resp3 · the command's encoding`,
/// where the command is anything a connection sends into the log (a data command, a database entry, a transaction
/// entry, a SESSION entry), never another RESP3 entry.
///
/// A SESSION EXEC inside saves the RESP2 reply, which the wrapper converts on the way out: a retry gets the reply in
/// the protocol the retrying connection speaks, whichever the first attempt spoke.
enum RESP3Entry {
    /// The internal command name, found the way `DataCommand`s are.
    static let name = "lockstep-resp3"
    /// Bytes the wrapping adds to a command's encoding, at most: the argument count, the name with its length, and
    /// the command's length varint. `KeyValueClientProtocol.replicatedBytesLimit` counts them.
    static let overheadBytesLimit = 1 + (1 + name.utf8.count) + 10

    /// `command` (an encoding) wrapped, to be answered in RESP3.
    static func wrapping(_ command: [UInt8]) -> [UInt8] {
        CommandArguments(encoding: [Array(name.utf8), command]).encoding
    }

    /// `command` as a connection speaking `protocolVersion` sends it into the log: itself in RESP2, else wrapped.
    @inline(__always)
    static func encoding(_ command: [UInt8], protocolVersion: Int) -> [UInt8] {
        protocolVersion == 2 ? command : wrapping(command)
    }

    /// The wrapped command's encoding, from the entry's arguments (already decoded, the name at 0); nil when malformed
    /// or nested, which only a corrupt entry is.
    static func command(_ arguments: CommandArguments) -> [UInt8]? {
        guard arguments.count == 2 else { return nil }
        let command = arguments[1]
        if let (name, _) = CommandArguments.peek(command), isEntry(name) { return nil }
        return command
    }

    /// Whether `name` is this entry's.
    static func isEntry(_ name: CommandName) -> Bool {
        name == entryName
    }

    private static let entryName = CommandName(Array(name.utf8))!
}
