import Testing
@testable import KeyValue
import Replication

/// Collections on a replaying backup and through a snapshot: a seeded workload per family, replayed, must end with
/// the primary's replies, digest and snapshot bytes, and a snapshot taken midway must answer the rest alike.
@Suite("collections replicate and snapshot exactly")
struct CollectionReplicationTests {
    enum Family: String, CaseIterable { case hash, set, list, sortedSet }

    /// A seeded workload mixing one family's commands with strings, TTLs, deletes, ticks and the clock.
    static func workload(_ family: Family, seed: UInt64, commands: Int) -> StoreDriver {
        var driver = StoreDriver()
        var generator = SplitMix64(seed: seed)
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for _ in 0..<commands {
            let key = "key\(pick(12))"
            switch pick(10) {
            case 0: driver.run("SET", key, "s\(pick(100))")
            case 1: driver.run("PEXPIRE", key, "\(1 + pick(40))")
            case 2: driver.run("DEL", key)
            case 3: driver.tick()
            case 4: driver.advance(milliseconds: Int64(pick(10)))
            case 5: driver.run("RANDOMKEY")
            default: driver.run(arguments: command(family, key: key, pick: pick).map(bytes))
            }
        }
        return driver
    }

    static func command(_ family: Family, key: String, pick: (Int) -> Int) -> [String] {
        let member = "m\(pick(30))"
        switch family {
        case .hash:
            switch pick(9) {
            case 0: return ["HSET", key, member, "v\(pick(1000))", "m\(pick(30))", String(repeating: "x", count: pick(400))]
            case 1: return ["HDEL", key, member, "m\(pick(30))"]
            case 2: return ["HINCRBY", key, member, "\(pick(100) - 50)"]
            case 3: return ["HINCRBYFLOAT", key, member, "\(pick(100)).25"]
            case 4: return ["HRANDFIELD", key, "\(pick(10) - 5)", "WITHVALUES"]
            case 5: return ["HRANDFIELD", key]
            case 6: return ["HGETALL", key]
            case 7: return ["HSETNX", key, member, "n"]
            default: return ["HMGET", key, member, "m\(pick(30))"]
            }
        case .set:
            let other = "key\(pick(12))"
            switch pick(10) {
            case 0, 1: return ["SADD", key, member, "m\(pick(30))", "m\(pick(30))"]
            case 2: return ["SREM", key, member, "m\(pick(30))"]
            case 3: return ["SPOP", key] + (pick(2) == 0 ? [] : ["\(pick(4))"])
            case 4: return ["SRANDMEMBER", key, "\(pick(10) - 5)"]
            case 5: return ["SMOVE", key, other, member]
            case 6: return [["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"][pick(3)], "key\(pick(12))", key, other]
            case 7: return ["SMEMBERS", key]
            case 8: return ["SINTERCARD", "2", key, other]
            default: return ["SUNION", key, other]
            }
        case .list:
            let other = "key\(pick(12))"
            switch pick(12) {
            case 0, 1: return ["LPUSH", key, member, "m\(pick(30))"]
            case 2, 3: return ["RPUSH", key, member]
            case 4: return [["LPOP", "RPOP"][pick(2)], key] + (pick(2) == 0 ? [] : ["\(pick(3))"])
            case 5: return ["LSET", key, "\(pick(6) - 3)", member]
            case 6: return ["LINSERT", key, ["BEFORE", "AFTER"][pick(2)], member, "i\(pick(9))"]
            case 7: return ["LREM", key, "\(pick(5) - 2)", member]
            case 8: return ["LTRIM", key, "\(pick(4))", "\(pick(8) - 2)"]
            case 9: return ["LMOVE", key, other, ["LEFT", "RIGHT"][pick(2)], ["LEFT", "RIGHT"][pick(2)]]
            case 10: return ["LPOS", key, member, "COUNT", "0"]
            default: return ["LRANGE", key, "0", "-1"]
            }
        case .sortedSet:
            let other = "key\(pick(12))"
            let score = ["\(pick(20) - 10)", "\(pick(100)).5", "inf", "-inf"][pick(4)]
            switch pick(16) {
            case 0, 1: return ["ZADD", key, score, member, "\(pick(9))", "m\(pick(30))"]
            case 2: return ["ZADD", key] + [["NX"], ["XX", "CH"], ["GT"], ["LT", "INCR"]][pick(4)] + [score, member]
            case 3: return ["ZINCRBY", key, score, member]
            case 4: return ["ZREM", key, member, "m\(pick(30))"]
            case 5: return [["ZPOPMIN", "ZPOPMAX"][pick(2)], key] + (pick(2) == 0 ? [] : ["\(pick(4))"])
            case 6: return ["ZMPOP", "2", key, other, ["MIN", "MAX"][pick(2)], "COUNT", "\(1 + pick(3))"]
            case 7: return ["ZRANDMEMBER", key, "\(pick(10) - 5)", "WITHSCORES"]
            case 8: return ["ZRANDMEMBER", key]
            case 9: return ["ZRANGESTORE", "key\(pick(12))", key, "\(pick(6) - 3)", "(\(pick(10))", "BYSCORE"]
            case 10:
                let command = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"][pick(3)]
                return [command, "key\(pick(12))", "2", key, other] + (command == "ZDIFFSTORE" ? [] : ["WEIGHTS", "2", "-1"])
            case 11: return ["ZREMRANGEBYSCORE", key, "-inf", "(\(pick(10) - 5)"]
            case 12: return ["ZREMRANGEBYRANK", key, "\(pick(4))", "\(pick(6) - 3)"]
            case 13: return ["ZRANGE", key, "0", "-1", "WITHSCORES"]
            case 14: return ["ZRANK", key, member]
            default: return ["ZUNION", "2", key, other, "AGGREGATE", "MIN", "WITHSCORES"]
            }
        }
    }

    @Test("a backup replaying the log ends with the primary's replies, digest and snapshot",
        arguments: Family.allCases, [1, 2] as [UInt64])
    func replayMatches(family: Family, seed: UInt64) {
        let primary = Self.workload(family, seed: seed, commands: 2_500)
        var backup = KeyValueStore()
        let (replies, divergence) = replay(primary.log, into: &backup)
        #expect(divergence == nil)
        #expect(replies == primary.replies, "the backup answered differently")
        #expect(backup.digest() == primary.store.digest())
        #expect(backup.encoded() == primary.store.encoded(), "the backup's snapshot differs")
        backup.checkInvariants()
    }

    @Test("a snapshot taken midway restores to a store that answers the rest of the log alike",
        arguments: Family.allCases)
    func snapshotMidway(family: Family) throws {
        var primary = Self.workload(family, seed: 9, commands: 1_500)
        let restored = try KeyValueStore.restored(from: primary.store.encoded(byteLimit: 61), chunkBytes: 37)
        restored.checkInvariants()
        #expect(restored.digest() == primary.store.digest())
        #expect(restored.keyOrder == primary.store.keyOrder)
        let start = primary.log.count, repliesStart = primary.replies.count
        var generator = SplitMix64(seed: 10)
        for _ in 0..<500 {
            primary.run(arguments: Self.command(family, key: "key\(generator.next() % 12)", pick: { bound in
                Int(generator.next() % UInt64(bound))
            }).map(bytes))
        }
        var follower = restored
        let (replies, divergence) = replay(Array(primary.log[start...]), into: &follower)
        #expect(divergence == nil)
        // Compared as counts and a flag rather than `==` on the arrays: a failure would print megabytes.
        #expect(replies.count == primary.replies.count - repliesStart)
        #expect(replies == Array(primary.replies[repliesStart...]), "the follower answered differently")
        #expect(follower.encoded() == primary.store.encoded(), "the follower's snapshot differs")
    }
}
