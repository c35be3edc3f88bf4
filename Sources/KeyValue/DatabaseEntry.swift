/// How a command of a connection that selected a database other than 0 travels through the log: wrapped in an entry
/// that names the database, under a name no client can send.
///
/// A connection's selected database is node-local state (its session, `ClientConnection.database`), like Redis's
/// `c->db`: SELECT changes no replicated state and writes no entry. So every entry such a connection produces names
/// its database, and both nodes apply it there. Database 0's entries are the command itself, unwrapped, which keeps
/// the commonest entries and their path (GET, SET) exactly as they are. The layout, as an argument list:
/// `lockstep-db · database (decimal) · the command's KeyValueCommand encoding`. The command may be a data command or
/// a WATCH entry (`TransactionEntry.watch`, whose keys are in the database); never another database entry or an EXEC,
/// whose queued commands carry their own databases (SELECT may change it between them).
struct DatabaseEntry: Equatable, Sendable {
    /// The internal command name, found the way `DataCommand`s are.
    static let name = "lockstep-db"
    /// Bytes the wrapping adds to a command's encoding, at most: the argument count, the name with its length, the
    /// database with its length, and the command's length varint. `KeyValueClientProtocol.replicatedBytesLimit`
    /// counts them.
    static let overheadBytesLimit = 1 + (1 + name.utf8.count) + (1 + 2) + 10

    var database: Int
    /// The wrapped command's encoding.
    var command: [UInt8]

    /// The entry that runs `command` (an encoding) in `database`.
    init(database: Int, command: [UInt8]) {
        precondition(database > 0 && database < KeyValueStore.databaseCount, "database \(database) needs no entry")
        self.database = database
        self.command = command
    }

    /// The entry `arguments` (already decoded, the name at 0) spell; nil when its fields are malformed or it nests
    /// what it may not, which only a corrupt entry does.
    init?(_ arguments: CommandArguments) {
        guard arguments.count == 3, let database = DecimalInteger.parse(arguments.bytes(at: 1)),
            database > 0, database < KeyValueStore.databaseCount
        else { return nil }
        let command = arguments[2]
        if let (name, _) = CommandArguments.peek(command) {
            if Self.isEntry(name) { return nil }
            if let kind = TransactionEntry.Kind(name: name), kind == .exec { return nil }
        }
        self.database = Int(database)
        self.command = command
    }

    /// The entry's `KeyValueCommand` encoding.
    var encoded: [UInt8] {
        CommandArguments(encoding: [Array(Self.name.utf8), Array(String(database).utf8), command]).encoding
    }

    /// `command` as a connection with `database` selected sends it into the log: itself in database 0, else wrapped.
    @inline(__always)
    static func encoding(_ command: [UInt8], in database: Int) -> [UInt8] {
        database == 0 ? command : DatabaseEntry(database: database, command: command).encoded
    }

    /// Whether `name` is this entry's.
    static func isEntry(_ name: CommandName) -> Bool {
        name == entryName
    }

    private static let entryName = CommandName(Array(name.utf8))!
}
