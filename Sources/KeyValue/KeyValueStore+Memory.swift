/// `MEMORY USAGE` and `MEMORY HELP`: what a key costs, as an estimate from sizes the store keeps.
///
/// Redis adds up its allocations, sampling a few elements of a large collection (`SAMPLES`, default 5). The store
/// knows each key's record, each collection's byte count and its length, so the answer costs O(1) whatever the key
/// holds, and `SAMPLES` is checked as Redis checks it but changes nothing. The figure counts the key's record and
/// index entries and its contents with a fixed overhead per member or element; it is an estimate, as Redis's is.
extension KeyValueStore {
    /// `MEMORY USAGE key [SAMPLES count]`: the estimate in bytes, or null for a missing key; `MEMORY HELP`.
    mutating func memory(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let subcommand = arguments.bytes(at: 1)
        if arguments.count == 2 && ASCII.equals(subcommand, "help") { return Self.memoryHelp }
        guard arguments.count >= 3, ASCII.equals(subcommand, "usage") else {
            return Replies.unknownSubcommandOrArity(subcommand, of: "MEMORY")
        }
        var position = 3
        while position < arguments.count {
            guard ASCII.equals(arguments.bytes(at: position), "samples"), position + 1 < arguments.count else {
                return Replies.syntaxError
            }
            guard let samples = DecimalInteger.parse(arguments.bytes(at: position + 1)) else { return Replies.notInteger }
            guard samples >= 0 else { return Replies.syntaxError }
            position += 2
        }
        let key = arguments.key(at: 2)
        guard liveKind(key, clock: clock) != nil else { return Replies.nullBulk }
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        guard let slot = shards[index].find(key, hash: hash) else { return Replies.nullBulk }
        return RESPWriter.integer(Int64(shards[index].memoryUsage(at: slot)))
    }

    private static let memoryHelp = RESPWriter.array(
        [
            "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
            "HELP",
            "    Prints this help.",
        ].map { RESPWriter.simpleString($0) })
}
