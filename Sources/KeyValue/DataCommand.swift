/// The commands the replicated store executes, with Redis's names and arities.
///
/// Shared by the frontend, which checks name and arity before anything goes into the log, and the store,
/// which checks again because a log entry is outside bytes too. Arity is Redis's convention: `n` means
/// exactly `n` arguments counting the name, `-n` means at least `n`.
enum DataCommand: String, CaseIterable, Sendable {
    case get, set, setnx, setex, psetex, getset, getdel
    case del, unlink, exists, type, keys, dbsize, randomkey, flushall, flushdb, select
    case incr, incrby, decr, decrby, append, strlen, mget, mset, msetnx
    case expire, pexpire, expireat, pexpireat, ttl, pttl, expiretime, pexpiretime, persist
    case time
    case hset, hsetnx, hget, hmget, hmset, hdel, hlen, hstrlen, hexists, hkeys, hvals, hgetall, hincrby, hincrbyfloat
    case hrandfield
    case sadd, srem, sismember, smismember, scard, smembers, spop, srandmember, smove, sinter, sinterstore, sunion
    case sunionstore, sdiff, sdiffstore, sintercard
    case lpush, rpush, lpushx, rpushx, lpop, rpop, llen, lrange, lindex, lset, linsert, lrem, ltrim, lpos, lmove
    case rpoplpush, lmpop
    case zadd, zincrby, zrem, zcard, zscore, zmscore, zrank, zrevrank, zcount, zlexcount, zrange, zrangebyscore
    case zrevrangebyscore, zrangebylex, zrevrangebylex, zrevrange, zrangestore, zpopmin, zpopmax, zmpop, zrandmember
    case zremrangebyrank, zremrangebyscore, zremrangebylex, zunion, zinter, zdiff, zunionstore, zinterstore
    case zdiffstore, zintercard
    case swapdb, move
    case getex, getrange, substr, setrange, incrbyfloat, setbit, getbit, bitcount, bitpos, bitop, lcs
    case rename, renamenx, copy, touch, object, memory, dump, restore
    case scan, hscan, sscan, zscan
    case blpop, brpop, brpoplpush, blmove, bzpopmin, bzpopmax, blmpop, bzmpop
    case sort, sortReadOnly = "sort_ro"

    var arity: Int {
        switch self {
        case .hset, .hmset: -4
        case .hsetnx, .hincrby, .hincrbyfloat: 4
        case .hget, .hstrlen, .hexists: 3
        case .hmget, .hdel: -3
        case .hlen, .hkeys, .hvals, .hgetall: 2
        case .hrandfield: -2
        case .sadd, .srem, .smismember, .sinterstore, .sunionstore, .sdiffstore, .sintercard: -3
        case .sismember: 3
        case .scard, .smembers: 2
        case .spop, .srandmember, .sinter, .sunion, .sdiff: -2
        case .smove: 4
        case .lpush, .rpush, .lpushx, .rpushx, .lpos: -3
        case .lpop, .rpop: -2
        case .llen: 2
        case .lindex, .rpoplpush: 3
        case .lrange, .lset, .lrem, .ltrim: 4
        case .linsert, .lmove: 5
        case .lmpop: -4
        case .zadd, .zunionstore, .zinterstore, .zdiffstore, .zrange, .zrangebyscore, .zrevrangebyscore, .zrangebylex,
            .zrevrangebylex, .zrevrange, .zmpop:
            -4
        case .zincrby, .zcount, .zlexcount, .zremrangebyrank, .zremrangebyscore, .zremrangebylex: 4
        case .zrem, .zmscore, .zunion, .zinter, .zdiff, .zintercard: -3
        case .zcard: 2
        case .zscore, .zrank, .zrevrank: 3
        case .zrangestore: -5
        case .zpopmin, .zpopmax, .zrandmember: -2
        case .get, .getdel, .type, .keys, .incr, .decr, .strlen, .ttl, .pttl, .expiretime, .pexpiretime, .persist,
            .select:
            2
        case .set, .mset, .msetnx, .expire, .pexpire, .expireat, .pexpireat: -3
        case .setnx, .getset, .incrby, .decrby, .append: 3
        case .setex, .psetex: 4
        case .del, .unlink, .exists, .mget: -2
        case .dbsize, .randomkey, .time: 1
        case .swapdb, .move: 3
        case .scan: -2
        case .hscan, .sscan, .zscan: -3
        case .flushall, .flushdb: -1
        case .getex, .bitcount, .touch, .object, .memory: -2
        case .dump: 2
        case .restore: -4
        case .bitop: -4
        case .getrange, .substr, .setrange, .setbit: 4
        case .incrbyfloat, .getbit, .rename, .renamenx: 3
        case .bitpos, .copy, .lcs: -3
        case .blpop, .brpop, .bzpopmin, .bzpopmax: -3
        case .brpoplpush: 4
        case .blmove: 6
        case .blmpop, .bzmpop: -5
        case .sort, .sortReadOnly: -2
        }
    }

    /// Whether the command only reads: a backup refusing it says it serves no reads, rather than that it takes no
    /// writes.
    var isRead: Bool {
        switch self {
        case .get, .mget, .exists, .type, .keys, .dbsize, .randomkey, .strlen, .ttl, .pttl, .expiretime, .pexpiretime,
            .time, .scan, .hscan, .sscan, .zscan:
            true
        case .hget, .hmget, .hlen, .hstrlen, .hexists, .hkeys, .hvals, .hgetall, .hrandfield: true
        case .sismember, .smismember, .scard, .smembers, .srandmember, .sinter, .sunion, .sdiff, .sintercard: true
        case .llen, .lrange, .lindex, .lpos: true
        case .zcard, .zscore, .zmscore, .zrank, .zrevrank, .zcount, .zlexcount, .zrange, .zrangebyscore,
            .zrevrangebyscore, .zrangebylex, .zrevrangebylex, .zrevrange, .zrandmember, .zunion, .zinter, .zdiff,
            .zintercard:
            true
        case .getrange, .substr, .getbit, .bitcount, .bitpos, .touch, .object, .memory, .lcs, .dump: true
        // SORT may STORE, so Redis flags it a write; SORT_RO is its read.
        case .sortReadOnly: true
        default: false
        }
    }

    /// Whether Redis flags the command `denyoom` (`src/commands/*.json`): it may add data, so a primary past
    /// `maxmemory` refuses it (`MemoryLimit`). SORT is one even without STORE, as in Redis.
    var isRefusedOutOfMemory: Bool {
        switch self {
        case .set, .setnx, .setex, .psetex, .getset, .append, .incr, .incrby, .decr, .decrby, .incrbyfloat, .mset,
            .msetnx, .setrange, .setbit, .bitop, .copy, .restore:
            true
        case .hset, .hsetnx, .hmset, .hincrby, .hincrbyfloat: true
        case .sadd, .sinterstore, .sunionstore, .sdiffstore: true
        case .lpush, .rpush, .lpushx, .rpushx, .lset, .linsert, .lmove, .rpoplpush, .blmove, .brpoplpush: true
        case .zadd, .zincrby, .zrangestore, .zunionstore, .zinterstore, .zdiffstore: true
        case .sort: true
        default: false
        }
    }

    /// Whether the command may wait for another client's command (`BlockingCommand`).
    var isBlocking: Bool {
        switch self {
        case .blpop, .brpop, .brpoplpush, .blmove, .bzpopmin, .bzpopmax, .blmpop, .bzmpop: true
        default: false
        }
    }

    /// Whether a request of `count` arguments (the name included) has the right number for this command.
    func accepts(argumentCount count: Int) -> Bool {
        arity >= 0 ? count == arity : count >= -arity
    }

    /// The command `name` spells.
    init?(name: CommandName) {
        guard let command = Self.byName[name] else { return nil }
        self = command
    }

    /// The command `name` spells and its position in `allCases`, which indexes its counters in `CommandStatistics`.
    static func entry(name: CommandName) -> (command: DataCommand, ordinal: Int)? {
        byName.entry(name)
    }

    private static let byName = CommandTable<DataCommand>()
}
