@testable import KeyValue
import Replication

/// The Redis commands the key-value simulation's clients send, on a few keys of each type, and the store's state as
/// the checkers read it.
///
/// Every write carries a token no other write to its key carries (RPUSH, SADD and HSET values), so whatever a reply or
/// the final state shows names the write that put it there; counters count INCRs, so a counter's value says how many
/// were applied. Two keys are only written together, by every write transaction: `pair:set` gets a token by SADD
/// and `pair:list` the same token by RPUSH, so at every instant they hold the same tokens, and a transaction that
/// reads both sees equal sizes unless a transaction was applied in part.
enum KeyValueModel {
    /// Few keys of each type, so that operations on one key overlap often enough for the checker to bite.
    static let lists = ["list:0", "list:1"], hashes = ["hash:0", "hash:1"], sets = ["set:0", "set:1"]
    static let counters = ["counter:0", "counter:1"]
    /// Sorted sets whose one member's score counts ZINCRBYs: counters whose replies are doubles in RESP3.
    static let scoreCounters = ["zset:0", "zset:1"]
    /// The member whose score `scoreCounters` count.
    static let scoreMember = "m"
    /// Keys written only by WATCH … MULTI … EXEC: a client reads the count there and writes it plus one, so every
    /// committed EXEC adds one, and two committed EXECs writing one value means a watch let a change through.
    static let watched = ["watched:0", "watched:1"]
    /// Keys always written with a TTL (`SET … PX`, `EXPIRE`), read back by GET, PTTL and EXISTS.
    static let expiring = ["ttl:0", "ttl:1"]
    /// The TTLs `SET … PX` gives, in milliseconds: short, so keys expire while clients still read them.
    static let expiringMilliseconds = 20...300
    /// `EXPIRE`'s TTL, in seconds: longer than every `SET … PX`, so an EXPIRE only ever postpones a key's expiry.
    static let expireSeconds = 1
    /// The fields of every hash: a field is a register that HSETs overwrite.
    static let fields = ["f0", "f1", "f2"]
    /// Written only by write transactions, together (above).
    static let pairSet = "pair:set", pairList = "pair:list"

    /// One command, as the checker understands it.
    enum Operation: Equatable {
        case rightPush(String, token: UInt64)
        case leftPop(String)
        /// BLPOP (`fromLeft`) or BRPOP of one key, waiting at most `timeoutMilliseconds`.
        case blockingPop(String, fromLeft: Bool, timeoutMilliseconds: Int)
        case range(String)
        case length(String)
        case hashSet(String, field: String, token: UInt64)
        case hashGet(String, field: String)
        case hashGetAll(String)
        case setAdd(String, token: UInt64)
        case cardinality(String)
        case isMember(String, token: UInt64)
        case members(String)
        case increment(String)
        case get(String)
        /// ZINCRBY of `scoreMember` by 1, and ZSCORE of it.
        case scoreIncrement(String)
        case score(String)
        /// WATCH of one key.
        case watch(String)
        /// SET of a watched key's count.
        case set(String, value: Int64)
        /// SET … PX of an expiring key.
        case setExpiring(String, token: UInt64, milliseconds: Int)
        /// EXPIRE of an expiring key by `expireSeconds`.
        case expire(String)
        case timeToLive(String)
        case exists(String)

        var key: String {
            switch self {
            case .rightPush(let key, _), .leftPop(let key), .blockingPop(let key, _, _), .range(let key),
                .length(let key), .hashSet(let key, _, _), .hashGet(let key, _), .hashGetAll(let key),
                .setAdd(let key, _), .cardinality(let key), .isMember(let key, _), .members(let key),
                .increment(let key), .get(let key), .scoreIncrement(let key), .score(let key), .watch(let key),
                .set(let key, _), .setExpiring(let key, _, _), .expire(let key), .timeToLive(let key),
                .exists(let key):
                key
            }
        }

        /// Whether the command may change the state.
        var isWrite: Bool {
            switch self {
            case .rightPush, .leftPop, .blockingPop, .hashSet, .setAdd, .increment, .scoreIncrement, .set,
                .setExpiring, .expire:
                true
            default: false
            }
        }

        /// Whether the command takes a list's element: LPOP, BLPOP or BRPOP.
        var isPop: Bool {
            switch self {
            case .leftPop, .blockingPop: true
            default: false
            }
        }

        /// The command's words, as a client sends them.
        var arguments: [String] {
            switch self {
            case .rightPush(let key, let token): ["RPUSH", key, String(token)]
            case .leftPop(let key): ["LPOP", key]
            case .blockingPop(let key, let fromLeft, let timeout):
                [fromLeft ? "BLPOP" : "BRPOP", key, String(Double(timeout) / 1_000)]
            case .range(let key): ["LRANGE", key, "0", "-1"]
            case .length(let key): ["LLEN", key]
            case .hashSet(let key, let field, let token): ["HSET", key, field, String(token)]
            case .hashGet(let key, let field): ["HGET", key, field]
            case .hashGetAll(let key): ["HGETALL", key]
            case .setAdd(let key, let token): ["SADD", key, String(token)]
            case .cardinality(let key): ["SCARD", key]
            case .isMember(let key, let token): ["SISMEMBER", key, String(token)]
            case .members(let key): ["SMEMBERS", key]
            case .increment(let key): ["INCR", key]
            case .get(let key): ["GET", key]
            case .scoreIncrement(let key): ["ZINCRBY", key, "1", KeyValueModel.scoreMember]
            case .score(let key): ["ZSCORE", key, KeyValueModel.scoreMember]
            case .watch(let key): ["WATCH", key]
            case .set(let key, let value): ["SET", key, String(value)]
            case .setExpiring(let key, let token, let milliseconds):
                ["SET", key, String(token), "PX", String(milliseconds)]
            case .expire(let key): ["EXPIRE", key, String(KeyValueModel.expireSeconds)]
            case .timeToLive(let key): ["PTTL", key]
            case .exists(let key): ["EXISTS", key]
            }
        }

        /// The command as the store applies it (`KeyValueCommand`), as the frontend sends a RESP2 client's command
        /// in database 0.
        var encoded: [UInt8] { KeyValueCommand.encode(arguments.map { Array($0.utf8) }) }

        /// The command as a client writes it on the wire: a RESP array of bulk strings.
        var wire: [UInt8] { KeyValueModel.wire(arguments) }
    }

    /// `words` as a client writes them: a RESP array of bulk strings.
    static func wire(_ words: [String]) -> [UInt8] {
        var bytes = Array("*\(words.count)\r\n".utf8)
        for word in words { bytes += Array("$\(word.utf8.count)\r\n\(word)\r\n".utf8) }
        return bytes
    }

    /// What a client sends: one command, a MULTI … EXEC transaction, or a step of a watched transaction.
    enum Request: Equatable {
        case single(Operation)
        case transaction([Operation])
        /// WATCH of one key, which the same connection reads next and then writes in a transaction.
        case watch(String)
        /// MULTI, the commands, EXEC, on a connection that watches a key: answered by the commands' replies, or by a
        /// null when the watched key changed.
        case watchedTransaction([Operation])
        /// MULTI, the commands, DISCARD, on a connection that watches a key: none of the commands takes effect.
        case discard([Operation])

        var operations: [Operation] {
            switch self {
            case .single(let operation): [operation]
            case .transaction(let operations), .watchedTransaction(let operations), .discard(let operations): operations
            case .watch(let key): [.watch(key)]
            }
        }

        /// Whether the reply is an EXEC's array of the commands' replies.
        var isTransaction: Bool {
            switch self {
            case .transaction, .watchedTransaction: true
            default: false
            }
        }

        /// What a client writes on the wire: the commands, inside MULTI and EXEC or DISCARD for a transaction.
        var wire: [UInt8] {
            switch self {
            case .single(let operation): operation.wire
            case .watch(let key): Operation.watch(key).wire
            case .transaction(let operations), .watchedTransaction(let operations):
                KeyValueModel.wire(["MULTI"]) + operations.flatMap(\.wire) + KeyValueModel.wire(["EXEC"])
            case .discard(let operations):
                KeyValueModel.wire(["MULTI"]) + operations.flatMap(\.wire) + KeyValueModel.wire(["DISCARD"])
            }
        }

        /// The bytes of the log entry the frontend makes of a plain request: the command itself, or for MULTI … EXEC
        /// the one `lockstep-exec` entry holding every queued command (`KeyValueClientProtocol+Transactions`),
        /// without a watch, from a RESP2 connection in database 0 (so neither a RESP3 nor a database wrapping).
        var encoded: [UInt8] {
            switch self {
            case .single(let operation):
                operation.encoded
            case .transaction(let operations):
                TransactionEntry.exec(nil, items: operations.map { .command($0.encoded) }).encoded
            case .watch, .watchedTransaction, .discard:
                preconditionFailure("a watched request's entries come from the frontend, which holds the watch")
            }
        }
    }

    /// The simulation's keys as one node's store holds them, read through the store's own commands.
    struct State: Equatable {
        var lists: [String: [UInt64]] = [:]
        /// Per hash, each field's token.
        var hashes: [String: [String: UInt64]] = [:]
        var sets: [String: Set<UInt64>] = [:]
        /// Counters, score counters and watched keys: each a count.
        var counters: [String: Int64] = [:]
        /// Replies that did not read as the key's type: the state cannot be judged where these are. (Expiring keys are
        /// not read: whether they live depends on when the state is read, which the history judges instead.)
        var unreadable: [String] = []

        init() {}

        /// Reads every key of `store` with LRANGE, HGETALL, SMEMBERS, GET and ZSCORE, on a copy (reads change nothing,
        /// but applying keeps this independent of which commands the store answers without an entry).
        init(reading store: KeyValueStore) {
            var copy = store
            var context = ApplyContext.recording(from: SimulatedEntropy(random: SeededRandom(seed: 1)))
            func read(_ words: [String]) -> RESPReply? {
                RESPReply(parsing: copy.apply(KeyValueCommand.encode(words.map { Array($0.utf8) }), context: &context))
            }
            for key in KeyValueModel.lists + [KeyValueModel.pairList] {
                lists[key] = read(["LRANGE", key, "0", "-1"])?.tokens
                if lists[key] == nil { unreadable.append(key) }
            }
            for key in KeyValueModel.hashes {
                hashes[key] = read(["HGETALL", key])?.fieldTokens
                if hashes[key] == nil { unreadable.append(key) }
            }
            for key in KeyValueModel.sets + [KeyValueModel.pairSet] {
                sets[key] = read(["SMEMBERS", key])?.tokens.map(Set.init)
                if sets[key] == nil { unreadable.append(key) }
            }
            let counted = (KeyValueModel.counters + KeyValueModel.watched).map { ($0, ["GET", $0]) }
                + KeyValueModel.scoreCounters.map { ($0, ["ZSCORE", $0, KeyValueModel.scoreMember]) }
            for (key, words) in counted {
                let reply = read(words)
                if reply == .null {
                    counters[key] = 0
                } else if let value = reply?.count {
                    counters[key] = value
                } else {
                    unreadable.append(key)
                }
            }
        }
    }
}
