/// COMMAND and its subcommands: the command table as Redis 7.0 describes its own, for clients and tools that probe.
///
/// Minimal where Redis's answer is documentation (key specifications, tips, argument docs are empty; DOCS gives each
/// command's group), exact where clients act on it: names, arities, read/write flags and key positions.
extension KeyValueFrontend {
    /// One command as COMMAND describes it.
    struct CommandDescription {
        var name: String
        var arity: Int
        var flags: [String]
        var firstKey: Int, lastKey: Int, step: Int
        var group: String
    }

    /// Every command this node knows, data and node-local, sorted by name.
    static var commandDescriptions: [CommandDescription] {
        // SELECT is both; the frontend answers it first, as a node-local command.
        let data = DataCommand.allCases.filter { LocalCommand(rawValue: $0.rawValue) == nil }.map { command in
            let keys = keyPositions(command)
            return CommandDescription(
                name: command.rawValue, arity: command.arity,
                flags: command.isRead ? ["readonly"] : command.isBlocking ? ["write", "blocking"] : ["write"],
                firstKey: keys.first, lastKey: keys.last, step: keys.step, group: group(command))
        }
        let local = LocalCommand.allCases.map { command in
            CommandDescription(
                name: command.rawValue, arity: command.arity, flags: localFlags(command),
                firstKey: command == .watch ? 1 : 0, lastKey: command == .watch ? -1 : 0,
                step: command == .watch ? 1 : 0, group: group(command))
        }
        return (data + local).sorted { $0.name < $1.name }
    }

    /// `COMMAND`, `COMMAND COUNT`, `COMMAND INFO [name...]`, `COMMAND DOCS [name...]`, `COMMAND LIST [FILTERBY ...]`.
    static func commandCommand(_ arguments: [[UInt8]]) -> [UInt8] {
        let all = commandDescriptions
        guard arguments.count > 1 else { return RESPWriter.array(all.map(info)) }
        let subcommand = arguments[1]
        let named = { (names: ArraySlice<[UInt8]>) -> [CommandDescription?] in
            names.map { name in all.first { $0.name == String(decoding: ASCII.lowercased(name), as: UTF8.self) } }
        }
        if ASCII.equals(subcommand, "count"), arguments.count == 2 { return RESPWriter.integer(Int64(all.count)) }
        if ASCII.equals(subcommand, "info") {
            guard arguments.count > 2 else { return RESPWriter.array(all.map(info)) }
            return RESPWriter.array(named(arguments.dropFirst(2)).map { $0.map(info) ?? RESPWriter.nullArray })
        }
        if ASCII.equals(subcommand, "docs") {
            let chosen = arguments.count > 2 ? named(arguments.dropFirst(2)).compactMap { $0 } : all
            var flat: [[UInt8]] = []
            for command in chosen {
                flat.append(RESPWriter.bulk(command.name))
                flat.append(RESPWriter.array([RESPWriter.bulk("group"), RESPWriter.bulk(command.group)]))
            }
            return RESPWriter.array(flat)
        }
        if ASCII.equals(subcommand, "list") {
            var names = all.map(\.name)
            if arguments.count == 5, ASCII.equals(arguments[2], "filterby") {
                let filter = arguments[3], value = arguments[4]
                if ASCII.equals(filter, "pattern") {
                    let pattern = GlobPattern(ASCII.lowercased(value))
                    names = names.filter { pattern.matches(Array($0.utf8)) }
                } else if ASCII.equals(filter, "aclcat") {
                    let category = String(decoding: ASCII.lowercased(value), as: UTF8.self)
                    names = all.filter { aclCategories($0).contains("@" + category) }.map(\.name)
                } else if ASCII.equals(filter, "module") {
                    names = []  // no modules
                } else {
                    return Replies.syntaxError
                }
            } else if arguments.count != 2 {
                return Replies.syntaxError
            }
            return RESPWriter.array(names.map { RESPWriter.bulk($0) })
        }
        if ASCII.equals(subcommand, "getkeys"), arguments.count > 2 {
            return commandKeys(Array(arguments.dropFirst(2)), among: all, withFlags: false)
        }
        if ASCII.equals(subcommand, "getkeysandflags"), arguments.count > 2 {
            return commandKeys(Array(arguments.dropFirst(2)), among: all, withFlags: true)
        }
        return unknownSubcommand(subcommand, of: "COMMAND")
    }

    /// `COMMAND GETKEYS command argument...`: the keys `command` would touch, found as Redis 7.0 finds them, with its
    /// error texts: the legacy positions, or for the commands that say how many keys follow, that count. With
    /// `withFlags` (`COMMAND GETKEYSANDFLAGS`), each key comes as `[key, [flag...]]`, its flags as `keyFlags` says.
    private static func commandKeys(_ command: [[UInt8]], among all: [CommandDescription], withFlags: Bool) -> [UInt8] {
        let name = String(decoding: ASCII.lowercased(command[0]), as: UTF8.self)
        guard let description = all.first(where: { $0.name == name }) else {
            return RESPWriter.error("ERR Invalid command specified")
        }
        let counted = keyCountPosition(name)
        guard description.firstKey != 0 || counted != nil || name == "sort" || name == "sort_ro" else {
            return RESPWriter.error("ERR The command has no key arguments")
        }
        let arity = description.arity
        guard arity > 0 ? command.count == arity : command.count >= -arity else {
            return RESPWriter.error("ERR Invalid number of arguments specified for command")
        }
        var positions: [Int] = []
        if let (countAt, before) = counted {
            guard let count = DecimalInteger.parse(command[countAt]), count >= 0, count <= command.count - countAt - 1
            else { return RESPWriter.error("ERR Invalid arguments specified for command") }
            positions = before + Array((countAt + 1)..<(countAt + 1 + Int(count)))
        } else if name == "sort" || name == "sort_ro" {
            // The last STORE's destination, as SORT stores there, wherever it is among the options; BY and GET take a
            // pattern, LIMIT two numbers. As Redis's `sortGetKeys`, the word after STORE is looked at again.
            var store: Int?
            var index = 2
            while index < command.count {
                let option = command[index]
                if ASCII.equals(option, "store"), index + 1 < command.count { store = index + 1 }
                let patterned = ASCII.equals(option, "by") || ASCII.equals(option, "get")
                index += ASCII.equals(option, "limit") ? 3 : patterned ? 2 : 1
            }
            positions = [1] + (store.map { [$0] } ?? [])
        } else {
            let last = description.lastKey < 0 ? command.count + description.lastKey : description.lastKey
            positions = Array(stride(from: description.firstKey, through: min(last, command.count - 1), by: description.step))
        }
        guard !positions.isEmpty || name.hasPrefix("eval") || name.hasPrefix("fcall") else {
            return RESPWriter.error("ERR Invalid arguments specified for command")
        }
        guard withFlags else { return RESPWriter.array(positions.map { RESPWriter.bulk(command[$0]) }) }
        let flags = keyFlags(name, command)
        return RESPWriter.array(positions.indices.map { index in
            let keyFlags = index == 0 ? flags.first : flags.others ?? flags.first
            return RESPWriter.array([
                RESPWriter.bulk(command[positions[index]]),
                RESPWriter.array(keyFlags.map { RESPWriter.simpleString($0) }),
            ])
        })
    }

    /// The flags of `command`'s keys (`name` is its lowercased name), from Redis 7.0's key specifications
    /// (`src/commands/*.json`): the first key's, and the flags of the keys after it when the command has a second
    /// specification (a destination after its sources, or sources after a destination). SET's flags vary, as in
    /// Redis's `setGetKeys`: with GET it reads the old value.
    private static func keyFlags(_ name: String, _ command: [[UInt8]]) -> (first: [String], others: [String]?) {
        if name == "set", command.dropFirst(3).contains(where: { ASCII.equals($0, "get") }) {
            return (["RW", "access", "update"], nil)
        }
        return (keyFlagsByCommand[name]?.first ?? [], keyFlagsByCommand[name]?.others)
    }

    /// `keyFlags`' table, built from `firstKeyFlags` and `otherKeyFlags`.
    static let keyFlagsByCommand: [String: (first: [String], others: [String]?)] = {
        var table: [String: (first: [String], others: [String]?)] = [:]
        for (flags, names) in firstKeyFlags {
            for name in names.split(separator: " ") { table[String(name)] = (flags, nil) }
        }
        for (flags, names) in otherKeyFlags {
            for name in names.split(separator: " ") { table[String(name)]?.others = flags }
        }
        return table
    }()

    /// Flag sets, in Redis's order (RO, RW, OW, RM, access, update, insert, delete), and the commands whose first (or
    /// only) key specification has them.
    static let firstKeyFlags: [(flags: [String], names: String)] = [
        (["RO"], "exists type strlen hlen hstrlen hexists sismember scard llen zcard touch object memory watch"),
        (["RO", "access"], "get mget ttl pttl expiretime pexpiretime hget hmget hkeys hvals hgetall hrandfield "
            + "smismember smembers srandmember sinter sunion sdiff sintercard lrange lindex lpos zscore zmscore zrank "
            + "zrevrank zcount zlexcount zrange zrangebyscore zrevrangebyscore zrangebylex zrevrangebylex zrevrange "
            + "zrandmember zunion zinter zdiff zintercard getrange substr getbit bitcount bitpos hscan sscan zscan "
            + "sort sort_ro copy lcs eval_ro evalsha_ro fcall_ro dump"),
        (["RW", "access", "update"], "getset incr incrby decr decrby hincrby hincrbyfloat zincrby move getex "
            + "incrbyfloat setbit eval evalsha fcall"),
        (["RW", "access", "delete"], "getdel spop lpop rpop lmpop zpopmin zpopmax zmpop blpop brpop bzpopmin bzpopmax "
            + "blmpop bzmpop smove lmove rpoplpush brpoplpush blmove rename renamenx"),
        (["RW", "update"], "expire pexpire expireat pexpireat persist hset hmset lset zadd setrange sinterstore"),
        (["RW", "insert"], "append hsetnx sadd lpush rpush lpushx rpushx linsert"),
        (["RW", "delete"], "hdel srem lrem ltrim zrem zremrangebyrank zremrangebyscore zremrangebylex"),
        (["RM", "delete"], "del unlink"),
        (["OW", "insert"], "setnx msetnx"),
        (["OW", "update"], "set setex psetex mset restore sunionstore sdiffstore zrangestore zunionstore zinterstore "
            + "zdiffstore bitop"),
    ]

    /// Flag sets and the commands whose keys after the first have them, from a second key specification.
    static let otherKeyFlags: [(flags: [String], names: String)] = [
        (["RO", "access"], "sinterstore sunionstore sdiffstore zrangestore zunionstore zinterstore zdiffstore bitop"),
        (["RW", "insert"], "smove lmove rpoplpush brpoplpush blmove"),
        (["OW", "insert"], "renamenx"),
        (["OW", "update"], "rename copy sort"),
    ]

    /// For a command that says how many keys follow: where that count is, and the keys before it.
    private static func keyCountPosition(_ name: String) -> (countAt: Int, before: [Int])? {
        switch name {
        case "zunion", "zinter", "zdiff", "zintercard", "sintercard", "lmpop", "zmpop": (1, [])
        case "zunionstore", "zinterstore", "zdiffstore": (2, [1])
        case "blmpop", "bzmpop", "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall", "fcall_ro": (2, [])
        default: nil
        }
    }

    /// Redis 7.0's ten fields: name, arity, flags, first key, last key, step, ACL categories, tips, key
    /// specifications, subcommands.
    private static func info(_ command: CommandDescription) -> [UInt8] {
        RESPWriter.array([
            RESPWriter.bulk(command.name), RESPWriter.integer(Int64(command.arity)),
            RESPWriter.array(command.flags.map { RESPWriter.simpleString($0) }),
            RESPWriter.integer(Int64(command.firstKey)), RESPWriter.integer(Int64(command.lastKey)),
            RESPWriter.integer(Int64(command.step)),
            RESPWriter.array(aclCategories(command).map { RESPWriter.simpleString($0) }),
            RESPWriter.array([]), RESPWriter.array([]), RESPWriter.array([]),
        ])
    }

    private static func aclCategories(_ command: CommandDescription) -> [String] {
        var categories = ["@" + command.group.filter { $0 != "_" }]  // the group sorted_set is the category sortedset
        if command.flags.contains("write") { categories.append("@write") }
        if command.flags.contains("readonly") { categories.append("@read") }
        return categories
    }

    /// First key, last key (negative: counted from the end) and step, as Redis's legacy key positions. Commands
    /// without keys have zeros; the multi-key ones name all their keys; any other command has one key, its first
    /// argument.
    private static func keyPositions(_ command: DataCommand) -> (first: Int, last: Int, step: Int) {
        switch command {
        case .keys, .scan, .dbsize, .randomkey, .flushall, .flushdb, .select, .time, .swapdb: (0, 0, 0)
        case .del, .unlink, .exists, .mget, .touch: (1, -1, 1)
        case .sinter, .sunion, .sdiff, .sinterstore, .sunionstore, .sdiffstore: (1, -1, 1)
        case .smove, .lmove, .rpoplpush: (1, 2, 1)
        case .object, .memory: (2, 2, 1)
        case .bitop: (2, -1, 1)
        case .rename, .renamenx, .copy, .lcs: (1, 2, 1)
        case .mset, .msetnx: (1, -1, 2)
        // The number of keys is an argument (movable keys): Redis's legacy positions say none.
        case .zunion, .zinter, .zdiff, .zintercard, .sintercard, .lmpop, .zmpop, .blmpop, .bzmpop: (0, 0, 0)
        case .blpop, .brpop, .bzpopmin, .bzpopmax: (1, -2, 1)
        case .brpoplpush, .blmove: (1, 2, 1)
        case .zrangestore: (1, 2, 1)
        default: (1, 1, 1)
        }
    }

    private static func group(_ command: DataCommand) -> String {
        switch command.collectionKind {
        case .hash: return "hash"
        case .set: return "set"
        case .list: return "list"
        case .sortedSet: return "sorted_set"
        case .string, nil: break
        }
        return switch command {
        case .del, .unlink, .exists, .type, .keys, .randomkey, .expire, .pexpire, .expireat, .pexpireat, .ttl, .pttl,
            .expiretime, .pexpiretime, .persist, .move, .rename, .renamenx, .copy, .touch, .object, .scan, .sort,
            .sortReadOnly, .dump, .restore:
            "generic"
        case .dbsize, .flushall, .flushdb, .time, .swapdb, .memory: "server"
        case .setbit, .getbit, .bitcount, .bitpos, .bitop: "bitmap"
        case .select: "connection"
        default: "string"
        }
    }

    private static func group(_ command: LocalCommand) -> String {
        switch command {
        case .multi, .exec, .discard, .watch, .unwatch: "transactions"
        case .subscribe, .psubscribe, .unsubscribe, .punsubscribe, .publish, .pubsub: "pubsub"
        case .eval, .evalsha, .evalReadOnly, .evalshaReadOnly, .script: "scripting"
        case .fcall, .fcallReadOnly, .function: "scripting"
        case .ping, .echo, .quit, .select, .client, .hello, .auth, .reset: "connection"
        default: "server"
        }
    }

    private static func localFlags(_ command: LocalCommand) -> [String] {
        switch command {
        case .ping, .echo: ["fast"]
        case .auth, .hello: ["noscript", "loading", "stale", "fast", "no_auth"]
        case .multi, .exec, .discard, .watch, .unwatch: ["noscript", "loading", "stale", "fast"]
        case .session: ["write", "noscript"]
        case .publish: ["pubsub", "loading", "stale", "fast"]
        default: ["noscript", "loading", "stale"]
        }
    }
}
