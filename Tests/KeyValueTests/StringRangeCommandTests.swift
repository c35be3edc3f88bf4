import Testing
@testable import KeyValue
import Replication

/// GETEX, GETRANGE/SUBSTR, SETRANGE and INCRBYFLOAT as Redis 7.0 documents them (`tests/unit/type/string.tcl`,
/// `tests/unit/type/incr.tcl`), each run replicated: a backup replaying the log ends with the same digest.
@Suite("string ranges, GETEX and INCRBYFLOAT")
struct StringRangeCommandTests {
    @Test("GETEX reads the value and sets, replaces or removes its TTL; bad options and times refuse")
    func getWithExpiry() {
        var node = ConnectedStore()
        node.send(1, "SET", "foo", "bar")
        #expect(node.send(1, "GETEX", "foo") == RESP.bulk("bar"))
        #expect(node.send(1, "TTL", "foo") == RESP.integer(-1))
        #expect(node.send(1, "GETEX", "foo", "EX", "10") == RESP.bulk("bar"))
        #expect(node.send(1, "TTL", "foo") == RESP.integer(10))
        #expect(node.send(1, "GETEX", "foo", "px", "2500") == RESP.bulk("bar"))
        #expect(node.send(1, "PTTL", "foo") == RESP.integer(2500))
        let start = StoreDriver.startMilliseconds
        #expect(node.send(1, "GETEX", "foo", "EXAT", "\(start / 1000 + 100)") == RESP.bulk("bar"))
        #expect(node.send(1, "EXPIRETIME", "foo") == RESP.integer(Int(start / 1000 + 100)))
        #expect(node.send(1, "GETEX", "foo", "PERSIST") == RESP.bulk("bar"))
        #expect(node.send(1, "TTL", "foo") == RESP.integer(-1))
        #expect(node.send(1, "GETEX", "foo", "EX", "1", "EX", "7") == RESP.bulk("bar"), "the last of one kind wins")
        #expect(node.send(1, "TTL", "foo") == RESP.integer(7))
        // An absolute time already past deletes the key, after its value was read.
        #expect(node.send(1, "GETEX", "foo", "PXAT", "\(start - 1)") == RESP.bulk("bar"))
        #expect(node.send(1, "EXISTS", "foo") == RESP.integer(0))
        #expect(node.send(1, "GETEX", "foo") == RESP.nullBulk)
        #expect(node.send(1, "GETEX", "foo", "EX", "-1") == RESP.nullBulk, "a missing key answers before the time")
        node.send(1, "SET", "foo", "bar")
        #expect(node.send(1, "GETEX", "foo", "EX", "-1") == RESP.error("ERR invalid expire time in 'getex' command"))
        #expect(node.send(1, "GETEX", "foo", "EX", "x") == RESP.error("ERR value is not an integer or out of range"))
        for options in [["EX", "10", "PERSIST"], ["PERSIST", "EX", "10"], ["EX", "1", "PX", "1"], ["EX"], ["bogus"]] {
            #expect(node.send(1, arguments: ["GETEX", "missing"] + options) == RESP.error("ERR syntax error"))
        }
        node.send(1, "RPUSH", "list", "a")
        #expect(node.send(1, "GETEX", "list", "PERSIST") == Self.wrongType)
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("GETRANGE and SUBSTR clamp their inclusive range, count negatives from the end, and read empty when none")
    func getRange() {
        var node = ConnectedStore()
        #expect(node.send(1, "GETRANGE", "mykey", "0", "-1") == RESP.bulk(""))
        node.send(1, "SET", "mykey", "Hello World")
        #expect(node.send(1, "GETRANGE", "mykey", "0", "3") == RESP.bulk("Hell"))
        #expect(node.send(1, "GETRANGE", "mykey", "0", "-1") == RESP.bulk("Hello World"))
        #expect(node.send(1, "GETRANGE", "mykey", "-4", "-1") == RESP.bulk("orld"))
        #expect(node.send(1, "GETRANGE", "mykey", "5", "3") == RESP.bulk(""))
        #expect(node.send(1, "GETRANGE", "mykey", "5", "5000") == RESP.bulk(" World"))
        #expect(node.send(1, "GETRANGE", "mykey", "-5000", "10000") == RESP.bulk("Hello World"))
        #expect(node.send(1, "GETRANGE", "mykey", "-1", "-5") == RESP.bulk(""), "negatives out of order")
        #expect(node.send(1, "GETRANGE", "mykey", "0", "4294967297") == RESP.bulk("Hello World"))
        #expect(node.send(1, "SUBSTR", "mykey", "6", "-1") == RESP.bulk("World"))
        node.send(1, "SET", "number", "1234")
        #expect(node.send(1, "GETRANGE", "number", "-3", "-1") == RESP.bulk("234"))
        #expect(node.send(1, "GETRANGE", "number", "3", "5000") == RESP.bulk("4"))
        let notInteger = RESP.error("ERR value is not an integer or out of range")
        #expect(node.send(1, "GETRANGE", "mykey", "a", "1") == notInteger)
        node.send(1, "SADD", "set", "a")
        #expect(node.send(1, "GETRANGE", "set", "0", "1") == Self.wrongType)
    }

    @Test("GETRANGE agrees with a direct slice of random values over random ranges")
    func getRangeFuzz() {
        var node = ConnectedStore()
        var generator = SplitMix64(seed: 7)
        for _ in 0..<200 {
            let length = Int(generator.next() % 20)
            let value = String((0..<length).map { _ in Character(UnicodeScalar(UInt8(97 + generator.next() % 26))) })
            node.send(1, "SET", "k", value)
            let start = Int(generator.next() % 50) - 25, end = Int(generator.next() % 50) - 25
            // Redis's rules, spelled out independently of the product's helper.
            var expected = ""
            if !(start < 0 && end < 0 && start > end) {
                let from = max(start < 0 ? length + start : start, 0)
                let through = min(max(end < 0 ? length + end : end, 0), length - 1)
                if from <= through && length > 0 {
                    expected = String(Array(value)[from...through])
                }
            }
            #expect(
                node.send(1, "GETRANGE", "k", "\(start)", "\(end)") == RESP.bulk(expected), "\(value) \(start) \(end)")
        }
    }

    @Test("SETRANGE overwrites at an offset, pads with zero bytes, keeps the TTL, and refuses what Redis refuses")
    func setRange() {
        var node = ConnectedStore()
        #expect(node.send(1, "SETRANGE", "mykey", "0", "foo") == RESP.integer(3))
        #expect(node.send(1, "GET", "mykey") == RESP.bulk("foo"))
        #expect(node.send(1, "SETRANGE", "missing", "0", "") == RESP.integer(0))
        #expect(node.send(1, "EXISTS", "missing") == RESP.integer(0), "an empty write creates nothing")
        #expect(node.send(1, "SETRANGE", "padded", "1", "foo") == RESP.integer(4))
        #expect(node.send(1, "GET", "padded") == RESP.bulk("\0foo"))
        node.send(1, "SET", "key1", "Hello World", "EX", "100")
        #expect(node.send(1, "SETRANGE", "key1", "6", "Redis") == RESP.integer(11))
        #expect(node.send(1, "GET", "key1") == RESP.bulk("Hello Redis"))
        #expect(node.send(1, "TTL", "key1") == RESP.integer(100))
        #expect(node.send(1, "SETRANGE", "key1", "0", "") == RESP.integer(11))
        #expect(node.send(1, "SETRANGE", "key1", "13", "!") == RESP.integer(14))
        #expect(node.send(1, "GET", "key1") == RESP.bulk("Hello Redis\0\0!"))
        node.send(1, "SET", "number", "1234")
        #expect(node.send(1, "SETRANGE", "number", "1", "-") == RESP.integer(4))
        #expect(node.send(1, "GET", "number") == RESP.bulk("1-34"))
        #expect(node.send(1, "SETRANGE", "key1", "-1", "x") == RESP.error("ERR offset is out of range"))
        #expect(node.send(1, "SETRANGE", "key1", "x", "x") == RESP.error("ERR value is not an integer or out of range"))
        let tooLong = RESP.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
        let limit = KeyValueStore.valueBytesLimit
        #expect(node.send(1, "SETRANGE", "key1", "\(limit - 1)", "ab") == tooLong)
        #expect(node.send(1, "SETRANGE", "missing", "\(limit)", "a") == tooLong)
        #expect(node.send(1, "SETRANGE", "key1", "\(Int64.max)", "A") == tooLong, "an offset whose sum overflows")
        #expect(node.send(1, "SETRANGE", "missing", "\(Int64.max)", "A") == tooLong)
        #expect(node.send(1, "SETRANGE", "key1", "\(limit)", "") == RESP.integer(14), "an empty write never grows")
        node.send(1, "LPUSH", "list", "a")
        #expect(node.send(1, "SETRANGE", "list", "0", "bar") == Self.wrongType)
        #expect(node.send(1, "SETRANGE", "list", "0", "") == Self.wrongType)
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("INCRBYFLOAT adds as Redis's long doubles and prints as Redis does; non-numbers and NaN refuse")
    func incrementByFloat() {
        var node = ConnectedStore()
        #expect(node.send(1, "INCRBYFLOAT", "novar", "1") == RESP.bulk("1"))
        #expect(node.send(1, "INCRBYFLOAT", "novar", "0.25") == RESP.bulk("1.25"))
        node.send(1, "SET", "mykey", "10.50", "EX", "100")
        #expect(node.send(1, "INCRBYFLOAT", "mykey", "0.1") == RESP.bulk("10.6"))
        #expect(node.send(1, "INCRBYFLOAT", "mykey", "-5") == RESP.bulk("5.6"))
        #expect(node.send(1, "TTL", "mykey") == RESP.integer(100), "the TTL stays")
        node.send(1, "SET", "mykey", "5.0e3")
        #expect(node.send(1, "INCRBYFLOAT", "mykey", "2.0e2") == RESP.bulk("5200"))
        node.send(1, "SET", "mykey", "1")
        #expect(node.send(1, "INCRBYFLOAT", "mykey", "-1.1") == RESP.bulk("-0.1"))
        let notFloat = RESP.error("ERR value is not a valid float")
        node.send(1, "SET", "text", " 11")
        #expect(node.send(1, "INCRBYFLOAT", "text", "1") == notFloat, "leading space")
        node.send(1, "SET", "text", "1 ")
        #expect(node.send(1, "INCRBYFLOAT", "text", "1") == notFloat, "trailing space")
        #expect(node.send(1, "INCRBYFLOAT", "novar", "notanumber") == notFloat)
        let notFinite = RESP.error("ERR increment would produce NaN or Infinity")
        #expect(node.send(1, "INCRBYFLOAT", "novar", "+inf") == notFinite)
        #expect(node.send(1, "GET", "novar") == RESP.bulk("1.25"), "a refused increment writes nothing")
        node.send(1, "SADD", "set", "1")
        #expect(node.send(1, "INCRBYFLOAT", "set", "1") == Self.wrongType)
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("a GETRANGE read without a log entry answers as the logged command")
    func readsWithoutEntry() {
        var driver = StoreDriver()
        driver.run("SET", "k", "Hello World")
        var reply: [UInt8] = []
        var context = ApplyContext.recording(from: driver.entropy)
        let command = KeyValueCommand.encode(["GETRANGE", "k", "-5", "-1"].map(bytes))
        #expect(driver.store.read(command, into: &reply, context: &context))
        #expect(text(reply) == RESP.bulk("World"))
    }

    static let wrongType = RESP.error("WRONGTYPE Operation against a key holding the wrong kind of value")
}
