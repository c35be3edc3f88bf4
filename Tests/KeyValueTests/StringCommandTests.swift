import Testing
@testable import KeyValue
import Replication

@Suite("string commands answer as Redis does")
struct StringCommandTests {
    @Test("SET answers +OK and GET returns the value, or null for a missing key")
    func setAndGet() {
        var driver = StoreDriver()
        #expect(driver.run("SET", "k", "v") == "+OK\r\n")
        #expect(driver.run("GET", "k") == "$1\r\nv\r\n")
        #expect(driver.run("GET", "missing") == "$-1\r\n")
        #expect(driver.run("set", "k", "") == "+OK\r\n")
        #expect(driver.run("get", "k") == "$0\r\n\r\n")
    }

    @Test("overwriting a value keeps the digest exact, and a small value does not keep a large one's memory")
    func overwrites() {
        var driver = StoreDriver()
        var fresh = StoreDriver()
        let sizes = [0, 1, 32, 31, 33, 100, 5, 1 << 20, 1]
        for size in sizes {
            let value = [UInt8](repeating: UInt8(ascii: "a") + UInt8(size % 26), count: size)
            #expect(driver.run(arguments: [bytes("SET"), bytes("k"), value]) == bytes("+OK\r\n"))
            #expect(driver.store.storedValue(StoreKey(bytes("k"))) == value, "\(size) bytes")
        }
        // The same contents built in one write: the incremental digest agrees.
        fresh.run("SET", "k", "b")
        #expect(driver.store.digest() == fresh.store.digest())
        #expect(driver.store.storedValueCapacity(StoreKey(bytes("k")))! < 1 << 10)
    }

    @Test("SET NX writes only a missing key and XX only an existing one; a refusal is a null bulk")
    func setConditions() {
        var driver = StoreDriver()
        #expect(driver.run("SET", "k", "1", "XX") == "$-1\r\n")
        #expect(driver.run("SET", "k", "1", "NX") == "+OK\r\n")
        #expect(driver.run("SET", "k", "2", "nx") == "$-1\r\n")
        #expect(driver.run("GET", "k") == "$1\r\n1\r\n")
        #expect(driver.run("SET", "k", "3", "XX") == "+OK\r\n")
        #expect(driver.run("GET", "k") == "$1\r\n3\r\n")
    }

    @Test("SET GET returns the old value whether or not the condition let the write happen")
    func setGet() {
        var driver = StoreDriver()
        #expect(driver.run("SET", "k", "1", "GET") == "$-1\r\n")
        #expect(driver.run("SET", "k", "2", "GET") == "$1\r\n1\r\n")
        #expect(driver.run("SET", "k", "3", "NX", "GET") == "$1\r\n2\r\n")
        #expect(driver.run("GET", "k") == "$1\r\n2\r\n")
    }

    @Test("SET rejects conflicting or unknown options and bad expire times with Redis's errors")
    func setErrors() {
        var driver = StoreDriver()
        #expect(driver.run("SET", "k", "v", "NX", "XX") == "-ERR syntax error\r\n")
        #expect(driver.run("SET", "k", "v", "EX", "10", "PX", "10") == "-ERR syntax error\r\n")
        #expect(driver.run("SET", "k", "v", "EX", "10", "KEEPTTL") == "-ERR syntax error\r\n")
        #expect(driver.run("SET", "k", "v", "EX") == "-ERR syntax error\r\n")
        #expect(driver.run("SET", "k", "v", "BOGUS") == "-ERR syntax error\r\n")
        #expect(driver.run("SET", "k", "v", "EX", "ten") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("SET", "k", "v", "EX", "0") == "-ERR invalid expire time in 'set' command\r\n")
        #expect(driver.run("SET", "k", "v", "PX", "-5") == "-ERR invalid expire time in 'set' command\r\n")
        #expect(
            driver.run("SET", "k", "v", "EX", "9223372036854775807") == "-ERR invalid expire time in 'set' command\r\n")
        #expect(driver.run("SET", "k") == "-ERR wrong number of arguments for 'set' command\r\n")
        #expect(driver.run("EXISTS", "k") == ":0\r\n")
    }

    @Test("SET EXAT and PXAT take absolute times, and a repeated EX keeps the last")
    func setExpiryForms() {
        var driver = StoreDriver()
        let start = StoreDriver.startMilliseconds
        #expect(driver.run("SET", "a", "v", "PXAT", "\(start + 2_500)") == "+OK\r\n")
        #expect(driver.run("PTTL", "a") == ":2500\r\n")
        #expect(driver.run("SET", "b", "v", "exat", "\(start / 1000 + 7)") == "+OK\r\n")
        #expect(driver.run("TTL", "b") == ":7\r\n")
        #expect(driver.run("SET", "c", "v", "EX", "1", "EX", "5") == "+OK\r\n")
        #expect(driver.run("TTL", "c") == ":5\r\n")
    }

    @Test("SETNX, SETEX, PSETEX, GETSET and GETDEL follow Redis")
    func setVariants() {
        var driver = StoreDriver()
        #expect(driver.run("SETNX", "k", "1") == ":1\r\n")
        #expect(driver.run("SETNX", "k", "2") == ":0\r\n")
        #expect(driver.run("GETSET", "k", "3") == "$1\r\n1\r\n")
        #expect(driver.run("GETSET", "new", "x") == "$-1\r\n")
        #expect(driver.run("SETEX", "t", "10", "v") == "+OK\r\n")
        #expect(driver.run("TTL", "t") == ":10\r\n")
        #expect(driver.run("PSETEX", "p", "1500", "v") == "+OK\r\n")
        #expect(driver.run("PTTL", "p") == ":1500\r\n")
        #expect(driver.run("SETEX", "t", "0", "v") == "-ERR invalid expire time in 'setex' command\r\n")
        #expect(driver.run("GETDEL", "k") == "$1\r\n3\r\n")
        #expect(driver.run("GETDEL", "k") == "$-1\r\n")
    }

    @Test("DEL counts the keys it removed and EXISTS counts a key named twice twice")
    func deleteAndExists() {
        var driver = StoreDriver()
        driver.run("MSET", "a", "1", "b", "2")
        #expect(driver.run("EXISTS", "a", "a", "b", "c") == ":3\r\n")
        #expect(driver.run("DEL", "a", "c", "a") == ":1\r\n")
        #expect(driver.run("UNLINK", "b") == ":1\r\n")
        #expect(driver.run("DBSIZE") == ":0\r\n")
    }

    @Test("INCR, DECR, INCRBY and DECRBY count from 0 and answer the new value")
    func counters() {
        var driver = StoreDriver()
        #expect(driver.run("INCR", "n") == ":1\r\n")
        #expect(driver.run("INCRBY", "n", "41") == ":42\r\n")
        #expect(driver.run("DECR", "n") == ":41\r\n")
        #expect(driver.run("DECRBY", "n", "-9") == ":50\r\n")
        #expect(driver.run("GET", "n") == "$2\r\n50\r\n")
        #expect(driver.run("DECRBY", "m", "5") == ":-5\r\n")
    }

    @Test("a counter refuses non-integers and overflow with Redis's errors, leaving the value alone")
    func counterErrors() {
        var driver = StoreDriver()
        driver.run("SET", "s", "abc")
        driver.run("SET", "spaced", " 1")
        driver.run("SET", "max", "9223372036854775807")
        driver.run("SET", "min", "-9223372036854775808")
        #expect(driver.run("INCR", "s") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("INCR", "spaced") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("INCRBY", "n", "1.5") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("INCR", "max") == "-ERR increment or decrement would overflow\r\n")
        #expect(driver.run("DECR", "min") == "-ERR increment or decrement would overflow\r\n")
        #expect(driver.run("DECRBY", "n", "-9223372036854775808") == "-ERR decrement would overflow\r\n")
        #expect(driver.run("GET", "max") == "$19\r\n9223372036854775807\r\n")
        #expect(driver.run("EXISTS", "n") == ":0\r\n")
    }

    @Test("APPEND answers the new length and STRLEN the length, 0 for a missing key")
    func appendAndLength() {
        var driver = StoreDriver()
        #expect(driver.run("APPEND", "k", "Hello") == ":5\r\n")
        #expect(driver.run("APPEND", "k", " World") == ":11\r\n")
        #expect(driver.run("GET", "k") == "$11\r\nHello World\r\n")
        #expect(driver.run("STRLEN", "k") == ":11\r\n")
        #expect(driver.run("STRLEN", "missing") == ":0\r\n")
    }

    @Test("MGET answers one element per key with nulls for missing ones; MSET needs pairs")
    func multiKey() {
        var driver = StoreDriver()
        #expect(driver.run("MSET", "a", "1", "b", "2") == "+OK\r\n")
        #expect(driver.run("MGET", "a", "missing", "b") == "*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n")
        #expect(driver.run("MSET", "a", "1", "b") == "-ERR wrong number of arguments for 'mset' command\r\n")
        #expect(driver.run("MSETNX", "c", "3", "a", "x") == ":0\r\n")
        #expect(driver.run("EXISTS", "c") == ":0\r\n")
        #expect(driver.run("MSETNX", "c", "3", "d", "4") == ":1\r\n")
    }

    @Test("DBSIZE counts keys, FLUSHALL empties the store, and SELECT names databases 0 to 15")
    func keyspace() {
        var driver = StoreDriver()
        driver.run("MSET", "a", "1", "b", "2")
        #expect(driver.run("DBSIZE") == ":2\r\n")
        #expect(driver.run("FLUSHALL", "BOGUS") == "-ERR syntax error\r\n")
        #expect(driver.run("FLUSHALL") == "+OK\r\n")
        #expect(driver.run("DBSIZE") == ":0\r\n")
        #expect(driver.store.digest() == KeyValueStore().digest())
        #expect(driver.run("SELECT", "0") == "+OK\r\n")
        #expect(driver.run("SELECT", "16") == "-ERR DB index is out of range\r\n")
        #expect(driver.run("SELECT", "x") == "-ERR value is not an integer or out of range\r\n")
    }

    @Test("TYPE says string or none and KEYS returns the keys matching a glob")
    func typeAndKeys() {
        var driver = StoreDriver()
        driver.run("MSET", "hello", "1", "hallo", "2", "world", "3")
        #expect(driver.run("TYPE", "hello") == "+string\r\n")
        #expect(driver.run("TYPE", "nope") == "+none\r\n")
        #expect(driver.run("KEYS", "h?llo") == "*2\r\n$5\r\nhello\r\n$5\r\nhallo\r\n")
        #expect(driver.run("KEYS", "*") == "*3\r\n$5\r\nhello\r\n$5\r\nhallo\r\n$5\r\nworld\r\n")
        #expect(driver.run("KEYS", "[^h]*") == "*1\r\n$5\r\nworld\r\n")
    }

    @Test("an unknown command is answered like Redis, quoting its arguments")
    func unknownCommand() {
        var driver = StoreDriver()
        #expect(
            driver.run("FOO", "a", "b")
                == "-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n")
        #expect(driver.run("XADD") == "-ERR unknown command 'XADD', with args beginning with: \r\n")
    }

    @Test("wrong arity names the command in lower case")
    func arity() {
        var driver = StoreDriver()
        #expect(driver.run("GET") == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(driver.run("GET", "a", "b") == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(driver.run("dbsize", "x") == "-ERR wrong number of arguments for 'dbsize' command\r\n")
    }

    @Test("bytes that are not an encoded command get an error reply, not a crash")
    func malformedCommand() {
        var store = KeyValueStore()
        var context = ApplyContext.replaying([])
        #expect(text(store.apply([0x80], context: &context)).hasPrefix("-ERR command encoding truncated"))
    }

    @Test("TIME answers the recorded clock as seconds and microseconds")
    func time() {
        var driver = StoreDriver()
        driver.entropy.clockNanoseconds = 1_700_000_000_123_456_789
        #expect(driver.run("TIME") == "*2\r\n$10\r\n1700000000\r\n$6\r\n123456\r\n")
        #expect(driver.lastRecorded == [.clock(1_700_000_000_123_456_789)])
    }

    @Test("RANDOMKEY picks with the recorded random value, and answers null on an empty store without reading it")
    func randomKey() {
        var driver = StoreDriver()
        #expect(driver.run("RANDOMKEY") == "$-1\r\n")
        #expect(driver.lastRecorded.isEmpty)
        driver.run("MSET", "a", "1", "b", "2", "c", "3")
        driver.entropy.scriptedRandomValues = [4]
        #expect(driver.run("RANDOMKEY") == "$1\r\nb\r\n")  // 4 mod 3 = position 1
        #expect(driver.lastRecorded == [.random(4)])
    }
}
