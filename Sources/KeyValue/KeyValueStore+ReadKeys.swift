/// Which reads of collections are answered without a log entry (`KeyValueStore+Reads.swift`), and which of a read's
/// arguments are keys (each is checked for expiry first, as GET's key is).
extension KeyValueStore {
    /// Whether `command` is a read of a collection that may be answered without an entry: every one but HRANDFIELD,
    /// SRANDMEMBER and ZRANDMEMBER, which draw recorded randomness as RANDOMKEY does.
    static func isCollectionReadWithoutEntry(_ command: DataCommand) -> Bool {
        switch command {
        case .hget, .hmget, .hlen, .hstrlen, .hexists, .hkeys, .hvals, .hgetall, .hscan, .sscan, .zscan: true
        case .sismember, .smismember, .scard, .smembers, .sinter, .sunion, .sdiff, .sintercard: true
        case .llen, .lrange, .lindex, .lpos: true
        case .zcard, .zscore, .zmscore, .zrank, .zrevrank, .zcount, .zlexcount, .zrange, .zrangebyscore,
            .zrevrangebyscore, .zrangebylex, .zrevrangebylex, .zrevrange, .zunion, .zinter, .zdiff, .zintercard:
            true
        default: false
        }
    }

    /// The positions of the keys a read names; nil when the arguments do not say (a malformed SINTERCARD or ZUNION),
    /// which leaves the command to `apply` and its error reply.
    func readKeyPositions(_ command: DataCommand, _ arguments: CommandArguments) -> Range<Int>? {
        switch command {
        case .mget, .exists, .touch, .sinter, .sunion, .sdiff, .del, .unlink: 1..<arguments.count
        case .object: arguments.count == 3 ? 2..<3 : 1..<1
        case .memory: arguments.count >= 3 && ASCII.equals(arguments.bytes(at: 1), "usage") ? 2..<3 : 1..<1
        case .lcs: 1..<3
        case .dbsize, .scan: 1..<1
        case .sintercard, .zunion, .zinter, .zdiff, .zintercard:
            DecimalInteger.parse(arguments.bytes(at: 1)).flatMap { count in
                count >= 1 && count <= arguments.count - 2 ? 2..<(2 + Int(count)) : nil
            }
        default: 1..<2
        }
    }
}

extension DataCommand {
    /// The kind of collection the command works on; nil for the string and keyspace commands.
    var collectionKind: ValueKind? {
        switch self {
        case .hset, .hsetnx, .hget, .hmget, .hmset, .hdel, .hlen, .hstrlen, .hexists, .hkeys, .hvals, .hgetall,
            .hincrby, .hincrbyfloat, .hrandfield, .hscan:
            .hash
        case .sadd, .srem, .sismember, .smismember, .scard, .smembers, .spop, .srandmember, .smove, .sinter,
            .sinterstore, .sunion, .sunionstore, .sdiff, .sdiffstore, .sintercard, .sscan:
            .set
        case .lpush, .rpush, .lpushx, .rpushx, .lpop, .rpop, .llen, .lrange, .lindex, .lset, .linsert, .lrem, .ltrim,
            .lpos, .lmove, .rpoplpush, .lmpop, .blpop, .brpop, .brpoplpush, .blmove, .blmpop:
            .list
        case .zadd, .zincrby, .zrem, .zcard, .zscore, .zmscore, .zrank, .zrevrank, .zcount, .zlexcount, .zrange,
            .zrangebyscore, .zrevrangebyscore, .zrangebylex, .zrevrangebylex, .zrevrange, .zrangestore, .zpopmin,
            .zpopmax, .zmpop, .zrandmember, .zremrangebyrank, .zremrangebyscore, .zremrangebylex, .zunion, .zinter,
            .zdiff, .zunionstore, .zinterstore, .zdiffstore, .zintercard, .zscan, .bzpopmin, .bzpopmax, .bzmpop:
            .sortedSet
        default: nil
        }
    }
}
