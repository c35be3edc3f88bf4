import Testing
@testable import KeyValue
import Replication

/// The set commands, modelled on Redis's documented examples and `tests/unit/type/set.tcl`.
@Suite("set commands answer as Redis does")
struct SetCommandTests {
    static let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

    /// The members of a reply array, sorted: Redis leaves set order unspecified.
    func sortedMembers(_ reply: String) -> [String] {
        reply.split(separator: "\r\n").dropFirst().enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
            .sorted()
    }

    @Test("SADD counts new members, SREM removed ones, SCARD and SISMEMBER read, and the last SREM deletes the key")
    func addAndRemove() {
        var driver = StoreDriver()
        #expect(driver.run("SADD", "myset", "Hello") == ":1\r\n")
        #expect(driver.run("SADD", "myset", "World", "World", "Hello") == ":1\r\n")
        #expect(driver.run("SCARD", "myset") == ":2\r\n")
        #expect(driver.run("SISMEMBER", "myset", "World") == ":1\r\n")
        #expect(driver.run("SISMEMBER", "myset", "one") == ":0\r\n")
        #expect(driver.run("SMISMEMBER", "myset", "Hello", "notamember") == "*2\r\n:1\r\n:0\r\n")
        #expect(driver.run("SMISMEMBER", "nokey", "a") == "*1\r\n:0\r\n")
        #expect(sortedMembers(driver.run("SMEMBERS", "myset")) == ["Hello", "World"])
        #expect(driver.run("SREM", "myset", "Hello", "four") == ":1\r\n")
        #expect(driver.run("SREM", "myset", "World") == ":1\r\n")
        #expect(driver.run("EXISTS", "myset") == ":0\r\n")
        #expect(driver.run("SCARD", "myset") == ":0\r\n")
        #expect(driver.run("SMEMBERS", "myset") == "*0\r\n")
        #expect(driver.run("SREM", "nokey", "a") == ":0\r\n")
    }

    @Test("set commands on a string and string commands on a set answer WRONGTYPE")
    func wrongTypes() {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        driver.run("SADD", "set", "a")
        for command in [
            ["SADD", "s", "a"], ["SREM", "s", "a"], ["SISMEMBER", "s", "a"], ["SMISMEMBER", "s", "a"], ["SCARD", "s"],
            ["SMEMBERS", "s"], ["SPOP", "s"], ["SPOP", "s", "2"], ["SRANDMEMBER", "s"], ["SMOVE", "s", "set", "a"],
            ["SMOVE", "set", "s", "a"], ["SINTER", "set", "s"], ["SUNION", "s"], ["SDIFF", "set", "s"],
            ["SINTERSTORE", "d", "set", "s"], ["SINTERCARD", "2", "set", "s"], ["GET", "set"], ["HGET", "set", "a"],
        ] {
            #expect(driver.run(arguments: command.map(bytes)) == bytes(Self.wrongType), "\(command)")
        }
        #expect(driver.run("TYPE", "set") == "+set\r\n")
        #expect(driver.run("EXISTS", "d") == ":0\r\n")
    }

    @Test("SPOP removes random members with one recorded random value; a count pops distinct ones")
    func pop() {
        var driver = StoreDriver()
        driver.run("SADD", "myset", "one", "two", "three")
        driver.entropy.scriptedRandomValues = [2]
        #expect(driver.run("SPOP", "myset") == "$5\r\nthree\r\n")
        #expect(driver.lastRecorded.count == 1)
        driver.run("SADD", "myset", "four", "five")
        let popped = driver.run("SPOP", "myset", "3")
        #expect(popped.hasPrefix("*3\r\n"))
        #expect(driver.run("SCARD", "myset") == ":1\r\n")
        #expect(driver.run("SPOP", "myset", "5").hasPrefix("*1\r\n"))
        #expect(driver.run("EXISTS", "myset") == ":0\r\n")
        #expect(driver.run("SPOP", "myset") == "$-1\r\n")
        #expect(driver.run("SPOP", "myset", "2") == "*0\r\n")
        #expect(driver.lastRecorded.isEmpty)
        driver.run("SADD", "myset", "a")
        #expect(driver.run("SPOP", "myset", "0") == "*0\r\n")
        #expect(driver.run("SPOP", "myset", "-1") == "-ERR value is out of range, must be positive\r\n")
        #expect(driver.run("SPOP", "myset", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("SPOP", "myset", "1", "2") == "-ERR syntax error\r\n")
    }

    @Test("SRANDMEMBER leaves the set alone: distinct members for a positive count, repeats for a negative one")
    func randomMember() {
        var driver = StoreDriver()
        driver.run("SADD", "myset", "one", "two", "three")
        driver.entropy.scriptedRandomValues = [4]
        #expect(driver.run("SRANDMEMBER", "myset") == "$3\r\ntwo\r\n")
        #expect(sortedMembers(driver.run("SRANDMEMBER", "myset", "2")).count == 2)
        #expect(sortedMembers(driver.run("SRANDMEMBER", "myset", "9")) == ["one", "three", "two"])
        #expect(driver.run("SRANDMEMBER", "myset", "-5").hasPrefix("*5\r\n"))
        #expect(driver.run("SCARD", "myset") == ":3\r\n")
        #expect(driver.run("SRANDMEMBER", "nokey") == "$-1\r\n")
        #expect(driver.run("SRANDMEMBER", "nokey", "2") == "*0\r\n")
        #expect(driver.run("SRANDMEMBER", "myset", "-9223372036854775808")
            == "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")
        #expect(driver.run("SRANDMEMBER", "myset", "-9223372036854775807").hasPrefix("-ERR count is out of range"))
    }

    @Test("SMOVE moves a member, creating the destination and deleting an emptied source")
    func move() {
        var driver = StoreDriver()
        driver.run("SADD", "myset", "one", "two")
        driver.run("SADD", "myotherset", "three")
        #expect(driver.run("SMOVE", "myset", "myotherset", "two") == ":1\r\n")
        #expect(sortedMembers(driver.run("SMEMBERS", "myotherset")) == ["three", "two"])
        #expect(driver.run("SMOVE", "myset", "myotherset", "nope") == ":0\r\n")
        #expect(driver.run("SMOVE", "myset", "fresh", "one") == ":1\r\n")
        #expect(driver.run("EXISTS", "myset") == ":0\r\n")
        #expect(driver.run("SMOVE", "fresh", "fresh", "one") == ":1\r\n")
        #expect(driver.run("SMOVE", "fresh", "fresh", "two") == ":0\r\n")
        driver.run("SET", "str", "x")
        #expect(driver.run("SMOVE", "nokey", "str", "a") == ":0\r\n")
    }

    @Test("SINTER, SUNION and SDIFF combine sets, a missing key being empty; the STORE forms replace the destination")
    func algebra() {
        var driver = StoreDriver()
        driver.run("SADD", "key1", "a", "b", "c", "d")
        driver.run("SADD", "key2", "c")
        driver.run("SADD", "key3", "a", "c", "e")
        #expect(sortedMembers(driver.run("SINTER", "key1", "key2", "key3")) == ["c"])
        #expect(driver.run("SINTER", "key1", "nokey") == "*0\r\n")
        #expect(sortedMembers(driver.run("SUNION", "key1", "key2", "key3", "nokey")) == ["a", "b", "c", "d", "e"])
        #expect(sortedMembers(driver.run("SDIFF", "key1", "key2", "key3", "nokey")) == ["b", "d"])
        #expect(driver.run("SDIFF", "nokey", "key1") == "*0\r\n")
        driver.run("SET", "dest", "string")
        driver.run("EXPIRE", "dest", "100")
        #expect(driver.run("SUNIONSTORE", "dest", "key1", "key3") == ":5\r\n")
        #expect(driver.run("TYPE", "dest") == "+set\r\n")
        #expect(driver.run("TTL", "dest") == ":-1\r\n")
        #expect(driver.run("SINTERSTORE", "key1", "key1", "key3") == ":2\r\n")
        #expect(sortedMembers(driver.run("SMEMBERS", "key1")) == ["a", "c"])
        #expect(driver.run("SDIFFSTORE", "dest", "key2", "key1") == ":0\r\n")
        #expect(driver.run("EXISTS", "dest") == ":0\r\n")
        #expect(driver.run("SINTERSTORE", "dest", "key1", "nokey") == ":0\r\n")
    }

    @Test("SINTERCARD counts the intersection up to LIMIT and checks its arguments with Redis's errors")
    func intersectionCount() {
        var driver = StoreDriver()
        driver.run("SADD", "key1", "a", "b", "c", "d")
        driver.run("SADD", "key2", "c", "d", "e")
        #expect(driver.run("SINTERCARD", "2", "key1", "key2") == ":2\r\n")
        #expect(driver.run("SINTERCARD", "2", "key1", "key2", "LIMIT", "1") == ":1\r\n")
        #expect(driver.run("SINTERCARD", "2", "key1", "key2", "LIMIT", "0") == ":2\r\n")
        #expect(driver.run("SINTERCARD", "1", "nokey") == ":0\r\n")
        #expect(driver.run("SINTERCARD", "0", "key1") == "-ERR numkeys should be greater than 0\r\n")
        #expect(driver.run("SINTERCARD", "x", "key1") == "-ERR numkeys should be greater than 0\r\n")
        #expect(driver.run("SINTERCARD", "3", "key1", "key2")
            == "-ERR Number of keys can't be greater than number of args\r\n")
        #expect(driver.run("SINTERCARD", "2", "key1", "key2", "LIMIT", "-1") == "-ERR LIMIT can't be negative\r\n")
        #expect(driver.run("SINTERCARD", "2", "key1", "key2", "LIMIT") == "-ERR syntax error\r\n")
        #expect(driver.run("SINTERCARD", "1", "key1", "key2") == "-ERR syntax error\r\n")
    }

    @Test("set reads are answered without an entry, as the logged command answers them; SRANDMEMBER is logged")
    func readsWithoutEntry() {
        var driver = StoreDriver()
        driver.run("SADD", "a", "1", "2", "3")
        driver.run("SADD", "b", "2", "3", "4")
        for arguments in [
            ["SISMEMBER", "a", "1"], ["SMISMEMBER", "a", "1", "9"], ["SCARD", "a"], ["SMEMBERS", "a"],
            ["SINTER", "a", "b"], ["SUNION", "a", "b"], ["SDIFF", "a", "b"], ["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
        ] {
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answered != nil, "\(arguments) was not answered without an entry")
            #expect(answered == driver.run(arguments: arguments.map(bytes)), "\(arguments)")
        }
        var context = ApplyContext.recording(from: driver.entropy)
        #expect(driver.store.readReply(KeyValueCommand.encode([bytes("SRANDMEMBER"), bytes("a")]), context: &context) == nil)
        #expect(driver.store.readReply(KeyValueCommand.encode([bytes("SINTERCARD"), bytes("9"), bytes("a")]),
            context: &context) == nil)
    }

    @Test("distinct random picks are those of a full Fisher-Yates shuffle's prefix, without building the shuffle")
    func randomPicksMatchTheShuffle() {
        let cases = [(1, 5, 3), (4, 5, 9), (2, 3, 1), (50, 60, 7), (40, 3_000_000, 11), (200, 1_000, 2)]
        for (count, size, seed) in cases {
            var generator = SplitMix64(seed: UInt64(seed))
            var shuffled = Array(0..<size)
            for index in 0..<count {
                shuffled.swapAt(index, index + Int(generator.next() % UInt64(size - index)))
            }
            let picks = KeyValueStore.randomPositions(count: Int64(count), of: size, seed: UInt64(seed))
            #expect(picks == Array(shuffled.prefix(count)), "\(count) of \(size)")
            #expect(Set(picks).count == picks.count)
        }
        #expect(KeyValueStore.randomPositions(count: 7, of: 4, seed: 1) == [0, 1, 2, 3])
    }
}
