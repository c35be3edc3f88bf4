/// `OBJECT`: what Redis 7.0 with its default settings would say of a key's value, for tools and tests that look.
///
/// The store keeps one representation per kind, so ENCODING answers with the encoding Redis would choose for the
/// value as it is now, by Redis's default thresholds (Redis never converts back to the compact form when a collection
/// shrinks; this answer does, being a function of the value alone). Access times and frequencies are not kept (a
/// read without a log entry could not update them on both nodes alike): IDLETIME answers 0, and FREQ refuses as Redis
/// does without an LFU eviction policy.
extension KeyValueStore {
    /// Redis's `hash-max-listpack-entries` and `hash-max-listpack-value` defaults.
    static let compactHashEntriesLimit = 512, compactHashValueBytesLimit = 64
    /// Redis's `set-max-intset-entries` default.
    static let integerSetEntriesLimit = 512
    /// Redis's `zset-max-listpack-entries` and `zset-max-listpack-value` defaults.
    static let compactSortedSetEntriesLimit = 128, compactSortedSetValueBytesLimit = 64
    /// Longest string Redis stores in one allocation with its header (`OBJ_ENCODING_EMBSTR_SIZE_LIMIT`).
    static let embeddedStringBytesLimit = 44
    /// Integers Redis shares among all keys (`OBJ_SHARED_INTEGERS`), whose REFCOUNT reads as `INT_MAX`.
    static let sharedIntegersLimit: Int64 = 10_000

    /// `OBJECT ENCODING|REFCOUNT|IDLETIME|FREQ key` and `OBJECT HELP`; null for a missing key.
    mutating func object(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let subcommand = arguments.bytes(at: 1)
        if arguments.count == 2 && ASCII.equals(subcommand, "help") { return Self.objectHelp }
        let isKnown = ["encoding", "refcount", "idletime", "freq"].contains { ASCII.equals(subcommand, $0) }
        guard arguments.count == 3, isKnown else { return Replies.unknownSubcommandOrArity(subcommand, of: "OBJECT") }
        let key = arguments.key(at: 2)
        guard let kind = liveKind(key, clock: clock) else { return Replies.nullBulk }
        if ASCII.equals(subcommand, "freq") { return Self.frequencyNotTracked }
        if ASCII.equals(subcommand, "idletime") { return Replies.zero }
        if case .value(let string) = liveValue(key, clock: clock) {
            if ASCII.equals(subcommand, "refcount") {
                let isShared = DecimalInteger.parse(string).map { $0 >= 0 && $0 < Self.sharedIntegersLimit } ?? false
                return RESPWriter.integer(isShared ? Int64(Int32.max) : 1)
            }
            return RESPWriter.bulk(Self.encoding(ofString: string))
        }
        if ASCII.equals(subcommand, "refcount") { return Replies.one }
        return RESPWriter.bulk(Self.encoding(of: entry(of: key).collection!, kind: kind))
    }

    /// The name of the encoding Redis 7.0 would give `string` as SET stores it.
    static func encoding(ofString string: ArraySlice<UInt8>) -> String {
        if DecimalInteger.parse(string) != nil { return "int" }
        return string.count <= embeddedStringBytesLimit ? "embstr" : "raw"
    }

    /// The name of the encoding Redis 7.0 would use for `collection`, of `kind`. O(1) for a large collection, which
    /// is past the compact limits by its count alone; O(limit) at most for a small one.
    static func encoding(of collection: CollectionValue, kind: ValueKind) -> String {
        func allMembers(_ isCompact: (ArraySlice<UInt8>, ArraySlice<UInt8>) -> Bool) -> Bool {
            collection.members.allSatisfy { isCompact($0.field, $0.value) }
        }
        switch kind {
        case .list: return "quicklist"
        case .hash:
            let isCompact =
                collection.count <= compactHashEntriesLimit
                && allMembers { $0.count <= compactHashValueBytesLimit && $1.count <= compactHashValueBytesLimit }
            return isCompact ? "listpack" : "hashtable"
        case .set:
            let isCompact =
                collection.count <= integerSetEntriesLimit
                && allMembers { field, _ in DecimalInteger.parse(field) != nil }
            return isCompact ? "intset" : "hashtable"
        case .sortedSet:
            let isCompact =
                collection.count <= compactSortedSetEntriesLimit
                && allMembers { field, _ in field.count <= compactSortedSetValueBytesLimit }
            return isCompact ? "listpack" : "skiplist"
        case .string: preconditionFailure("a string is no collection")
        }
    }

    private static let frequencyNotTracked = RESPWriter.error(
        "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching "
            + "between policies at runtime LRU and LFU data will take some time to adjust.")

    private static let objectHelp = RESPWriter.array(
        [
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        ].map { RESPWriter.simpleString($0) })
}
