import Testing

@testable import KeyValue
import Replication

/// SORT and SORT_RO, modelled on Redis's documented examples and `tests/unit/sort.tcl` (7.0.15).
@Suite("SORT and SORT_RO answer as Redis 7.0 does")
struct SortCommandTests {
    /// An array of bulk strings, as RESP text.
    static func bulks(_ elements: [String]) -> String {
        "*\(elements.count)\r\n" + elements.map(RESP.bulk).joined()
    }

    static func bulks(_ elements: String...) -> String { bulks(elements) }

    static let notDouble = RESP.error("ERR One or more scores can't be converted into double")
    static let syntaxError = RESP.error("ERR syntax error")

    /// A node whose `tosort` list holds 3, 1, 2 (head first) with weights and hash weights that reverse them.
    static func weighted() -> ConnectedStore {
        var node = ConnectedStore()
        node.send(1, "RPUSH", "tosort", "3", "1", "2")
        node.send(1, "MSET", "weight_1", "30", "weight_2", "20", "weight_3", "10")
        for (element, weight) in [("1", "0.3"), ("2", "0.2"), ("3", "0.1")] {
            node.send(1, "HSET", "wobj_\(element)", "weight", weight, "name", "n\(element)")
        }
        return node
    }

    @Test("numeric by default, DESC reverses, ALPHA compares bytes, LIMIT takes offset and count (the documented uses)")
    func documentedExamples() {
        var node = ConnectedStore()
        node.send(1, "RPUSH", "mylist", "10", "2", "1.5", "-3", "+inf", "2e1")
        #expect(node.send(1, "SORT", "mylist") == Self.bulks("-3", "1.5", "2", "10", "2e1", "+inf"))
        #expect(node.send(1, "SORT", "mylist", "DESC") == Self.bulks("+inf", "2e1", "10", "2", "1.5", "-3"))
        #expect(node.send(1, "SORT", "mylist", "ALPHA") == Self.bulks("+inf", "-3", "1.5", "10", "2", "2e1"))
        #expect(node.send(1, "SORT", "mylist", "LIMIT", "1", "2") == Self.bulks("1.5", "2"))
        #expect(node.send(1, "sort", "mylist", "limit", "0", "2", "alpha", "desc") == Self.bulks("2e1", "2"))
        #expect(node.send(1, "SORT", "mylist", "DESC", "ASC") == node.send(1, "SORT", "mylist"), "the last one wins")
        node.send(1, "SADD", "myset", "b", "a", "c")
        #expect(node.send(1, "SORT", "myset", "ALPHA") == Self.bulks("a", "b", "c"), "a set sorts like a list")
        node.send(1, "ZADD", "zset", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e")
        #expect(node.send(1, "SORT", "zset", "ALPHA", "DESC") == Self.bulks("e", "d", "c", "b", "a"))
        #expect(node.send(1, "SORT_RO", "mylist", "LIMIT", "0", "1") == Self.bulks("-3"))
        #expect(node.send(1, "SORT", "missing") == "*0\r\n")
    }

    @Test("a numeric sort refuses what is no double; equal weights fall back to comparing the elements")
    func numericWeights() {
        var node = ConnectedStore()
        node.send(1, "SADD", "myset", "1", "2", "3", "4", "not-a-double")
        #expect(node.send(1, "SORT", "myset") == Self.notDouble)
        #expect(node.send(1, "SORT", "myset", "ALPHA", "LIMIT", "0", "1") == Self.bulks("1"))
        node.send(1, "RPUSH", "nan", "1", "nan")
        #expect(node.send(1, "SORT", "nan") == Self.notDouble)
        node.send(1, "RPUSH", "overflow", "1", "1e999")
        #expect(node.send(1, "SORT", "overflow") == Self.notDouble, "ERANGE")
        node.send(1, "RPUSH", "lax", " 2", "", "0x10", "1")
        #expect(node.send(1, "SORT", "lax") == Self.bulks("", "1", " 2", "0x10"), "strtod: spaces, empty, hex")
        node.send(1, "DEL", "myset")
        node.send(1, "SADD", "myset", "1", "2", "3", "4")
        node.send(1, "MSET", "score:1", "10", "score:2", "20", "score:3", "30", "score:4", "not-a-double")
        #expect(node.send(1, "SORT", "myset", "BY", "score:*") == Self.notDouble, "BY's values are weights too")
        #expect(node.send(1, "SORT", "myset", "BY", "score:*", "STORE", "dst") == Self.notDouble)
        #expect(node.send(1, "EXISTS", "dst") == RESP.integer(0), "an error stores nothing")
        // sort.tcl "SORT BY sub-sorts lexicographically if score is the same": no weight keys, all weigh 0.
        let members = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "l", "m", "n", "z", "aa", "aaa", "azz"]
        node.send(1, arguments: ["SADD", "letters"] + members)
        #expect(node.send(1, "SORT", "letters", "BY", "nokey:*") == Self.bulks(members.sorted()))
        let descending = Array(members.sorted().reversed())
        #expect(node.send(1, "SORT", "letters", "BY", "nokey:*", "DESC") == Self.bulks(descending))
        node.send(1, "RPUSH", "ties", "2.0", "2", "02", "1")
        #expect(node.send(1, "SORT", "ties") == Self.bulks("1", "02", "2", "2.0"))
    }

    @Test("BY weighs each element by a key or a hash field its pattern names; GET returns those values, # the element")
    func patterns() {
        var node = Self.weighted()
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*") == Self.bulks("3", "2", "1"))
        #expect(node.send(1, "SORT", "tosort", "BY", "wobj_*->weight") == Self.bulks("3", "2", "1"))
        #expect(node.send(1, "SORT", "tosort", "BY", "wobj_*->name", "ALPHA", "DESC") == Self.bulks("3", "2", "1"))
        #expect(
            node.send(1, "SORT", "tosort", "GET", "#", "GET", "weight_*", "GET", "wobj_*->name")
                == Self.bulks("1", "30", "n1", "2", "20", "n2", "3", "10", "n3"))
        #expect(
            node.send(
                1, "SORT", "tosort", "LIMIT", "0", "2", "GET", "nosuch_*", "GET", "constant", "GET", "wobj_*->nofield")
                == RESP.array(
                    RESP.nullBulk, RESP.nullBulk, RESP.nullBulk, RESP.nullBulk, RESP.nullBulk, RESP.nullBulk))
        let threeNils = RESP.array(RESP.nullBulk, RESP.nullBulk, RESP.nullBulk)
        #expect(node.send(1, "SORT", "tosort", "GET", "wobj_*") == threeNils, "a hash is no string")
        #expect(node.send(1, "SORT", "tosort", "GET", "weight_*->x") == threeNils, "a string is no hash")
        // sort.tcl: an arrow that ends the pattern stays part of the key.
        node.send(1, "SET", "x:1->", "100")
        #expect(node.send(1, "SORT", "tosort", "BY", "num", "GET", "x:*->", "LIMIT", "1", "1") == Self.bulks("100"))
        node.send(1, "HSET", "h-1", "f->g", "deep")
        #expect(node.send(1, "SORT_RO", "tosort", "BY", "nosort", "GET", "h-*->f->g") == RESP.array(
            RESP.nullBulk, RESP.bulk("deep"), RESP.nullBulk),
            "the first arrow after * splits key and field")
        // Missing weights: 0 numerically, and first with ALPHA.
        node.send(1, "DEL", "weight_2")
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*") == Self.bulks("2", "3", "1"))
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*", "ALPHA") == Self.bulks("2", "3", "1"))
    }

    @Test("a constant BY keeps a list's order (tail first with DESC), a sorted set's, and a set's own")
    func unsorted() {
        var node = ConnectedStore()
        node.send(1, "LPUSH", "testa", "2", "1", "4", "3", "5")
        #expect(node.send(1, "SORT", "testa", "BY", "nosort") == Self.bulks("5", "3", "4", "1", "2"))
        #expect(node.send(1, "SORT", "testa", "BY", "nosort", "DESC") == Self.bulks("2", "1", "4", "3", "5"))
        #expect(node.send(1, "SORT", "testa", "BY", "nosort", "LIMIT", "0", "3", "STORE", "testb") == RESP.integer(3))
        #expect(node.send(1, "LRANGE", "testb", "0", "-1") == Self.bulks("5", "3", "4"))
        node.send(1, "ZADD", "zset", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e")
        #expect(node.send(1, "SORT", "zset", "BY", "nosort", "ASC") == Self.bulks("a", "c", "e", "b", "d"))
        #expect(node.send(1, "SORT", "zset", "BY", "nosort", "DESC") == Self.bulks("d", "b", "e", "c", "a"))
        #expect(node.send(1, "SORT", "zset", "BY", "nosort", "DESC", "LIMIT", "0", "2") == Self.bulks("d", "b"))
        #expect(node.send(1, "SORT", "zset", "BY", "nosort", "LIMIT", "5", "10") == "*0\r\n")
        #expect(
            node.send(1, "SORT", "zset", "BY", "nosort", "LIMIT", "-10", "100") == Self.bulks("a", "c", "e", "b", "d"))
        // A set's own order is its insertion order with swap-remove: "c" fills the hole "a" leaves.
        node.send(1, "SADD", "myset", "a", "z", "b", "c")
        node.send(1, "SREM", "myset", "a")
        #expect(node.send(1, "SMEMBERS", "myset") == Self.bulks("c", "z", "b"))
        #expect(node.send(1, "SORT", "myset", "BY", "nosort") == Self.bulks("c", "z", "b"))
        #expect(
            node.send(1, "SORT", "myset", "BY", "nosort", "DESC") == Self.bulks("c", "z", "b"), "no order to reverse")
        // Stored, a set is sorted anyway (ALPHA), so that the stored list does not hang on the set's order.
        #expect(node.send(1, "SORT", "myset", "BY", "_", "STORE", "sorted") == RESP.integer(3))
        #expect(node.send(1, "LRANGE", "sorted", "0", "-1") == Self.bulks("b", "c", "z"))
    }

    @Test("LIMIT is clamped to the collection as Redis clamps it, and must be two integers")
    func limits() {
        var node = ConnectedStore()
        node.send(1, "RPUSH", "L", "2", "1", "0")
        #expect(node.send(1, "SORT", "L", "LIMIT", "-5", "2") == Self.bulks("0", "1"))
        #expect(node.send(1, "SORT", "L", "LIMIT", "1", "-1") == Self.bulks("1", "2"))
        #expect(node.send(1, "SORT", "L", "LIMIT", "1", "-7") == Self.bulks("1", "2"))
        #expect(node.send(1, "SORT", "L", "LIMIT", "0", "0") == "*0\r\n")
        #expect(node.send(1, "SORT", "L", "LIMIT", "3", "1") == "*0\r\n")
        #expect(node.send(1, "SORT", "L", "LIMIT", "9223372036854775807", "1") == "*0\r\n")
        #expect(node.send(1, "SORT_RO", "L", "BY", "a", "LIMIT", "2", "9223372036854775807") == Self.bulks("0"))
        let widest = node.send(1, "SORT", "L", "LIMIT", "-9223372036854775808", "9223372036854775807")
        #expect(widest == Self.bulks("0", "1", "2"))
        let notInteger = RESP.error("ERR value is not an integer or out of range")
        #expect(node.send(1, "SORT", "L", "LIMIT", "1", "x") == notInteger)
        #expect(node.send(1, "SORT", "L", "LIMIT", "1") == Self.syntaxError)
    }

    @Test("STORE writes a list over any kind and TTL, answers its length, and deletes the key for an empty result")
    func store() {
        var node = Self.weighted()
        node.send(1, "SET", "dst", "old", "EX", "100")
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*", "STORE", "dst") == RESP.integer(3))
        #expect(node.send(1, "LRANGE", "dst", "0", "-1") == Self.bulks("3", "2", "1"))
        #expect(node.send(1, "TTL", "dst") == RESP.integer(-1))
        #expect(node.send(1, "SORT", "tosort", "GET", "#", "GET", "nosuch_*", "STORE", "dst") == RESP.integer(6))
        #expect(node.send(1, "LRANGE", "dst", "0", "-1") == Self.bulks("1", "", "2", "", "3", ""), "nil as empty")
        #expect(node.send(1, "SORT", "tosort", "STORE", "ignored", "STORE", "last") == RESP.integer(3))
        #expect(node.send(1, "EXISTS", "ignored", "last") == RESP.integer(1), "the last STORE wins")
        #expect(node.send(1, "SORT", "tosort", "STORE", "tosort", "DESC") == RESP.integer(3))
        #expect(node.send(1, "LRANGE", "tosort", "0", "-1") == Self.bulks("3", "2", "1"), "its own source")
        // sort.tcl, github issues 224 and 227.
        #expect(node.send(1, "SORT", "nosuch", "STORE", "bar") == RESP.integer(0))
        #expect(node.send(1, "SORT", "tosort", "ALPHA", "LIMIT", "10", "10", "STORE", "zap") == RESP.integer(0))
        #expect(node.send(1, "SORT", "nosuch", "STORE", "dst") == RESP.integer(0))
        #expect(node.send(1, "EXISTS", "bar", "zap", "dst") == RESP.integer(0))
    }

    @Test("WRONGTYPE for a string or hash key, after the options; bad options and SORT_RO's STORE are syntax errors")
    func refusals() {
        var node = ConnectedStore()
        node.send(1, "SET", "s", "v")
        node.send(1, "HSET", "h", "f", "v")
        node.send(1, "RPUSH", "l", "1")
        let wrongType = RESP.error("WRONGTYPE Operation against a key holding the wrong kind of value")
        #expect(node.send(1, "SORT", "s") == wrongType)
        #expect(node.send(1, "SORT_RO", "h", "ALPHA") == wrongType)
        #expect(node.send(1, "SORT", "s", "BOGUS") == Self.syntaxError, "options are read before the key")
        #expect(node.send(1, "SORT", "l", "BY") == Self.syntaxError)
        #expect(node.send(1, "SORT", "l", "GET") == Self.syntaxError)
        #expect(node.send(1, "SORT", "l", "STORE") == Self.syntaxError)
        #expect(node.send(1, "SORT_RO", "foolist", "STORE", "bar") == Self.syntaxError)
        #expect(node.send(1, "SORT_RO", "l", "STORE", "bar") == Self.syntaxError)
        #expect(node.send(1, "EXISTS", "bar") == RESP.integer(0))
        #expect(node.send(1, "SORT") == RESP.error("ERR wrong number of arguments for 'sort' command"))
        #expect(node.send(1, "SORT", "s", "STORE", "d") == wrongType)
    }

    @Test("a thousand elements sort by key and by hash field with LIMIT as a plain sort of their weights does")
    func randomDataset() {
        var node = ConnectedStore()
        var generator = SplitMix64(seed: 20)
        var weights: [(element: String, weight: String)] = []
        var seen: Set<String> = []
        for index in 0..<1_000 {
            var weight: String
            repeat {
                let draw = generator.next()
                weight = draw % 2 == 0 ? String(draw % 1_000_000) : String(Double(draw % 1_000_000) / 1_000_000)
            } while !seen.insert(weight).inserted
            weights.append((String(index), weight))
        }
        node.send(1, arguments: ["RPUSH", "tosort"] + weights.map(\.element))
        node.send(1, arguments: ["MSET"] + weights.flatMap { ["weight_\($0.element)", $0.weight] })
        for (element, weight) in weights { node.send(1, "HSET", "wobj_\(element)", "weight", weight) }
        // Redis's order: by weight, equal weights by element.
        let expected = weights.sorted { (Double($0.weight)!, $0.element) < (Double($1.weight)!, $1.element) }
            .map(\.element)
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*") == Self.bulks(expected))
        #expect(node.send(1, "SORT", "tosort", "BY", "wobj_*->weight") == Self.bulks(expected))
        let limited = node.send(1, "SORT", "tosort", "BY", "weight_*", "LIMIT", "5", "5")
        #expect(limited == Self.bulks(Array(expected[5..<10])))
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*", "DESC", "LIMIT", "0", "3")
            == Self.bulks(Array(expected.reversed().prefix(3))))
        let numeric = weights.map(\.element).sorted { Int($0)! < Int($1)! }
        #expect(node.send(1, "SORT", "tosort") == Self.bulks(numeric))
    }

    @Test("a backup replaying the log stores what the primary stored, including a weight key deleted as it expired")
    func backupAgrees() {
        var node = Self.weighted()
        node.send(1, "SADD", "myset", "q", "w", "e", "r", "t", "y")
        node.send(1, "SREM", "myset", "w")
        node.send(1, "SET", "weight_3", "99", "PX", "10")
        node.primary.advance(milliseconds: 20)
        #expect(node.send(1, "SORT", "tosort", "BY", "weight_*", "STORE", "byweight") == RESP.integer(3))
        #expect(node.send(1, "LRANGE", "byweight", "0", "-1") == Self.bulks("3", "2", "1"), "the expired weight is 0")
        #expect(node.send(1, "EXISTS", "weight_3") == RESP.integer(0))
        #expect(node.send(1, "SORT", "myset", "BY", "nosort", "STORE", "letters") == RESP.integer(5))
        #expect(node.send(1, "SORT", "myset", "BY", "missing_*", "ALPHA", "STORE", "ties") == RESP.integer(5))
        #expect(node.send(1, "SORT", "ties", "BY", "nosort", "DESC", "GET", "#", "GET", "wobj_*->name", "STORE", "x")
            == RESP.integer(10))
        node.primary.store.checkInvariants()
        BlockingTests.expectBackupAgrees(node)
    }

    @Test("a BLPOP waiting on the destination is served by SORT ... STORE, in the SORT's entry")
    func servesBlockedPop() {
        var node = Self.weighted()
        #expect(node.send(2, "BLPOP", "dst", "0") == ConnectedStore.waiting)
        let entries = node.log.count
        #expect(node.send(1, "SORT", "tosort", "STORE", "dst") == RESP.integer(3), "the sorter hears the stored length")
        #expect(node.delivered[2] == [RESP.array(RESP.bulk("dst"), RESP.bulk("1"))])
        #expect(node.log.count == entries + 1, "served inside the SORT's entry")
        #expect(node.send(1, "LRANGE", "dst", "0", "-1") == Self.bulks("2", "3"))
        #expect(node.primary.store.blocked.isEmpty)
        BlockingTests.expectBackupAgrees(node)
    }

    @Test("SORT without STORE and SORT_RO are reads without an entry; STORE, and meeting an expired key, make entries")
    func readsWithoutEntry() {
        var driver = StoreDriver()
        driver.run("RPUSH", "tosort", "3", "1", "2")
        driver.run("MSET", "weight_1", "30", "weight_2", "20")
        driver.run("SET", "weight_3", "10", "PX", "100")
        func read(_ arguments: String...) -> String? {
            var context = ApplyContext.recording(from: driver.entropy)
            return driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context).map(text)
        }
        let reads: [[String]] = [
            ["SORT", "tosort"], ["SORT", "tosort", "BY", "weight_*", "GET", "weight_*"], ["SORT_RO", "tosort", "DESC"],
            ["SORT", "tosort", "BOGUS"], ["SORT_RO", "tosort", "STORE", "x"],
        ]
        for arguments in reads {
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answered.map(text) == text(driver.run(arguments: arguments.map(bytes))), "\(arguments)")
        }
        #expect(read("SORT", "tosort", "STORE", "dst") == nil, "a STORE writes")
        driver.advance(milliseconds: 200)
        #expect(read("SORT", "tosort", "GET", "weight_*") == nil, "weight_3 expired: its deletion goes in the log")
        #expect(read("SORT", "tosort") != nil, "no pattern, no expired key met")
        let logged = driver.run("SORT", "tosort", "GET", "weight_*")
        #expect(logged == RESP.array(RESP.bulk("30"), RESP.bulk("20"), RESP.nullBulk))
    }

    @Test("COMMAND INFO: SORT is a write, SORT_RO a read, both generic with one key")
    func commandInfo() {
        var node = ConnectedStore()
        #expect(
            node.send(1, "COMMAND", "INFO", "sort", "sort_ro")
                == RESP.array(
                    "*10\r\n$4\r\nsort\r\n:-2\r\n*1\r\n+write\r\n:1\r\n:1\r\n:1\r\n"
                        + "*2\r\n+@generic\r\n+@write\r\n*0\r\n*0\r\n*0\r\n",
                    "*10\r\n$7\r\nsort_ro\r\n:-2\r\n*1\r\n+readonly\r\n:1\r\n:1\r\n:1\r\n"
                        + "*2\r\n+@generic\r\n+@read\r\n*0\r\n*0\r\n*0\r\n"))
    }
}
