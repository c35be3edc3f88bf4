import Testing
@testable import KeyValue
import Replication

/// The sorted set commands, modelled on Redis's documented examples and `tests/unit/type/zset.tcl`, with Redis 7.0's
/// error texts and its printing of scores.
@Suite("sorted set commands answer as Redis does")
struct ZSetCommandTests {
    /// A reply array of bulk strings as its elements; nil elements for null bulks.
    func elements(_ reply: String) -> [String] {
        var lines = reply.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init).dropFirst()
        var result: [String] = []
        while let line = lines.first {
            lines = lines.dropFirst()
            if line == "$-1" {
                result.append("nil")
            } else if line.hasPrefix("$") {
                result.append(lines.first ?? "")
                lines = lines.dropFirst()
            } else if line.hasPrefix(":") {
                result.append(String(line.dropFirst()))
            }
        }
        return result
    }

    @Test("ZADD's documented example: a new member counts, an update does not, and ZRANGE lists by score, then member")
    func addExample() {
        var driver = StoreDriver()
        #expect(driver.run("ZADD", "myzset", "1", "one") == ":1\r\n")
        #expect(driver.run("ZADD", "myzset", "1", "uno") == ":1\r\n")
        #expect(driver.run("ZADD", "myzset", "2", "two", "3", "three") == ":2\r\n")
        #expect(elements(driver.run("ZRANGE", "myzset", "0", "-1", "WITHSCORES"))
            == ["one", "1", "uno", "1", "two", "2", "three", "3"])
        #expect(driver.run("ZADD", "myzset", "5", "one") == ":0\r\n")
        #expect(driver.run("ZCARD", "myzset") == ":4\r\n")
        #expect(driver.run("TYPE", "myzset") == "+zset\r\n")
        #expect(driver.run("ZCARD", "missing") == ":0\r\n")
    }

    @Test("ZADD's NX, XX, GT, LT, CH and INCR options, and the errors for combining them")
    func addOptions() {
        var driver = StoreDriver()
        driver.run("ZADD", "z", "10", "a")
        #expect(driver.run("ZADD", "z", "NX", "20", "a", "5", "b") == ":1\r\n")
        #expect(driver.run("ZSCORE", "z", "a") == "$2\r\n10\r\n")
        #expect(driver.run("ZADD", "z", "XX", "20", "a", "5", "c") == ":0\r\n")
        #expect(driver.run("ZSCORE", "z", "a") == "$2\r\n20\r\n")
        #expect(driver.run("ZSCORE", "z", "c") == "$-1\r\n")
        #expect(driver.run("ZADD", "z", "GT", "CH", "15", "a", "7", "b") == ":1\r\n")
        #expect(driver.run("ZADD", "z", "LT", "CH", "15", "a", "1", "d") == ":2\r\n")
        #expect(driver.run("ZADD", "z", "INCR", "2.5", "a") == "$4\r\n17.5\r\n")
        #expect(driver.run("ZADD", "z", "NX", "INCR", "1", "a") == "$-1\r\n")
        #expect(driver.run("ZINCRBY", "z", "-7.5", "a") == "$2\r\n10\r\n")
        #expect(driver.run("ZADD", "nokey", "XX", "1", "a") == ":0\r\n")
        #expect(driver.run("ZADD", "nokey", "XX", "INCR", "1", "a") == "$-1\r\n")
        #expect(driver.run("EXISTS", "nokey") == ":0\r\n")
        #expect(driver.run("ZADD", "z", "NX", "XX", "1", "a")
            == "-ERR XX and NX options at the same time are not compatible\r\n")
        for options in [["GT", "LT"], ["NX", "GT"], ["NX", "LT"]] {
            #expect(driver.run(arguments: (["ZADD", "z"] + options + ["1", "a"]).map(bytes))
                == bytes("-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"))
        }
        #expect(driver.run("ZADD", "z", "INCR", "1", "a", "2", "b")
            == "-ERR INCR option supports a single increment-element pair\r\n")
        #expect(driver.run("ZADD", "z", "1", "a", "2") == "-ERR syntax error\r\n")
        #expect(driver.run("ZADD", "z", "CH", "XX") == "-ERR syntax error\r\n")
        #expect(driver.run("ZADD", "z", "1", "x", "abc", "y") == "-ERR value is not a valid float\r\n")
        #expect(driver.run("ZSCORE", "z", "x") == "$-1\r\n", "a bad score changed the set")
        #expect(driver.run("ZADD", "z") == "-ERR wrong number of arguments for 'zadd' command\r\n")
    }

    @Test("scores print as Redis 7.0 prints them (%.17g, inf, -inf, -0 as 0) and NaN is refused")
    func scoreFormatting() {
        var driver = StoreDriver()
        driver.run("ZADD", "z", "1.1", "a", "+inf", "b", "-inf", "c", "-0", "d", "1e3", "e", "0x10", "f")
        #expect(driver.run("ZSCORE", "z", "a") == "$18\r\n1.1000000000000001\r\n")
        #expect(driver.run("ZSCORE", "z", "b") == "$3\r\ninf\r\n")
        #expect(driver.run("ZSCORE", "z", "c") == "$4\r\n-inf\r\n")
        #expect(driver.run("ZSCORE", "z", "d") == "$1\r\n0\r\n")
        #expect(driver.run("ZSCORE", "z", "e") == "$4\r\n1000\r\n")
        #expect(driver.run("ZSCORE", "z", "f") == "$2\r\n16\r\n")
        for bad in ["nan", "NaN", "", " 1", "1 ", "1e400", "1e-400", "1.5x"] {
            #expect(driver.run("ZADD", "z", bad, "g") == "-ERR value is not a valid float\r\n", "\(bad)")
        }
        #expect(driver.run("ZINCRBY", "z", "-inf", "b") == "-ERR resulting score is not a number (NaN)\r\n")
        #expect(driver.run("ZSCORE", "z", "b") == "$3\r\ninf\r\n")
        #expect(elements(driver.run("ZMSCORE", "z", "a", "nope", "c")) == ["1.1000000000000001", "nil", "-inf"])
        #expect(elements(driver.run("ZMSCORE", "missing", "a")) == ["nil"])
    }

    @Test("ZRANK and ZREVRANK count from either end; a missing member or key answers null")
    func ranks() {
        var driver = StoreDriver()
        driver.run("ZADD", "myzset", "1", "one", "2", "two", "3", "three")
        #expect(driver.run("ZRANK", "myzset", "three") == ":2\r\n")
        #expect(driver.run("ZREVRANK", "myzset", "three") == ":0\r\n")
        #expect(driver.run("ZRANK", "myzset", "four") == "$-1\r\n")
        #expect(driver.run("ZREVRANK", "missing", "one") == "$-1\r\n")
    }

    @Test("ZRANGE's documented examples: by rank, by score with exclusive bounds and LIMIT, reversed, and its errors")
    func rangeExamples() {
        var driver = StoreDriver()
        driver.run("ZADD", "myzset", "1", "one", "2", "two", "3", "three")
        #expect(elements(driver.run("ZRANGE", "myzset", "0", "-1")) == ["one", "two", "three"])
        #expect(elements(driver.run("ZRANGE", "myzset", "2", "3")) == ["three"])
        #expect(elements(driver.run("ZRANGE", "myzset", "-2", "-1")) == ["two", "three"])
        #expect(elements(driver.run("ZRANGE", "myzset", "0", "1", "WITHSCORES")) == ["one", "1", "two", "2"])
        #expect(elements(driver.run("ZRANGE", "myzset", "(1", "+inf", "BYSCORE", "LIMIT", "1", "1")) == ["three"])
        #expect(elements(driver.run("ZRANGE", "myzset", "(3", "1", "BYSCORE", "REV")) == ["two", "one"])
        #expect(elements(driver.run("ZREVRANGE", "myzset", "0", "-1")) == ["three", "two", "one"])
        #expect(elements(driver.run("ZRANGEBYSCORE", "myzset", "-inf", "+inf")) == ["one", "two", "three"])
        #expect(elements(driver.run("ZRANGEBYSCORE", "myzset", "(1", "(3")) == ["two"])
        #expect(elements(driver.run("ZREVRANGEBYSCORE", "myzset", "+inf", "-inf", "LIMIT", "1", "-1")) == ["two", "one"])
        #expect(driver.run("ZRANGEBYSCORE", "myzset", "(5", "(2") == "*0\r\n")
        #expect(driver.run("ZRANGE", "missing", "0", "-1") == "*0\r\n")
        #expect(driver.run("ZRANGE", "myzset", "0", "-1", "LIMIT", "0", "1")
            == "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n")
        #expect(driver.run("ZRANGE", "myzset", "-", "+", "BYLEX", "WITHSCORES")
            == "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n")
        #expect(driver.run("ZRANGE", "myzset", "0", "-1", "BYSCORE", "BYLEX") == "-ERR syntax error\r\n")
        #expect(driver.run("ZRANGEBYSCORE", "myzset", "a", "1") == "-ERR min or max is not a float\r\n")
        #expect(driver.run("ZRANGEBYSCORE", "myzset", "(nan", "1") == "-ERR min or max is not a float\r\n")
        #expect(driver.run("ZRANGE", "myzset", "a", "1") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("ZCOUNT", "myzset", "(1", "3") == ":2\r\n")
        #expect(driver.run("ZCOUNT", "myzset", "-inf", "+inf") == ":3\r\n")
        #expect(driver.run("ZCOUNT", "myzset", "x", "3") == "-ERR min or max is not a float\r\n")
    }

    @Test("ZRANGEBYLEX and ZLEXCOUNT's documented examples, and invalid lex bounds")
    func lexRanges() {
        var driver = StoreDriver()
        driver.run("ZADD", "myzset", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "f", "0", "g")
        #expect(elements(driver.run("ZRANGEBYLEX", "myzset", "-", "[c")) == ["a", "b", "c"])
        #expect(elements(driver.run("ZRANGEBYLEX", "myzset", "-", "(c")) == ["a", "b"])
        #expect(elements(driver.run("ZRANGEBYLEX", "myzset", "[aaa", "(g")) == ["b", "c", "d", "e", "f"])
        #expect(elements(driver.run("ZREVRANGEBYLEX", "myzset", "[c", "-")) == ["c", "b", "a"])
        #expect(elements(driver.run("ZRANGE", "myzset", "+", "[e", "BYLEX", "REV", "LIMIT", "1", "2")) == ["f", "e"])
        #expect(driver.run("ZLEXCOUNT", "myzset", "-", "+") == ":7\r\n")
        #expect(driver.run("ZLEXCOUNT", "myzset", "[b", "[f") == ":5\r\n")
        #expect(driver.run("ZLEXCOUNT", "myzset", "(b", "(b") == ":0\r\n")
        for bad in [["a", "+"], ["-", "c"], ["+x", "-"], ["", "+"]] {
            #expect(driver.run(arguments: (["ZRANGEBYLEX", "myzset"] + bad).map(bytes))
                == bytes("-ERR min or max not valid string range item\r\n"), "\(bad)")
        }
        #expect(driver.run("ZREMRANGEBYLEX", "myzset", "[b", "(e") == ":3\r\n")
        #expect(elements(driver.run("ZRANGE", "myzset", "0", "-1")) == ["a", "e", "f", "g"])
    }

    @Test("ZRANGESTORE stores the range (replacing any kind at the destination) and deletes it when empty")
    func rangeStore() {
        var driver = StoreDriver()
        driver.run("ZADD", "srczset", "1", "one", "2", "two", "3", "three", "4", "four")
        driver.run("SET", "dstzset", "a string")
        #expect(driver.run("ZRANGESTORE", "dstzset", "srczset", "2", "-1") == ":2\r\n")
        #expect(elements(driver.run("ZRANGE", "dstzset", "0", "-1", "WITHSCORES")) == ["three", "3", "four", "4"])
        #expect(driver.run("ZRANGESTORE", "dstzset", "srczset", "5", "10", "BYSCORE") == ":0\r\n")
        #expect(driver.run("EXISTS", "dstzset") == ":0\r\n")
        #expect(driver.run("ZRANGESTORE", "dstzset", "srczset", "0", "-1", "WITHSCORES") == "-ERR syntax error\r\n")
        driver.run("ZADD", "dstzset", "1", "x")
        #expect(driver.run("ZRANGESTORE", "dstzset", "missing", "0", "-1") == ":0\r\n")
        #expect(driver.run("EXISTS", "dstzset") == ":0\r\n")
    }

    @Test("ZREM, ZPOPMIN, ZPOPMAX and ZMPOP take members out, and the last one out deletes the key")
    func removeAndPop() {
        var driver = StoreDriver()
        driver.run("ZADD", "myzset", "1", "one", "2", "two", "3", "three")
        #expect(driver.run("ZREM", "myzset", "two", "four") == ":1\r\n")
        #expect(elements(driver.run("ZPOPMIN", "myzset")) == ["one", "1"])
        #expect(elements(driver.run("ZPOPMAX", "myzset", "5")) == ["three", "3"])
        #expect(driver.run("EXISTS", "myzset") == ":0\r\n")
        #expect(driver.run("ZPOPMIN", "myzset") == "*0\r\n")
        #expect(driver.run("ZPOPMIN", "myzset", "-1") == "-ERR value is out of range, must be positive\r\n")
        #expect(driver.run("ZPOPMAX", "myzset", "1", "2") == "-ERR syntax error\r\n")
        driver.run("ZADD", "myzset2", "4", "four", "5", "five", "6", "six")
        #expect(driver.run("ZMPOP", "1", "notsuchkey", "MIN") == "*-1\r\n")
        #expect(driver.run("ZMPOP", "2", "myzset", "myzset2", "MAX", "COUNT", "2")
            == "*2\r\n$7\r\nmyzset2\r\n*2\r\n*2\r\n$3\r\nsix\r\n$1\r\n6\r\n*2\r\n$4\r\nfive\r\n$1\r\n5\r\n")
        #expect(driver.run("ZMPOP", "0", "a", "MIN") == "-ERR numkeys should be greater than 0\r\n")
        #expect(driver.run("ZMPOP", "1", "myzset2", "MIN", "COUNT", "0") == "-ERR count should be greater than 0\r\n")
        #expect(driver.run("ZMPOP", "1", "myzset2", "MIDDLE") == "-ERR syntax error\r\n")
        #expect(driver.run("ZMPOP", "2", "myzset2", "MIN") == "-ERR syntax error\r\n")
    }

    @Test("ZREMRANGEBYRANK and ZREMRANGEBYSCORE remove their ranges and answer how many")
    func removeRanges() {
        var driver = StoreDriver()
        driver.run("ZADD", "myzset", "1", "one", "2", "two", "3", "three")
        #expect(driver.run("ZREMRANGEBYRANK", "myzset", "0", "1") == ":2\r\n")
        #expect(elements(driver.run("ZRANGE", "myzset", "0", "-1", "WITHSCORES")) == ["three", "3"])
        driver.run("ZADD", "myzset", "1", "one", "2", "two")
        #expect(driver.run("ZREMRANGEBYSCORE", "myzset", "-inf", "(2") == ":1\r\n")
        #expect(driver.run("ZREMRANGEBYSCORE", "myzset", "-inf", "+inf") == ":2\r\n")
        #expect(driver.run("EXISTS", "myzset") == ":0\r\n")
        #expect(driver.run("ZREMRANGEBYRANK", "myzset", "0", "-1") == ":0\r\n")
        #expect(driver.run("ZREMRANGEBYRANK", "myzset", "x", "1") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("ZUNIONSTORE, ZINTER, ZDIFF and ZINTERCARD: Redis's examples, weights, aggregates, and sets as inputs")
    func algebra() {
        var driver = StoreDriver()
        driver.run("ZADD", "zset1", "1", "one", "2", "two")
        driver.run("ZADD", "zset2", "1", "one", "2", "two", "3", "three")
        #expect(driver.run("ZUNIONSTORE", "out", "2", "zset1", "zset2", "WEIGHTS", "2", "3") == ":3\r\n")
        #expect(elements(driver.run("ZRANGE", "out", "0", "-1", "WITHSCORES")) == ["one", "5", "three", "9", "two", "10"])
        #expect(elements(driver.run("ZINTER", "2", "zset1", "zset2")) == ["one", "two"])
        #expect(elements(driver.run("ZINTER", "2", "zset1", "zset2", "WITHSCORES")) == ["one", "2", "two", "4"])
        #expect(elements(driver.run("ZUNION", "2", "zset1", "zset2", "AGGREGATE", "MAX", "WITHSCORES"))
            == ["one", "1", "two", "2", "three", "3"])
        #expect(elements(driver.run("ZDIFF", "2", "zset2", "zset1", "WITHSCORES")) == ["three", "3"])
        #expect(driver.run("ZDIFFSTORE", "out", "2", "zset1", "zset2") == ":0\r\n")
        #expect(driver.run("EXISTS", "out") == ":0\r\n")
        #expect(driver.run("ZINTERCARD", "2", "zset1", "zset2") == ":2\r\n")
        #expect(driver.run("ZINTERCARD", "2", "zset1", "zset2", "LIMIT", "1") == ":1\r\n")
        driver.run("SADD", "plain", "two", "three")
        #expect(elements(driver.run("ZINTER", "2", "plain", "zset2", "WITHSCORES")) == ["two", "3", "three", "4"])
        driver.run("ZADD", "infs", "inf", "one")
        driver.run("ZADD", "minfs", "-inf", "one")
        #expect(elements(driver.run("ZUNION", "2", "infs", "minfs", "WITHSCORES")) == ["one", "0"])
        #expect(driver.run("ZUNION", "0", "zset1") == "-ERR at least 1 input key is needed for 'zunion' command\r\n")
        #expect(driver.run("ZINTERSTORE", "o", "0", "zset1")
            == "-ERR at least 1 input key is needed for 'zinterstore' command\r\n")
        #expect(driver.run("ZUNION", "3", "zset1", "zset2") == "-ERR syntax error\r\n")
        #expect(driver.run("ZUNION", "2", "zset1", "zset2", "WEIGHTS", "1", "x") == "-ERR weight value is not a float\r\n")
        #expect(driver.run("ZUNION", "2", "zset1", "zset2", "AGGREGATE", "AVG") == "-ERR syntax error\r\n")
        #expect(driver.run("ZDIFF", "2", "zset1", "zset2", "WEIGHTS", "1", "1") == "-ERR syntax error\r\n")
        #expect(driver.run("ZUNIONSTORE", "o", "1", "zset1", "WITHSCORES") == "-ERR syntax error\r\n")
        #expect(driver.run("ZINTERCARD", "1", "zset1", "LIMIT", "-1") == "-ERR LIMIT can't be negative\r\n")
        #expect(driver.run("ZUNION", "x", "zset1") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("ZRANDMEMBER draws one recorded random value when it picks, none otherwise, and leaves the set alone")
    func randomMember() {
        var driver = StoreDriver()
        driver.run("ZADD", "z", "1", "one", "2", "two", "3", "three")
        driver.entropy.scriptedRandomValues = [4]
        #expect(driver.run("ZRANDMEMBER", "z") == "$3\r\ntwo\r\n")
        #expect(driver.lastRecorded.count == 1)
        let withScores = elements(driver.run("ZRANDMEMBER", "z", "-5", "WITHSCORES"))
        #expect(withScores.count == 10)
        for pair in stride(from: 0, to: 10, by: 2) {
            #expect(["one": "1", "two": "2", "three": "3"][withScores[pair]] == withScores[pair + 1])
        }
        #expect(Set(elements(driver.run("ZRANDMEMBER", "z", "5"))) == ["one", "two", "three"])
        #expect(driver.run("ZRANDMEMBER", "z", "0") == "*0\r\n")
        #expect(driver.lastRecorded.isEmpty)
        #expect(driver.run("ZRANDMEMBER", "missing", "3") == "*0\r\n")
        #expect(driver.run("ZRANDMEMBER", "missing") == "$-1\r\n")
        #expect(driver.run("ZRANDMEMBER", "z", "1", "WITHVALUES") == "-ERR syntax error\r\n")
        #expect(driver.run("ZRANDMEMBER", "z", "-9223372036854775808")
            == "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")
        #expect(driver.run("ZCARD", "z") == ":3\r\n")
    }

    @Test("sorted set commands on a string and other kinds' commands on a sorted set answer WRONGTYPE")
    func wrongTypes() {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        driver.run("ZADD", "z", "1", "a")
        for command in [
            ["ZADD", "s", "1", "a"], ["ZINCRBY", "s", "1", "a"], ["ZREM", "s", "a"], ["ZCARD", "s"], ["ZSCORE", "s", "a"],
            ["ZMSCORE", "s", "a"], ["ZRANK", "s", "a"], ["ZCOUNT", "s", "0", "1"], ["ZLEXCOUNT", "s", "-", "+"],
            ["ZRANGE", "s", "0", "1"], ["ZRANGESTORE", "d", "s", "0", "1"], ["ZPOPMIN", "s"], ["ZMPOP", "1", "s", "MIN"],
            ["ZRANDMEMBER", "s"], ["ZREMRANGEBYRANK", "s", "0", "1"], ["ZUNION", "2", "z", "s"],
            ["ZINTERSTORE", "d", "2", "z", "s"], ["ZINTERCARD", "1", "s"], ["GET", "z"], ["SADD", "z", "a"],
            ["HGET", "z", "a"], ["LPUSH", "z", "a"],
        ] {
            #expect(driver.run(arguments: command.map(bytes)) == bytes(SetCommandTests.wrongType), "\(command)")
        }
        #expect(driver.run("EXISTS", "d") == ":0\r\n")
    }

    @Test("sorted set reads are answered without a log entry (but ZRANDMEMBER), with the logged command's reply")
    func readsWithoutEntries() {
        var driver = StoreDriver()
        driver.run("ZADD", "z", "1", "a", "2", "b", "2.5", "c")
        driver.run("SADD", "s", "a", "c")
        let reads: [[String]] = [
            ["ZCARD", "z"], ["ZSCORE", "z", "c"], ["ZMSCORE", "z", "a", "x"], ["ZRANK", "z", "b"], ["ZREVRANK", "z", "b"],
            ["ZCOUNT", "z", "1", "(2.5"], ["ZLEXCOUNT", "z", "-", "+"], ["ZRANGE", "z", "0", "-1", "WITHSCORES"],
            ["ZRANGEBYSCORE", "z", "2", "3"], ["ZREVRANGE", "z", "0", "0"], ["ZRANGEBYLEX", "z", "-", "+"],
            ["ZUNION", "2", "z", "s", "WITHSCORES"], ["ZINTER", "2", "z", "s"], ["ZDIFF", "2", "z", "s"],
            ["ZINTERCARD", "2", "z", "s"], ["ZUNION", "0", "z"],
        ]
        for arguments in reads {
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            let logged = driver.run(arguments: arguments.map(bytes))
            if arguments == ["ZUNION", "0", "z"] {
                #expect(answered == nil, "a malformed ZUNION is left to apply")
            } else {
                #expect(answered.map(text) == text(logged), "\(arguments)")
            }
        }
        var context = ApplyContext.recording(from: driver.entropy)
        #expect(driver.store.readReply(KeyValueCommand.encode(["ZRANDMEMBER", "z"].map(bytes)), context: &context) == nil)
    }
}
