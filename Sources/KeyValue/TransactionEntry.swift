/// How WATCH, UNWATCH and EXEC travel through the log: `KeyValueCommand`s under names no client can send.
///
/// A connection's MULTI queue and its watch live in its session (`Transaction`, `WatchToken`); only what must happen
/// in log order becomes an entry. The frontend sends these names into the log and refuses them from clients as
/// unknown commands, since it routes only `DataCommand` names there; so an entry under one of them was built by a
/// primary's frontend. The layouts, as argument lists:
/// - `lockstep-watch · token · key...`: the connection starts (or goes on) watching the keys, from this point of
///   the log on.
/// - `lockstep-unwatch · token · reply`: the connection stops watching; `reply` is what its UNWATCH, DISCARD or
///   aborted EXEC answers.
/// - `lockstep-exec · token or empty · item...`: the transaction, one entry, so both nodes apply it whole at one
///   point of the log. An item is a tag byte and its bytes: `0` and a `KeyValueCommand` encoding of a queued data
///   command, `1` and the reply a node-local command (PING, ECHO, CONFIG GET) gave when EXEC arrived, or `2` and the
///   encoding of a PUBLISH or PUBSUB, answered when the EXEC's reply is released (`ReleaseEnvelope`).
enum TransactionEntry: Equatable, Sendable {
    /// One queued command of an EXEC.
    enum Item: Equatable, Sendable {
        /// A data command's `KeyValueCommand` encoding: applied in turn by the entry.
        case command([UInt8])
        /// The reply of a node-local command, answered by the primary's frontend when EXEC arrived: it reveals no
        /// replicated state, and carrying it lets both nodes build the same EXEC reply.
        case reply([UInt8])
        /// A PUBLISH's or PUBSUB's `KeyValueCommand` encoding: its message leaves, and its reply is written, when the
        /// EXEC's reply is released, from the listeners then (`ReleaseEnvelope`); in the entry, so that the message
        /// keeps its place among the transaction's effects on both nodes.
        case atRelease([UInt8])
    }

    case watch(WatchToken, keys: [[UInt8]])
    case unwatch(WatchToken, reply: [UInt8])
    case exec(WatchToken?, items: [Item])

    /// The internal command names, found the way `DataCommand`s are.
    enum Kind: String, CaseIterable, Sendable {
        case watch = "lockstep-watch", unwatch = "lockstep-unwatch", exec = "lockstep-exec"

        init?(name: CommandName) {
            guard let kind = Self.byName[name] else { return nil }
            self = kind
        }

        private static let byName = CommandTable<Kind>()
    }

    private static let commandTag: UInt8 = 0, replyTag: UInt8 = 1, atReleaseTag: UInt8 = 2

    /// The entry's `KeyValueCommand` encoding.
    var encoded: [UInt8] {
        CommandArguments(encoding: arguments).encoding
    }

    /// The entry as an argument list: its name, then its fields.
    var arguments: [[UInt8]] {
        switch self {
        case .watch(let token, let keys):
            return [Array(Kind.watch.rawValue.utf8), token.bytes] + keys
        case .unwatch(let token, let reply):
            return [Array(Kind.unwatch.rawValue.utf8), token.bytes, reply]
        case .exec(let token, let items):
            var arguments = [Array(Kind.exec.rawValue.utf8), token?.bytes ?? []]
            arguments.reserveCapacity(2 + items.count)
            for item in items { arguments.append(Self.encoded(item)) }
            return arguments
        }
    }

    /// Bytes one item adds to an EXEC entry's encoding: its tag, its bytes and their length varint.
    static func encodedByteCount(ofItemBytes count: Int) -> Int {
        1 + count + Varint.byteCount(UInt64(count + 1))
    }

    private static func encoded(_ item: Item) -> [UInt8] {
        switch item {
        case .command(let bytes): [commandTag] + bytes
        case .reply(let bytes): [replyTag] + bytes
        case .atRelease(let bytes): [atReleaseTag] + bytes
        }
    }

    /// The entry `arguments` (already decoded, the name at 0) spell as `kind`; nil when its fields are malformed,
    /// which only a corrupt entry can be.
    init?(_ kind: Kind, arguments: CommandArguments) {
        guard arguments.count >= 2 else { return nil }
        let tokenBytes = arguments.bytes(at: 1)
        switch kind {
        case .watch:
            guard arguments.count >= 3, let token = WatchToken(tokenBytes) else { return nil }
            self = .watch(token, keys: (2..<arguments.count).map { arguments[$0] })
        case .unwatch:
            guard arguments.count == 3, let token = WatchToken(tokenBytes) else { return nil }
            self = .unwatch(token, reply: arguments[2])
        case .exec:
            var token: WatchToken?
            if !tokenBytes.isEmpty {
                guard let decoded = WatchToken(tokenBytes) else { return nil }
                token = decoded
            }
            var items: [Item] = []
            items.reserveCapacity(arguments.count - 2)
            for position in 2..<arguments.count {
                let bytes = arguments.bytes(at: position)
                guard let tag = bytes.first else { return nil }
                switch tag {
                case Self.commandTag: items.append(.command(Array(bytes.dropFirst())))
                case Self.replyTag: items.append(.reply(Array(bytes.dropFirst())))
                case Self.atReleaseTag: items.append(.atRelease(Array(bytes.dropFirst())))
                default: return nil
                }
            }
            self = .exec(token, items: items)
        }
    }
}

/// Names one watch of one connection: from its first WATCH until its EXEC, DISCARD, UNWATCH or RESET.
///
/// Unique across the pair's life without coordination: only the primary of an epoch puts watches in the log, a
/// client id is unique within its process, and the cycle counts the connection's watches. So a watch left behind by
/// a closed connection, or by the old primary's connections after a failover, is never mistaken for a new one.
struct WatchToken: Hashable, Sendable {
    var epoch: UInt64
    var clientID: UInt64
    var cycle: UInt64

    /// 24 bytes, little-endian: epoch, client id, cycle.
    var bytes: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        for value in [epoch, clientID, cycle] {
            for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        return bytes
    }

    init(epoch: UInt64, clientID: UInt64, cycle: UInt64) {
        self.epoch = epoch
        self.clientID = clientID
        self.cycle = cycle
    }

    /// The token `bytes` encode; nil unless they are exactly 24.
    init?(_ bytes: ArraySlice<UInt8>) {
        guard bytes.count == 24 else { return nil }
        var values: [UInt64] = [0, 0, 0]
        for (offset, byte) in bytes.enumerated() { values[offset / 8] |= UInt64(byte) << (8 * UInt64(offset % 8)) }
        self.init(epoch: values[0], clientID: values[1], cycle: values[2])
    }
}
