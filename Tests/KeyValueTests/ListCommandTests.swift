import Testing
@testable import KeyValue
import Replication

/// The list commands without blocking, modelled on Redis's documented examples and `tests/unit/type/list.tcl`.
@Suite("list commands answer as Redis does")
struct ListCommandTests {
    static let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

    /// A driver whose `mylist` holds `elements`, head first.
    func list(_ elements: String...) -> StoreDriver {
        var driver = StoreDriver()
        driver.run(arguments: (["RPUSH", "mylist"] + elements).map(bytes))
        return driver
    }

    func range(_ driver: inout StoreDriver, _ key: String = "mylist") -> String {
        driver.run("LRANGE", key, "0", "-1")
    }

    @Test("LPUSH and RPUSH answer the new length; the X forms push only onto an existing list")
    func push() {
        var driver = StoreDriver()
        #expect(driver.run("RPUSH", "mylist", "hello") == ":1\r\n")
        #expect(driver.run("RPUSH", "mylist", "world") == ":2\r\n")
        #expect(driver.run("LPUSH", "mylist", "a", "b") == ":4\r\n")
        #expect(range(&driver) == "*4\r\n$1\r\nb\r\n$1\r\na\r\n$5\r\nhello\r\n$5\r\nworld\r\n")
        #expect(driver.run("LPUSHX", "mylist", "x") == ":5\r\n")
        #expect(driver.run("RPUSHX", "nolist", "x") == ":0\r\n")
        #expect(driver.run("LPUSHX", "nolist", "x") == ":0\r\n")
        #expect(driver.run("EXISTS", "nolist") == ":0\r\n")
        #expect(driver.run("TYPE", "mylist") == "+list\r\n")
    }

    @Test("LPOP and RPOP take one element or, with a count, up to that many; the last one deletes the key")
    func pop() {
        var driver = list("one", "two", "three", "four", "five")
        #expect(driver.run("LPOP", "mylist") == "$3\r\none\r\n")
        #expect(driver.run("RPOP", "mylist") == "$4\r\nfive\r\n")
        #expect(driver.run("LPOP", "mylist", "2") == "*2\r\n$3\r\ntwo\r\n$5\r\nthree\r\n")
        #expect(driver.run("RPOP", "mylist", "0") == "*0\r\n")
        #expect(driver.run("RPOP", "mylist", "9") == "*1\r\n$4\r\nfour\r\n")
        #expect(driver.run("EXISTS", "mylist") == ":0\r\n")
        #expect(driver.run("LPOP", "mylist") == "$-1\r\n")
        #expect(driver.run("LPOP", "mylist", "2") == "*-1\r\n")
        #expect(driver.run("LPOP", "mylist", "-1") == "-ERR value is out of range, must be positive\r\n")
        #expect(driver.run("LPOP", "mylist", "1", "2") == "-ERR wrong number of arguments for 'lpop' command\r\n")
    }

    @Test("LLEN, LINDEX and LRANGE read with negative indexes from the tail and ranges clamped to the list")
    func reads() {
        var driver = list("one", "two", "three")
        #expect(driver.run("LLEN", "mylist") == ":3\r\n")
        #expect(driver.run("LLEN", "nolist") == ":0\r\n")
        #expect(driver.run("LINDEX", "mylist", "0") == "$3\r\none\r\n")
        #expect(driver.run("LINDEX", "mylist", "-1") == "$5\r\nthree\r\n")
        #expect(driver.run("LINDEX", "mylist", "3") == "$-1\r\n")
        #expect(driver.run("LINDEX", "mylist", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("LINDEX", "nolist", "x") == "$-1\r\n")
        #expect(driver.run("LRANGE", "mylist", "0", "0") == "*1\r\n$3\r\none\r\n")
        #expect(driver.run("LRANGE", "mylist", "-3", "2") == "*3\r\n$3\r\none\r\n$3\r\ntwo\r\n$5\r\nthree\r\n")
        #expect(driver.run("LRANGE", "mylist", "-100", "100") == "*3\r\n$3\r\none\r\n$3\r\ntwo\r\n$5\r\nthree\r\n")
        #expect(driver.run("LRANGE", "mylist", "5", "10") == "*0\r\n")
        #expect(driver.run("LRANGE", "mylist", "2", "1") == "*0\r\n")
        #expect(driver.run("LRANGE", "nolist", "0", "-1") == "*0\r\n")
        #expect(driver.run("LRANGE", "mylist", "a", "1") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("LSET replaces an element, refusing a missing key and an index outside the list")
    func set() {
        var driver = list("one", "two", "three")
        #expect(driver.run("LSET", "mylist", "0", "four") == "+OK\r\n")
        #expect(driver.run("LSET", "mylist", "-2", "five") == "+OK\r\n")
        #expect(range(&driver) == "*3\r\n$4\r\nfour\r\n$4\r\nfive\r\n$5\r\nthree\r\n")
        #expect(driver.run("LSET", "mylist", "3", "x") == "-ERR index out of range\r\n")
        #expect(driver.run("LSET", "nolist", "0", "x") == "-ERR no such key\r\n")
        #expect(driver.run("LSET", "mylist", "x", "x") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("LINSERT puts an element before or after the first pivot; -1 without one, 0 for a missing key")
    func insert() {
        var driver = list("Hello", "World")
        #expect(driver.run("LINSERT", "mylist", "BEFORE", "World", "There") == ":3\r\n")
        #expect(driver.run("LINSERT", "mylist", "after", "World", "!") == ":4\r\n")
        #expect(range(&driver) == "*4\r\n$5\r\nHello\r\n$5\r\nThere\r\n$5\r\nWorld\r\n$1\r\n!\r\n")
        #expect(driver.run("LINSERT", "mylist", "BEFORE", "nope", "x") == ":-1\r\n")
        #expect(driver.run("LINSERT", "nolist", "BEFORE", "a", "x") == ":0\r\n")
        #expect(driver.run("LINSERT", "mylist", "MIDDLE", "a", "x") == "-ERR syntax error\r\n")
    }

    @Test("LREM removes matches from the head, from the tail for a negative count, or all for 0")
    func remove() {
        var driver = list("hello", "hello", "foo", "hello")
        #expect(driver.run("LREM", "mylist", "-2", "hello") == ":2\r\n")
        #expect(range(&driver) == "*2\r\n$5\r\nhello\r\n$3\r\nfoo\r\n")
        driver.run("RPUSH", "mylist", "hello", "hello")
        #expect(driver.run("LREM", "mylist", "1", "hello") == ":1\r\n")
        #expect(range(&driver) == "*3\r\n$3\r\nfoo\r\n$5\r\nhello\r\n$5\r\nhello\r\n")
        #expect(driver.run("LREM", "mylist", "0", "hello") == ":2\r\n")
        #expect(driver.run("LREM", "mylist", "0", "foo") == ":1\r\n")
        #expect(driver.run("EXISTS", "mylist") == ":0\r\n")
        #expect(driver.run("LREM", "mylist", "x", "foo") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("LTRIM keeps a range, and an empty range deletes the key")
    func trim() {
        var driver = list("one", "two", "three")
        #expect(driver.run("LTRIM", "mylist", "1", "-1") == "+OK\r\n")
        #expect(range(&driver) == "*2\r\n$3\r\ntwo\r\n$5\r\nthree\r\n")
        #expect(driver.run("LTRIM", "mylist", "0", "0") == "+OK\r\n")
        #expect(range(&driver) == "*1\r\n$3\r\ntwo\r\n")
        #expect(driver.run("LTRIM", "mylist", "5", "10") == "+OK\r\n")
        #expect(driver.run("EXISTS", "mylist") == ":0\r\n")
        #expect(driver.run("LTRIM", "nolist", "0", "1") == "+OK\r\n")
    }

    @Test("LPOS finds matches with RANK, COUNT and MAXLEN, and refuses bad options with Redis's errors")
    func position() {
        var driver = list("a", "b", "c", "d", "1", "2", "3", "4", "3", "3", "3")
        #expect(driver.run("LPOS", "mylist", "3") == ":6\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "COUNT", "0", "RANK", "2") == "*3\r\n:8\r\n:9\r\n:10\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "RANK", "-1") == ":10\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "COUNT", "2") == "*2\r\n:6\r\n:8\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "MAXLEN", "6") == "$-1\r\n")
        #expect(driver.run("LPOS", "mylist", "z", "COUNT", "1") == "*0\r\n")
        #expect(driver.run("LPOS", "nolist", "3") == "$-1\r\n")
        #expect(driver.run("LPOS", "nolist", "3", "COUNT", "1") == "*0\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "RANK", "0") == "-ERR RANK can't be zero: use 1 to start from the "
            + "first match, 2 from the second ... or use negative to start from the end of the list\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "COUNT", "-1") == "-ERR COUNT can't be negative\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "MAXLEN", "-1") == "-ERR MAXLEN can't be negative\r\n")
        #expect(driver.run("LPOS", "mylist", "3", "RANK") == "-ERR syntax error\r\n")
    }

    @Test("LMOVE and RPOPLPUSH move one element between ends and lists, rotating a list onto itself")
    func move() {
        var driver = list("one", "two", "three")
        #expect(driver.run("RPOPLPUSH", "mylist", "myother") == "$5\r\nthree\r\n")
        #expect(driver.run("LMOVE", "mylist", "myother", "LEFT", "RIGHT") == "$3\r\none\r\n")
        #expect(range(&driver, "myother") == "*2\r\n$5\r\nthree\r\n$3\r\none\r\n")
        #expect(driver.run("LMOVE", "mylist", "mylist", "LEFT", "RIGHT") == "$3\r\ntwo\r\n")
        #expect(driver.run("LMOVE", "myother", "myother", "RIGHT", "LEFT") == "$3\r\none\r\n")
        #expect(range(&driver, "myother") == "*2\r\n$3\r\none\r\n$5\r\nthree\r\n")
        #expect(driver.run("LMOVE", "nolist", "myother", "LEFT", "LEFT") == "$-1\r\n")
        #expect(driver.run("LMOVE", "mylist", "myother", "UP", "LEFT") == "-ERR syntax error\r\n")
        driver.run("SET", "string", "x")
        #expect(driver.run("LMOVE", "mylist", "string", "LEFT", "LEFT") == Self.wrongType)
        #expect(driver.run("LLEN", "mylist") == ":1\r\n")
    }

    @Test("list commands on a string, and string or hash commands on a list, answer WRONGTYPE")
    func wrongTypes() {
        var driver = list("a")
        driver.run("SET", "s", "v")
        for command in [
            ["LPUSH", "s", "a"], ["RPUSHX", "s", "a"], ["LPOP", "s"], ["RPOP", "s", "1"], ["LLEN", "s"],
            ["LRANGE", "s", "0", "1"], ["LINDEX", "s", "0"], ["LSET", "s", "0", "a"], ["LINSERT", "s", "BEFORE", "a", "b"],
            ["LREM", "s", "0", "a"], ["LTRIM", "s", "0", "1"], ["LPOS", "s", "a"], ["LMOVE", "s", "d", "LEFT", "LEFT"],
            ["RPOPLPUSH", "s", "d"], ["GET", "mylist"], ["HLEN", "mylist"], ["SCARD", "mylist"], ["INCR", "mylist"],
        ] {
            #expect(driver.run(arguments: command.map(bytes)) == bytes(Self.wrongType), "\(command)")
        }
    }

    @Test("a long list grows and shrinks its ring, keeping order and digest at every step")
    func longList() {
        var driver = StoreDriver()
        var model: [String] = []
        var generator = SplitMix64(seed: 5)
        for step in 0..<3_000 {
            let choice = generator.next() % 5
            if choice < 2 || model.isEmpty {
                driver.run("LPUSH", "l", "e\(step)")
                model.insert("e\(step)", at: 0)
            } else if choice == 2 {
                driver.run("RPUSH", "l", "e\(step)")
                model.append("e\(step)")
            } else if choice == 3 {
                driver.run("LPOP", "l")
                model.removeFirst()
            } else {
                driver.run("RPOP", "l", "2")
                model.removeLast(min(2, model.count))
            }
        }
        var expected = RESPWriter()
        expected.appendArrayHeader(count: model.count)
        for element in model { expected.appendBulk(element) }
        #expect(driver.run(arguments: [bytes("LRANGE"), bytes("l"), bytes("0"), bytes("-1")]) == expected.bytes)
        var fresh = StoreDriver()
        if !model.isEmpty { fresh.run(arguments: (["RPUSH", "l"] + model).map(bytes)) }
        #expect(driver.store.digest() == fresh.store.digest())
        var reordered = StoreDriver()
        reordered.run(arguments: (["RPUSH", "l"] + model.reversed()).map(bytes))
        #expect(model.count < 2 || reordered.store.digest() != fresh.store.digest(), "order is in the digest")
    }

    @Test("list reads are answered without an entry, as the logged command answers them")
    func readsWithoutEntry() {
        var driver = list("a", "b", "a")
        for arguments in [
            ["LLEN", "mylist"], ["LRANGE", "mylist", "0", "-1"], ["LINDEX", "mylist", "1"], ["LPOS", "mylist", "a", "COUNT", "0"],
        ] {
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answered != nil, "\(arguments) was not answered without an entry")
            #expect(answered == driver.run(arguments: arguments.map(bytes)), "\(arguments)")
        }
    }

    @Test("LMPOP pops from the first key holding a list, and checks its arguments with Redis's errors")
    func popFromFirst() {
        var driver = list("one", "two", "three")
        #expect(driver.run("LMPOP", "2", "nolist", "mylist", "LEFT") == "*2\r\n$6\r\nmylist\r\n*1\r\n$3\r\none\r\n")
        #expect(driver.run("LMPOP", "1", "mylist", "RIGHT", "COUNT", "5")
            == "*2\r\n$6\r\nmylist\r\n*2\r\n$5\r\nthree\r\n$3\r\ntwo\r\n")
        #expect(driver.run("EXISTS", "mylist") == ":0\r\n")
        #expect(driver.run("LMPOP", "2", "nolist", "mylist", "LEFT") == "*-1\r\n")
        #expect(driver.run("LMPOP", "0", "mylist", "LEFT") == "-ERR numkeys should be greater than 0\r\n")
        #expect(driver.run("LMPOP", "2", "mylist", "LEFT") == "-ERR syntax error\r\n")
        #expect(driver.run("LMPOP", "1", "mylist", "UP") == "-ERR syntax error\r\n")
        #expect(driver.run("LMPOP", "1", "mylist", "LEFT", "COUNT", "0") == "-ERR count should be greater than 0\r\n")
        #expect(driver.run("LMPOP", "1", "mylist", "LEFT", "COUNT", "1", "COUNT", "1") == "-ERR syntax error\r\n")
        driver.run("SET", "s", "v")
        #expect(driver.run("LMPOP", "2", "nolist", "s", "LEFT") == Self.wrongType)
    }

    @Test("LRANGE over thousands of elements of every length, pushed at both ends, answers each element in order")
    func longRanges() {
        var driver = StoreDriver()
        var model: [[UInt8]] = []
        var random = SplitMix64(seed: 7)
        for index in 0..<3_000 {
            // Mostly short, now and then empty or longer than a reply written on the stack.
            let length = index % 97 == 0 ? 600 : Int(random.next() % 24)
            let element = (0..<length).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            if random.next() % 3 == 0 {
                driver.run(arguments: [bytes("LPUSH"), bytes("mylist"), element])
                model.insert(element, at: 0)
            } else {
                driver.run(arguments: [bytes("RPUSH"), bytes("mylist"), element])
                model.append(element)
            }
        }
        func expected(_ elements: ArraySlice<[UInt8]>) -> [UInt8] {
            var reply = Array("*\(elements.count)\r\n".utf8)
            for element in elements { reply += Array("$\(element.count)\r\n".utf8) + element + [13, 10] }
            return reply
        }
        for _ in 0..<200 {
            let start = Int(random.next() % 3_200) - 100, stop = Int(random.next() % 3_200) - 100
            let reply = driver.run(arguments: [bytes("LRANGE"), bytes("mylist"), bytes(String(start)), bytes(String(stop))])
            let range = ListKeyValueRange.clamped(start, stop, count: model.count)
            #expect(reply == expected(model[range]), "LRANGE \(start) \(stop)")
        }
        #expect(driver.run(arguments: [bytes("LRANGE"), bytes("mylist"), bytes("0"), bytes("-1")]) == expected(model[...]))
    }
}

/// Redis's LRANGE clamping, written out apart from the store's own.
enum ListKeyValueRange {
    static func clamped(_ start: Int, _ stop: Int, count: Int) -> Range<Int> {
        let first = max(0, start < 0 ? count + start : start)
        let last = min(count - 1, stop < 0 ? count + stop : stop)
        return first <= last && first < count ? first..<(last + 1) : 0..<0
    }
}
