/// What a command's reply becomes in RESP3, beyond nulls becoming `_`: the one table of per-command reply shapes.
///
/// Follows Redis 7.0's replies under `HELLO 3` (its `t_*.c` and `server.c`: `addReplyMapLen`, `addReplySetLen`,
/// `addReplyDouble`, `addReplyVerbatim`, and the `c->resp > 2` branches). A command missing from `of(_:)` is `.plain`,
/// which is right for every reply made of integers, strings, errors and arrays; a new command whose Redis reply has
/// a map, a set, a double or pairs gets a case there, and nowhere else.
indirect enum RESP3Shape: Equatable, Sendable {
    /// Nulls as `_`, nothing else changes.
    case plain
    /// A flat `[field, value, ...]` array as a map (HGETALL, CONFIG GET, HELLO).
    case map
    /// A flat `[field, value, ...]` array as a map, each value shaped as given (COMMAND DOCS: a map of maps).
    case mapOf(RESP3Shape)
    /// An array as a set (SMEMBERS, SINTER, SUNION, SDIFF, SPOP with a count).
    case set
    /// Arrays as push frames, each one (Pub/Sub confirmations and messages).
    case push
    /// A bulk string as a double (ZSCORE, ZINCRBY, ZADD INCR).
    case double
    /// A bulk string as verbatim text, `txt` (INFO, CLIENT INFO, CLIENT LIST).
    case verbatim
    /// Every element of an array shaped alike (ZMSCORE: doubles).
    case array(RESP3Shape)
    /// Each element of an array shaped by its own shape; an array of another length is plain.
    case elements([RESP3Shape])
    /// A flat `[a, b, a, b, ...]` array as pairs `[[a, b], ...]`, `b` shaped as given (WITHSCORES: doubles).
    case pairs(RESP3Shape)

    /// The shape of `arguments`' reply, `arguments` being a command as a client sent it (the name at 0) or an entry
    /// of the log (a database entry, a transaction, a SESSION EXEC: the shape of the commands inside).
    static func of(_ arguments: CommandArguments) -> RESP3Shape {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return .plain }
        if let command = DataCommand(name: name) { return of(command, arguments) }
        if let command = KeyValueFrontend.LocalCommand(name: name) { return of(command, arguments) }
        return ofEntry(name, arguments)
    }

    /// The data commands' shapes.
    private static func of(_ command: DataCommand, _ arguments: CommandArguments) -> RESP3Shape {
        switch command {
        case .hgetall: return .map
        case .smembers, .sinter, .sunion, .sdiff: return .set
        case .spop: return arguments.count == 3 ? .set : .plain
        case .zscore, .zincrby: return .double
        case .zadd: return hasOption("incr", in: arguments, from: 2, whileIn: zaddOptions) ? .double : .plain
        case .zmscore: return .array(.double)
        case .zrange, .zrangebyscore, .zrevrangebyscore, .zrevrange:
            return hasOption("withscores", in: arguments, from: 4) ? .pairs(.double) : .plain
        case .zunion, .zinter, .zdiff:
            // After the keys, which may be named like an option.
            guard arguments.count > 1, let keyCount = DecimalInteger.parse(arguments.bytes(at: 1)),
                keyCount >= 0, keyCount < arguments.count
            else { return .plain }
            return hasOption("withscores", in: arguments, from: 2 + Int(keyCount)) ? .pairs(.double) : .plain
        case .zrandmember: return arguments.count == 4 ? .pairs(.double) : .plain
        case .zpopmin, .zpopmax: return arguments.count == 3 ? .pairs(.double) : .elements([.plain, .double])
        case .zmpop, .bzmpop: return .elements([.plain, .array(.elements([.plain, .double]))])
        case .bzpopmin, .bzpopmax: return .elements([.plain, .plain, .double])
        case .hrandfield: return arguments.count == 4 ? .pairs(.plain) : .plain
        // Redis writes IDX's reply as a map; an IDX that is MINMATCHLEN's argument fails as no integer, unshaped.
        case .lcs: return hasOption("idx", in: arguments, from: 3) ? .map : .plain
        default: return .plain
        }
    }

    /// The node-local commands' shapes; HELLO writes its map itself.
    private static func of(_ command: KeyValueFrontend.LocalCommand, _ arguments: CommandArguments) -> RESP3Shape {
        let subcommand = arguments.count > 1 ? arguments.bytes(at: 1) : []
        switch command {
        case .info: return .verbatim
        // Each key's flags are a set, as Redis's `addReplyCommandFlags` writes them.
        case .command where ASCII.equals(subcommand, "getkeysandflags"): return .array(.elements([.plain, .set]))
        // Each command's documentation is a map, under its name in the map Redis's `commandDocsCommand` writes.
        case .command where ASCII.equals(subcommand, "docs"): return .mapOf(.map)
        case .config: return ASCII.equals(subcommand, "get") ? .map : .plain
        case .client: return ASCII.equals(subcommand, "info") || ASCII.equals(subcommand, "list") ? .verbatim : .plain
        case .subscribe, .psubscribe, .unsubscribe, .punsubscribe: return .push
        case .sentinel:
            // Redis's sentinel.c writes each instance as a map (`addReplySentinelRedisInstance`).
            if ASCII.equals(subcommand, "master") { return .map }
            let lists: [StaticString] = ["masters", "replicas", "slaves", "sentinels"]
            return lists.contains { ASCII.equals(subcommand, $0) } ? .array(.map) : .plain
        case .session:
            // `SESSION EXEC id number command...`, as the client sends it and as its entry is.
            guard arguments.count >= 5, ASCII.equals(subcommand, "exec") else { return .plain }
            return of(CommandArguments(encoding: Array(arguments.dropFirst(4))))
        default: return .plain
        }
    }

    /// The shapes of the log's own entries (a SESSION entry is under its command's name): those of the commands they
    /// carry.
    private static func ofEntry(_ name: CommandName, _ arguments: CommandArguments) -> RESP3Shape {
        if DatabaseEntry.isEntry(name) {
            guard let entry = DatabaseEntry(arguments), let inner = try? CommandArguments(decoding: entry.command)
            else { return .plain }  // malformed: the store's error reply, which needs no shape
            return of(inner)
        }
        if BlockingEntry.isBlock(name) {
            guard let (_, inner) = BlockingEntry.blocked(arguments) else { return .plain }
            return of(CommandArguments(encoding: inner))
        }
        if let kind = TransactionEntry.Kind(name: name) {
            guard kind == .exec, case .exec(_, let items)? = TransactionEntry(kind, arguments: arguments) else {
                return .plain
            }
            return .elements(items.map { item in
                switch item {
                // A node-local reply in the entry was shaped when EXEC arrived (`RESP3` leaves RESP3 frames alone).
                case .reply: return .plain
                // A placeholder, written over at the release with an answer that is the same in both protocols.
                case .atRelease: return .plain
                case .command(let encoding):
                    guard let inner = try? CommandArguments(decoding: encoding) else { return .plain }  // as above
                    return of(inner)
                }
            })
        }
        return .plain
    }

    private static let zaddOptions: [StaticString] = ["nx", "xx", "gt", "lt", "ch", "incr"]

    /// Whether `option` is among `arguments` from `start` on; with `options`, only while the arguments are options
    /// (ZADD's come before its first score).
    private static func hasOption(
        _ option: StaticString, in arguments: CommandArguments, from start: Int, whileIn options: [StaticString]? = nil
    ) -> Bool {
        guard start < arguments.count else { return false }
        for position in start..<arguments.count {
            let argument = arguments.bytes(at: position)
            if ASCII.equals(argument, option) { return true }
            if let options, !options.contains(where: { ASCII.equals(argument, $0) }) { return false }
        }
        return false
    }
}
