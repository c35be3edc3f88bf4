import Testing
@testable import KeyValue
import Replication

/// The hash commands, modelled on Redis's documented examples and `tests/unit/type/hash.tcl`.
@Suite("hash commands answer as Redis does")
struct HashCommandTests {
    @Test("HSET counts new fields, HGET reads one, HMSET answers OK, HSETNX writes only a new field")
    func setAndGet() {
        var driver = StoreDriver()
        #expect(driver.run("HSET", "myhash", "field1", "Hello") == ":1\r\n")
        #expect(driver.run("HSET", "myhash", "field1", "Hi", "field2", "World") == ":1\r\n")
        #expect(driver.run("HGET", "myhash", "field1") == "$2\r\nHi\r\n")
        #expect(driver.run("HGET", "myhash", "nofield") == "$-1\r\n")
        #expect(driver.run("HGET", "nokey", "field1") == "$-1\r\n")
        #expect(driver.run("HMSET", "myhash", "field3", "x") == "+OK\r\n")
        #expect(driver.run("HSETNX", "myhash", "field3", "y") == ":0\r\n")
        #expect(driver.run("HSETNX", "myhash", "field4", "y") == ":1\r\n")
        #expect(driver.run("HLEN", "myhash") == ":4\r\n")
        #expect(driver.run("HSET", "myhash", "f", "v", "odd") == "-ERR wrong number of arguments for 'hset' command\r\n")
        #expect(driver.run("HMSET", "myhash", "f") == "-ERR wrong number of arguments for 'hmset' command\r\n")
    }

    @Test("HMGET answers a null per missing field; HSTRLEN and HEXISTS read one field")
    func fieldReads() {
        var driver = StoreDriver()
        driver.run("HSET", "myhash", "field1", "Hello", "field2", "World")
        #expect(driver.run("HMGET", "myhash", "field1", "field2", "nofield")
            == "*3\r\n$5\r\nHello\r\n$5\r\nWorld\r\n$-1\r\n")
        #expect(driver.run("HMGET", "nokey", "a", "b") == "*2\r\n$-1\r\n$-1\r\n")
        #expect(driver.run("HSTRLEN", "myhash", "field1") == ":5\r\n")
        #expect(driver.run("HSTRLEN", "myhash", "nofield") == ":0\r\n")
        #expect(driver.run("HEXISTS", "myhash", "field1") == ":1\r\n")
        #expect(driver.run("HEXISTS", "myhash", "nofield") == ":0\r\n")
        #expect(driver.run("HLEN", "nokey") == ":0\r\n")
    }

    @Test("HKEYS, HVALS and HGETALL list the fields in one order, the same for all three")
    func wholeHash() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "a", "1", "b", "2", "c", "3")
        driver.run("HDEL", "h", "a")
        let keys = driver.run("HKEYS", "h"), values = driver.run("HVALS", "h"), all = driver.run("HGETALL", "h")
        #expect(keys == "*2\r\n$1\r\nc\r\n$1\r\nb\r\n")
        #expect(values == "*2\r\n$1\r\n3\r\n$1\r\n2\r\n")
        #expect(all == "*4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n")
        #expect(driver.run("HGETALL", "nokey") == "*0\r\n")
        #expect(driver.run("HKEYS", "nokey") == "*0\r\n")
    }

    @Test("HDEL counts the fields it removed")
    func delete() {
        var driver = StoreDriver()
        driver.run("HSET", "myhash", "field1", "foo", "field2", "bar")
        #expect(driver.run("HDEL", "myhash", "field1", "field1", "nofield") == ":1\r\n")
        #expect(driver.run("HDEL", "nokey", "field1") == ":0\r\n")
        #expect(driver.run("EXISTS", "nokey") == ":0\r\n")
    }

    @Test("HINCRBY counts from 0 and refuses non-integers and overflow with Redis's errors")
    func incrementBy() {
        var driver = StoreDriver()
        #expect(driver.run("HINCRBY", "myhash", "field", "5") == ":5\r\n")
        #expect(driver.run("HINCRBY", "myhash", "field", "-1") == ":4\r\n")
        #expect(driver.run("HINCRBY", "myhash", "field", "-10") == ":-6\r\n")
        #expect(driver.run("HINCRBY", "myhash", "field", "x") == "-ERR value is not an integer or out of range\r\n")
        driver.run("HSET", "myhash", "text", "hello", "big", "9223372036854775800")
        #expect(driver.run("HINCRBY", "myhash", "text", "1") == "-ERR hash value is not an integer\r\n")
        #expect(driver.run("HINCRBY", "myhash", "big", "100") == "-ERR increment or decrement would overflow\r\n")
        #expect(driver.run("HGET", "myhash", "big") == "$19\r\n9223372036854775800\r\n")
        #expect(driver.run("HINCRBY", "newkey", "f", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("EXISTS", "newkey") == ":0\r\n")
    }

    @Test("HINCRBYFLOAT adds as Redis's long doubles do and prints without trailing zeros")
    func incrementByFloat() {
        var driver = StoreDriver()
        driver.run("HSET", "mykey", "field", "10.50")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "0.1") == "$4\r\n10.6\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "-5") == "$3\r\n5.6\r\n")
        driver.run("HSET", "mykey", "field", "5.0e3")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "2.0e2") == "$4\r\n5200\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "new", "1.5") == "$3\r\n1.5\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "x") == "-ERR value is not a valid float\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", " 1") == "-ERR value is not a valid float\r\n")
        driver.run("HSET", "mykey", "text", "abc")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "text", "1") == "-ERR hash value is not a float\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "inf") == "-ERR value is NaN or Infinity\r\n")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "field", "1e99999") == "-ERR value is not a valid float\r\n")
        driver.run("HSET", "mykey", "top", "inf")
        #expect(driver.run("HINCRBYFLOAT", "mykey", "top", "1") == "-ERR increment would produce NaN or Infinity\r\n")
        #expect(driver.run("HGET", "mykey", "top") == "$3\r\ninf\r\n")
    }

    @Test("HRANDFIELD picks with one recorded random value: one field, distinct ones, or repeats for a negative count")
    func randomField() {
        var driver = StoreDriver()
        driver.run("HSET", "coin", "heads", "obverse", "tails", "reverse", "edge", "null")
        driver.entropy.scriptedRandomValues = [4]
        #expect(driver.run("HRANDFIELD", "coin") == "$5\r\ntails\r\n")  // position 4 mod 3 = 1
        #expect(driver.lastRecorded.count == 1)
        #expect(driver.run("HRANDFIELD", "coin", "5") == "*3\r\n$5\r\nheads\r\n$5\r\ntails\r\n$4\r\nedge\r\n")
        let distinct = driver.run("HRANDFIELD", "coin", "2")
        #expect(distinct.hasPrefix("*2\r\n"))
        let repeated = driver.run("HRANDFIELD", "coin", "-5", "WITHVALUES")
        #expect(repeated.hasPrefix("*10\r\n"))
        #expect(driver.run("HRANDFIELD", "coin", "0") == "*0\r\n")
        #expect(driver.lastRecorded.isEmpty, "a count of 0 draws nothing")
        #expect(driver.run("HRANDFIELD", "nokey") == "$-1\r\n")
        #expect(driver.run("HRANDFIELD", "nokey", "3") == "*0\r\n")
        #expect(driver.run("HRANDFIELD", "coin", "1", "WITH") == "-ERR syntax error\r\n")
        #expect(driver.run("HRANDFIELD", "coin", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("HRANDFIELD", "coin", "-9223372036854775807", "WITHVALUES")
            == "-ERR value is out of range\r\n")
        #expect(driver.run("HRANDFIELD", "coin", "-9223372036854775808")
            == "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n")
    }

    @Test("fields and values of any size, large ones out of line, read back exactly")
    func largeFields() {
        var driver = StoreDriver()
        let big = [UInt8](repeating: 7, count: 5_000)
        #expect(driver.run(arguments: [bytes("HSET"), bytes("h"), big, big]) == bytes(":1\r\n"))
        #expect(driver.run(arguments: [bytes("HGET"), bytes("h"), big]) == RESPWriter.bulk(big))
        #expect(driver.run(arguments: [bytes("HSTRLEN"), bytes("h"), big]) == bytes(":5000\r\n"))
    }

    @Test("hash reads are answered without an entry, as the logged command answers them; HRANDFIELD is logged")
    func readsWithoutEntry() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "a", "1", "b", "2")
        driver.run("SET", "s", "v")
        for arguments in [
            ["HGET", "h", "a"], ["HMGET", "h", "a", "x"], ["HLEN", "h"], ["HSTRLEN", "h", "b"], ["HEXISTS", "h", "a"],
            ["HKEYS", "h"], ["HVALS", "h"], ["HGETALL", "h"], ["HGETALL", "missing"], ["HGET", "s", "a"],
        ] {
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answered != nil, "\(arguments) was not answered without an entry")
            #expect(answered == driver.run(arguments: arguments.map(bytes)), "\(arguments)")
        }
        var context = ApplyContext.recording(from: driver.entropy)
        #expect(driver.store.readReply(KeyValueCommand.encode([bytes("HRANDFIELD"), bytes("h")]), context: &context) == nil)
        #expect(driver.store.readReply(KeyValueCommand.encode([bytes("HSET"), bytes("h"), bytes("c"), bytes("3")]),
            context: &context) == nil)
    }
}
