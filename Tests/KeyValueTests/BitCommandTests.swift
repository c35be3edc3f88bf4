import Testing
@testable import KeyValue
import Replication

/// SETBIT, GETBIT, BITCOUNT and BITPOS as Redis 7.0 documents them (`tests/unit/bitops.tcl` and the command pages),
/// replicated: a backup replaying the log ends with the same digest.
@Suite("bit commands")
struct BitCommandTests {
    @Test("SETBIT sets and clears bits, growing the value with zero bytes, and answers the old bit; GETBIT reads")
    func setAndGet() {
        var driver = StoreDriver()
        #expect(driver.run("SETBIT", "mykey", "1", "1") == RESP.integer(0))
        #expect(driver.run("GET", "mykey") == RESP.bulk("\u{40}"))
        #expect(driver.run("SETBIT", "mykey", "1", "1") == RESP.integer(1))
        #expect(driver.run("SETBIT", "mykey", "7", "1") == RESP.integer(0))
        #expect(driver.run("GET", "mykey") == RESP.bulk("A"))
        #expect(driver.run("SETBIT", "mykey", "1", "0") == RESP.integer(1))
        #expect(driver.run("GET", "mykey") == RESP.bulk("\u{01}"))
        #expect(driver.run("SETBIT", "mykey", "23", "0") == RESP.integer(0), "clearing past the end still grows")
        #expect(driver.run("STRLEN", "mykey") == RESP.integer(3))
        #expect(driver.run("GETBIT", "mykey", "7") == RESP.integer(1))
        #expect(driver.run("GETBIT", "mykey", "6") == RESP.integer(0))
        #expect(driver.run("GETBIT", "mykey", "100") == RESP.integer(0), "past the end")
        #expect(driver.run("GETBIT", "missing", "0") == RESP.integer(0))
        driver.run("SET", "number", "1")  // "1" is 0x31: bits 2, 3 and 7
        let numberBits = ["0", "1", "2", "3", "7"].map { driver.run("GETBIT", "number", $0) }
        #expect(numberBits == [0, 0, 1, 1, 1].map(RESP.integer))
        driver.run("SET", "ttl", "a", "EX", "100")
        driver.run("SETBIT", "ttl", "100", "1")
        #expect(driver.run("TTL", "ttl") == RESP.integer(100), "the TTL stays")
        var backup = KeyValueStore()
        #expect(replay(driver.log, into: &backup).divergence == nil)
        #expect(backup.digest() == driver.store.digest())
    }

    @Test("bad offsets and bit values refuse with Redis's errors, before the key is looked up")
    func setBitErrors() {
        var driver = StoreDriver()
        let badOffset = RESP.error("ERR bit offset is not an integer or out of range")
        let badBit = RESP.error("ERR bit is not an integer or out of range")
        driver.run("LPUSH", "list", "a")
        #expect(driver.run("SETBIT", "list", "-1", "1") == badOffset)
        #expect(driver.run("SETBIT", "k", "x", "1") == badOffset)
        // Redis's limit: the offset's byte must lie below proto-max-bulk-len (4294967296 / 8 = 512 MiB).
        #expect(driver.run("SETBIT", "k", "\(KeyValueStore.valueBytesLimit * 8)", "1") == badOffset)
        #expect(driver.run("GETBIT", "k", "\(KeyValueStore.valueBytesLimit * 8)") == badOffset)
        #expect(driver.run("SETBIT", "list", "0", "2") == badBit)
        #expect(driver.run("SETBIT", "k", "0", "-1") == badBit)
        #expect(driver.run("SETBIT", "k", "0", "x") == badBit)
        #expect(driver.run("SETBIT", "list", "0", "1").hasPrefix("-WRONGTYPE"))
        #expect(driver.run("GETBIT", "list", "0").hasPrefix("-WRONGTYPE"))
        #expect(driver.run("EXISTS", "k") == RESP.integer(0))
    }

    @Test("a SETBIT that changes nothing leaves a WATCH of the key good; one that changes a bit spoils it")
    func setBitWatch() {
        var node = ConnectedStore()
        node.send(1, "SETBIT", "k", "0", "1")
        node.send(1, "WATCH", "k")
        #expect(node.send(2, "SETBIT", "k", "0", "1") == RESP.integer(1))
        node.send(1, "MULTI")
        node.send(1, "SET", "x", "1")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok))
        node.send(1, "WATCH", "k")
        #expect(node.send(2, "SETBIT", "k", "0", "0") == RESP.integer(1))
        node.send(1, "MULTI")
        node.send(1, "SET", "x", "2")
        #expect(node.send(1, "EXEC") == RESP.nullArray)
    }

    @Test("BITCOUNT counts set bits in the value or a byte or bit range, as Redis's examples and tests do")
    func bitCount() {
        var driver = StoreDriver()
        #expect(driver.run("BITCOUNT", "no-key") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "no-key", "0", "1000", "bit") == RESP.integer(0))
        driver.run("SET", "mykey", "foobar")
        #expect(driver.run("BITCOUNT", "mykey") == RESP.integer(26))
        #expect(driver.run("BITCOUNT", "mykey", "0", "0") == RESP.integer(4))
        #expect(driver.run("BITCOUNT", "mykey", "1", "1") == RESP.integer(6))
        #expect(driver.run("BITCOUNT", "mykey", "1", "1", "BYTE") == RESP.integer(6))
        #expect(driver.run("BITCOUNT", "mykey", "5", "30", "BIT") == RESP.integer(17))
        #expect(driver.run("BITCOUNT", "mykey", "1", "-2") == RESP.integer(Self.ones("ooba")))
        #expect(driver.run("BITCOUNT", "mykey", "-2", "1") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "mykey", "-2", "1", "bit") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "mykey", "0", "1000", "bit") == RESP.integer(26))
        driver.run("SET", "str", "xxxx")
        #expect(driver.run("BITCOUNT", "str", "4", "10") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "str", "32", "87", "bit") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "str", "-6", "-7") == RESP.integer(0))
        #expect(driver.run("BITCOUNT", "str", "-6", "-15", "bit") == RESP.integer(0))
        driver.run("SET", "str", "ab")
        #expect(driver.run("BITCOUNT", "str", "1", "-1") == RESP.integer(3))
        driver.run("SET", "str", "__PPxxxxxxxxxxxxxxxxRR__")
        #expect(driver.run("BITCOUNT", "str", "2", "-3") == RESP.integer(74))
        #expect(driver.run("BITCOUNT", "str", "0") == RESP.error("ERR syntax error"))
        #expect(driver.run("BITCOUNT", "str", "0", "1", "hello") == RESP.error("ERR syntax error"))
        #expect(driver.run("BITCOUNT", "str", "0", "1", "bit", "x") == RESP.error("ERR syntax error"))
        #expect(driver.run("BITCOUNT", "str", "a", "1") == RESP.error("ERR value is not an integer or out of range"))
        #expect(driver.run("BITCOUNT", "no-key", "0") == RESP.integer(0), "a missing key answers before the syntax")
    }

    @Test("BITPOS finds the first 0 or 1 bit in the value or a range; without an end a 0 is found past it")
    func bitPosition() {
        var driver = StoreDriver()
        #expect(driver.run("BITPOS", "str", "0") == RESP.integer(0))
        #expect(driver.run("BITPOS", "str", "1", "0", "-1") == RESP.integer(-1))
        Self.set(&driver, "str", [0xff, 0xf0, 0x00])
        #expect(driver.run("BITPOS", "str", "0") == RESP.integer(12))
        #expect(driver.run("BITPOS", "str", "0", "1") == RESP.integer(12))
        #expect(driver.run("BITPOS", "str", "0", "0", "-1", "bit") == RESP.integer(12))
        Self.set(&driver, "str", [0x00, 0xff, 0xf0])
        #expect(driver.run("BITPOS", "str", "1", "0") == RESP.integer(8))
        #expect(driver.run("BITPOS", "str", "1", "2") == RESP.integer(16))
        #expect(driver.run("BITPOS", "str", "1", "2", "-1", "BYTE") == RESP.integer(16))
        #expect(driver.run("BITPOS", "str", "1", "7", "15", "BIT") == RESP.integer(8))
        Self.set(&driver, "str", [0x00, 0xff, 0x00])
        #expect(driver.run("BITPOS", "str", "0", "1", "-1") == RESP.integer(16))
        #expect(driver.run("BITPOS", "str", "0", "2", "200") == RESP.integer(16))
        #expect(driver.run("BITPOS", "str", "0", "1", "1") == RESP.integer(-1))
        #expect(driver.run("BITPOS", "str", "0", "8", "8", "bit") == RESP.integer(-1))
        #expect(driver.run("BITPOS", "str", "1", "2", "-1") == RESP.integer(-1))
        #expect(driver.run("BITPOS", "str", "1", "8", "8", "bit") == RESP.integer(8))
        Self.set(&driver, "str", [0xff, 0xff, 0xff])
        #expect(driver.run("BITPOS", "str", "0") == RESP.integer(24))
        #expect(driver.run("BITPOS", "str", "0", "0") == RESP.integer(24))
        #expect(driver.run("BITPOS", "str", "0", "0", "-1") == RESP.integer(-1))
        #expect(driver.run("BITPOS", "str", "0", "0", "-1", "bit") == RESP.integer(-1))
        Self.set(&driver, "str", [])
        #expect(driver.run("BITPOS", "str", "1") == RESP.integer(-1))
        #expect(driver.run("BITPOS", "str", "0") == RESP.integer(-1), "an empty value holds no bit")
        #expect(driver.run("BITPOS", "str", "2") == RESP.error("ERR The bit argument must be 1 or 0."))
        #expect(driver.run("BITPOS", "str", "x") == RESP.error("ERR value is not an integer or out of range"))
        #expect(driver.run("BITPOS", "str", "1", "0", "1", "word") == RESP.error("ERR syntax error"))
        #expect(driver.run("BITPOS", "str", "1", "0", "1", "bit", "x") == RESP.error("ERR syntax error"))
    }

    @Test("BITCOUNT and BITPOS agree with a bit-by-bit model over random values and ranges")
    func fuzz() {
        var driver = StoreDriver()
        var generator = SplitMix64(seed: 11)
        for _ in 0..<300 {
            let value = (0..<Int(generator.next() % 12)).map { _ in
                UInt8(truncatingIfNeeded: generator.next() & generator.next())
            }
            Self.set(&driver, "k", value)
            let bits = value.flatMap { byte in (0..<8).map { (byte >> (7 - $0)) & 1 } }
            let isBit = generator.next() % 2 == 0
            let total = isBit ? bits.count : value.count
            let start = Int(generator.next() % 40) - 20, end = Int(generator.next() % 40) - 20
            let unit = isBit ? "BIT" : "BYTE"
            // The model: Redis's clamping, then a walk over the bits the range covers.
            var from = start < 0 ? total + start : start, through = end < 0 ? total + end : end
            from = max(from, 0)
            through = min(max(through, 0), total - 1)
            let covered = from <= through ? (isBit ? from..<through + 1 : from * 8..<(through + 1) * 8) : 0..<0
            let ones = start < 0 && end < 0 && start > end ? 0 : covered.reduce(0) { $0 + Int(bits[$1]) }
            #expect(
                driver.run("BITCOUNT", "k", "\(start)", "\(end)", unit) == RESP.integer(ones),
                "\(value) \(start) \(end) \(unit)")
            for sought in [UInt8(0), 1] {
                let found = covered.first { bits[$0] == sought } ?? -1
                #expect(
                    driver.run("BITPOS", "k", "\(sought)", "\(start)", "\(end)", unit) == RESP.integer(found),
                    "\(value) \(sought) \(start) \(end) \(unit)")
            }
            let wholeZero = bits.firstIndex(of: 0) ?? bits.count
            #expect(driver.run("BITPOS", "k", "0") == RESP.integer(value.isEmpty ? -1 : wholeZero))
            #expect(driver.run("BITCOUNT", "k") == RESP.integer(bits.reduce(0) { $0 + Int($1) }))
        }
    }

    @Test("BITOP combines values byte by byte, padding shorter ones with zeros, as `tests/unit/bitops.tcl` checks")
    func bitOperation() {
        var driver = StoreDriver()
        Self.set(&driver, "s", [0xaa, 0x00, 0xff, 0x55])
        #expect(driver.run("BITOP", "NOT", "dest", "s") == RESP.integer(4))
        #expect(driver.store.storedValue(StoreKey(bytes("dest"))) == [0x55, 0xff, 0x00, 0xaa])
        #expect(driver.run("BITOP", "not", "s", "s") == RESP.integer(4), "the destination may be the source")
        #expect(driver.store.storedValue(StoreKey(bytes("s"))) == [0x55, 0xff, 0x00, 0xaa])
        Self.set(&driver, "a", [0x01, 0x02, 0xff, 0xff])
        Self.set(&driver, "b", [0x01, 0x02, 0xff])
        for (operation, expected) in [("AND", [0x01, 0x02, 0xff, 0x00]), ("OR", [0x01, 0x02, 0xff, 0xff]),
            ("XOR", [0x00, 0x00, 0x00, 0xff])] as [(String, [UInt8])]
        {
            #expect(driver.run("BITOP", operation, "res", "a", "b") == RESP.integer(4))
            #expect(driver.store.storedValue(StoreKey(bytes("res"))) == expected, "\(operation)")
            #expect(driver.run("BITOP", operation, "one", "a") == RESP.integer(4))
            #expect(driver.store.storedValue(StoreKey(bytes("one"))) == [0x01, 0x02, 0xff, 0xff], "a single source")
        }
        #expect(driver.run("BITOP", "AND", "res", "no-such-key", "a") == RESP.integer(4))
        #expect(driver.store.storedValue(StoreKey(bytes("res"))) == [0, 0, 0, 0], "a missing key is zeros")
        driver.run("SET", "res", "v", "EX", "100")
        #expect(driver.run("BITOP", "OR", "res", "a") == RESP.integer(4))
        #expect(driver.run("TTL", "res") == RESP.integer(-1), "the destination loses its TTL, as SET's")
        Self.set(&driver, "empty", [])
        #expect(driver.run("BITOP", "NOT", "res", "empty") == RESP.integer(0))
        #expect(driver.run("EXISTS", "res") == RESP.integer(0), "an empty result deletes the destination")
        driver.run("LPUSH", "list", "foo")
        #expect(driver.run("BITOP", "XOR", "dest", "a", "b", "list", "d").hasPrefix("-WRONGTYPE"))
        #expect(
            driver.run("BITOP", "NOT", "dest", "a", "b")
                == RESP.error("ERR BITOP NOT must be called with a single source key."))
        #expect(driver.run("BITOP", "NAND", "dest", "a") == RESP.error("ERR syntax error"))
        var backup = KeyValueStore()
        #expect(replay(driver.log, into: &backup).divergence == nil)
        #expect(backup.digest() == driver.store.digest())
    }

    /// Sets `key` to the bytes `value`, which need not be UTF-8.
    static func set(_ driver: inout StoreDriver, _ key: String, _ value: [UInt8]) {
        driver.run(arguments: [bytes("SET"), bytes(key), value])
    }

    static func ones(_ text: String) -> Int {
        text.utf8.reduce(0) { $0 + $1.nonzeroBitCount }
    }
}
