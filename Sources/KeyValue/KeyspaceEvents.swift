/// Redis's keyspace event classes (`notify-keyspace-events`): which events the store notifies and on which channels.
///
/// The bits are Redis's `NOTIFY_*` (server.h), so the flag letters, `A`'s meaning and the canonical text CONFIG GET
/// shows are Redis's `keyspaceEventsStringToFlags` and `keyspaceEventsFlagsToString` (notify.c) letter for letter.
/// `m` (key misses) and `d` (module events) are accepted and shown, but nothing here produces them: a miss is a read,
/// answered without an entry, and there are no modules.
public struct KeyspaceEvents: OptionSet, Sendable, Hashable {
    /// The bits, Redis's values.
    public var rawValue: UInt16
    /// The classes whose bits `rawValue` sets.
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// `K`: publish to `__keyspace@<db>__:<key>`, the event as the message.
    public static let keyspace = KeyspaceEvents(rawValue: 1 << 0)
    /// `E`: publish to `__keyevent@<db>__:<event>`, the key as the message.
    public static let keyevent = KeyspaceEvents(rawValue: 1 << 1)
    /// `g`: commands on any kind of key (DEL, EXPIRE, RENAME...).
    public static let generic = KeyspaceEvents(rawValue: 1 << 2)
    /// `$`: string commands.
    public static let string = KeyspaceEvents(rawValue: 1 << 3)
    /// `l`: list commands.
    public static let list = KeyspaceEvents(rawValue: 1 << 4)
    /// `s`: set commands.
    public static let set = KeyspaceEvents(rawValue: 1 << 5)
    /// `h`: hash commands.
    public static let hash = KeyspaceEvents(rawValue: 1 << 6)
    /// `z`: sorted set commands.
    public static let sortedSet = KeyspaceEvents(rawValue: 1 << 7)
    /// `x`: a key deleted because its TTL passed.
    public static let expired = KeyspaceEvents(rawValue: 1 << 8)
    /// `e`: a key evicted for memory; never produced, as nothing is evicted.
    public static let evicted = KeyspaceEvents(rawValue: 1 << 9)
    /// `t`: stream commands; never produced, as there are no streams.
    public static let stream = KeyspaceEvents(rawValue: 1 << 10)
    /// `m`: a key a command looked for and did not find; not produced (see above). Not part of `A`, as in Redis.
    public static let keyMiss = KeyspaceEvents(rawValue: 1 << 11)
    /// `d`: module events; never produced.
    public static let module = KeyspaceEvents(rawValue: 1 << 13)
    /// `n`: a key created. Not part of `A`, as in Redis.
    public static let new = KeyspaceEvents(rawValue: 1 << 14)
    /// `A`: Redis's `NOTIFY_ALL`, `g$lshzxetd`.
    public static let all: KeyspaceEvents = [
        .generic, .string, .list, .set, .hash, .sortedSet, .expired, .evicted, .stream, .module,
    ]

    /// The classes Redis's letters name, in any order and repeated at will; nil when a letter names none.
    public init?(letters: some Sequence<UInt8>) {
        self = []
        for letter in letters {
            if letter == UInt8(ascii: "A") {
                formUnion(.all)
            } else if let index = Self.classLetters.firstIndex(where: { $0.letter == letter }) {
                formUnion(Self.classLetters[index].events)
            } else {
                return nil
            }
        }
    }

    /// The canonical text: `A` for all of `A`'s classes, else each class's letter in Redis's order (`n` only without
    /// `A`, as Redis shows it), then `K`, `E`, `m`.
    public var letters: String {
        var text = ""
        if isSuperset(of: .all) {
            text.append("A")
        } else {
            for (letter, events) in Self.classLetters.prefix(Self.classLetterCount) where contains(events) {
                text.append(Character(Unicode.Scalar(letter)))
            }
        }
        for (letter, events) in Self.classLetters.dropFirst(Self.classLetterCount) where contains(events) {
            text.append(Character(Unicode.Scalar(letter)))
        }
        return text
    }

    /// Each letter but `A`: first the classes `A` stands in for (and `n`), in `keyspaceEventsFlagsToString`'s order,
    /// then the three it writes after them.
    private static let classLetters: [(letter: UInt8, events: KeyspaceEvents)] = [
        (UInt8(ascii: "g"), .generic), (UInt8(ascii: "$"), .string), (UInt8(ascii: "l"), .list),
        (UInt8(ascii: "s"), .set), (UInt8(ascii: "h"), .hash), (UInt8(ascii: "z"), .sortedSet),
        (UInt8(ascii: "x"), .expired), (UInt8(ascii: "e"), .evicted), (UInt8(ascii: "t"), .stream),
        (UInt8(ascii: "d"), .module), (UInt8(ascii: "n"), .new),
        (UInt8(ascii: "K"), .keyspace), (UInt8(ascii: "E"), .keyevent), (UInt8(ascii: "m"), .keyMiss),
    ]
    private static let classLetterCount = 11

    /// Redis's reason, after CONFIG SET's usual prefix, for letters that name no class.
    static let invalidLettersReason = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
}
