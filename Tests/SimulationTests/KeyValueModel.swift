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
    /// The fields of every hash: a field is a register that HSETs overwrite.
    static let fields = ["f0", "f1", "f2"]
    /// Written only by write transactions, together (above).
    static let pairSet = "pair:set", pairList = "pair:list"

    /// One command, as the checker understands it.
    enum Operation: Equatable {
        case rightPush(String, token: UInt64)
        case leftPop(String)
        case range(String)
        case length(String)
        case hashSet(String, field: String, token: UInt64)
        case hashGet(String, field: String)
        case hashGetAll(String)
        case setAdd(String, token: UInt64)
        case cardinality(String)
        case isMember(String, token: UInt64)
        case increment(String)
        case get(String)

        var key: String {
            switch self {
            case .rightPush(let key, _), .leftPop(let key), .range(let key), .length(let key), .hashSet(let key, _, _),
                .hashGet(let key, _), .hashGetAll(let key), .setAdd(let key, _), .cardinality(let key),
                .isMember(let key, _), .increment(let key), .get(let key):
                key
            }
        }

        /// Whether the command may change the state.
        var isWrite: Bool {
            switch self {
            case .rightPush, .leftPop, .hashSet, .setAdd, .increment: true
            default: false
            }
        }

        /// The command's words, as a client sends them.
        var arguments: [String] {
            switch self {
            case .rightPush(let key, let token): ["RPUSH", key, String(token)]
            case .leftPop(let key): ["LPOP", key]
            case .range(let key): ["LRANGE", key, "0", "-1"]
            case .length(let key): ["LLEN", key]
            case .hashSet(let key, let field, let token): ["HSET", key, field, String(token)]
            case .hashGet(let key, let field): ["HGET", key, field]
            case .hashGetAll(let key): ["HGETALL", key]
            case .setAdd(let key, let token): ["SADD", key, String(token)]
            case .cardinality(let key): ["SCARD", key]
            case .isMember(let key, let token): ["SISMEMBER", key, String(token)]
            case .increment(let key): ["INCR", key]
            case .get(let key): ["GET", key]
            }
        }

        /// The command as the store applies it (`KeyValueCommand`), as the frontend sends a RESP2 client's command
        /// in database 0.
        var encoded: [UInt8] { KeyValueCommand.encode(arguments.map { Array($0.utf8) }) }
    }

    /// What a client sends: one command, or a MULTI … EXEC transaction.
    enum Request: Equatable {
        case single(Operation)
        case transaction([Operation])

        var operations: [Operation] {
            switch self {
            case .single(let operation): [operation]
            case .transaction(let operations): operations
            }
        }

        /// The bytes of the log entry the frontend makes of it: the command itself, or for MULTI … EXEC the one
        /// `lockstep-exec` entry holding every queued command (`KeyValueClientProtocol+Transactions`), without a
        /// watch, from a RESP2 connection in database 0 (so neither a RESP3 nor a database wrapping).
        var encoded: [UInt8] {
            switch self {
            case .single(let operation):
                operation.encoded
            case .transaction(let operations):
                TransactionEntry.exec(nil, items: operations.map { .command($0.encoded) }).encoded
            }
        }
    }

    /// The simulation's keys as one node's store holds them, read through the store's own commands.
    struct State: Equatable {
        var lists: [String: [UInt64]] = [:]
        /// Per hash, each field's token.
        var hashes: [String: [String: UInt64]] = [:]
        var sets: [String: Set<UInt64>] = [:]
        var counters: [String: Int64] = [:]
        /// Replies that did not read as the key's type: the state cannot be judged where these are.
        var unreadable: [String] = []

        init() {}

        /// Reads every key of `store` with LRANGE, HGETALL, SMEMBERS and GET, on a copy (reads change nothing, but
        /// applying keeps this independent of which commands the store answers without an entry).
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
            for key in KeyValueModel.counters {
                let reply = read(["GET", key])
                if reply == .null {
                    counters[key] = 0
                } else if case .bulk(let bytes)? = reply, let value = Int64(String(decoding: bytes, as: UTF8.self)) {
                    counters[key] = value
                } else {
                    unreadable.append(key)
                }
            }
        }
    }
}
