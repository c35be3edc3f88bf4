import Testing
@testable import KeyValue
import Replication

/// RENAME, RENAMENX, COPY, TOUCH, OBJECT and MEMORY USAGE as Redis 7.0 documents them (`tests/unit/keyspace.tcl`, the command
/// pages), replicated: a backup replaying the log ends with the same digest.
@Suite("key commands")
struct KeyCommandTests {
    @Test("RENAME moves the value and its TTL, replacing the target and its TTL; a missing source is an error")
    func rename() {
        var node = ConnectedStore()
        node.send(1, "SET", "mykey", "hello")
        #expect(node.send(1, "RENAME", "mykey", "mykey1") == RESP.ok)
        #expect(node.send(1, "GET", "mykey1") == RESP.bulk("hello"))
        #expect(node.send(1, "EXISTS", "mykey") == RESP.integer(0))
        node.send(1, "SET", "mykey", "a")
        node.send(1, "SET", "mykey2", "b", "EX", "100")
        #expect(node.send(1, "RENAME", "mykey2", "mykey") == RESP.ok)
        #expect(node.send(1, "GET", "mykey") == RESP.bulk("b"))
        #expect(node.send(1, "TTL", "mykey") == RESP.integer(100), "the TTL moves")
        node.send(1, "SET", "plain", "c")
        #expect(node.send(1, "RENAME", "plain", "mykey") == RESP.ok)
        #expect(node.send(1, "TTL", "mykey") == RESP.integer(-1), "the target's TTL does not stay")
        #expect(node.send(1, "RENAME", "nokey", "foobar") == RESP.error("ERR no such key"))
        #expect(node.send(1, "RENAME", "nokey", "nokey") == RESP.error("ERR no such key"))
        #expect(node.send(1, "RENAME", "mykey", "mykey") == RESP.ok)
        #expect(node.send(1, "GET", "mykey") == RESP.bulk("c"))
        node.send(1, "RPUSH", "list", "1", "2", "3")
        #expect(node.send(1, "RENAME", "list", "mykey") == RESP.ok, "a list replaces a string")
        let moved = RESP.array(RESP.bulk("1"), RESP.bulk("2"), RESP.bulk("3"))
        #expect(node.send(1, "LRANGE", "mykey", "0", "-1") == moved)
        #expect(node.send(1, "TYPE", "list") == "+none\r\n")
        #expect(node.send(1, "DBSIZE") == RESP.integer(2))
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("RENAMENX renames only to a missing key: 1, or 0 and nothing changed")
    func renameIfAbsent() {
        var node = ConnectedStore()
        node.send(1, "SET", "mykey", "foobar")
        #expect(node.send(1, "RENAMENX", "mykey", "mykey2") == RESP.integer(1))
        #expect(node.send(1, "GET", "mykey2") == RESP.bulk("foobar"))
        node.send(1, "SET", "mykey", "foo")
        #expect(node.send(1, "RENAMENX", "mykey", "mykey2") == RESP.integer(0))
        #expect(node.send(1, "GET", "mykey") == RESP.bulk("foo"))
        #expect(node.send(1, "GET", "mykey2") == RESP.bulk("foobar"))
        #expect(node.send(1, "RENAMENX", "mykey", "mykey") == RESP.integer(0))
        #expect(node.send(1, "RENAMENX", "nokey", "x") == RESP.error("ERR no such key"))
        // An expired target counts as missing.
        node.send(1, "SET", "short", "v", "PX", "10")
        node.primary.advance(milliseconds: 20)
        #expect(node.send(1, "RENAMENX", "mykey", "short") == RESP.integer(1))
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("COPY copies a value of each kind with its TTL, independent of the source; REPLACE and DB as Redis's")
    func copy() {
        var node = ConnectedStore()
        node.send(1, "SET", "mykey", "foobar", "EX", "100")
        #expect(node.send(1, "COPY", "mykey", "mynewkey") == RESP.integer(1))
        #expect(node.send(1, "GET", "mynewkey") == RESP.bulk("foobar"))
        #expect(node.send(1, "TTL", "mynewkey") == RESP.integer(100))
        node.send(1, "SET", "mykey", "changed")
        #expect(node.send(1, "GET", "mynewkey") == RESP.bulk("foobar"), "the copy is its own")
        #expect(node.send(1, "COPY", "mykey", "mynewkey") == RESP.integer(0))
        #expect(node.send(1, "COPY", "mykey", "mynewkey", "REPLACE") == RESP.integer(1))
        #expect(node.send(1, "GET", "mynewkey") == RESP.bulk("changed"))
        #expect(node.send(1, "TTL", "mynewkey") == RESP.integer(-1))
        #expect(node.send(1, "COPY", "nokey", "x") == RESP.integer(0))
        #expect(node.send(1, "COPY", "mykey", "mykey") == RESP.error("ERR source and destination objects are the same"))
        node.send(1, "RPUSH", "list", "a", "b")
        node.send(1, "SADD", "set", "1", "x")
        node.send(1, "ZADD", "zset", "1", "a", "2", "b")
        node.send(1, "HSET", "hash", "f", "v")
        for key in ["list", "set", "zset", "hash"] {
            #expect(node.send(1, "COPY", key, key + "2") == RESP.integer(1))
        }
        node.send(1, "RPUSH", "list", "c")
        node.send(1, "SREM", "set", "x")
        node.send(1, "ZINCRBY", "zset", "5", "a")
        node.send(1, "HSET", "hash", "f", "w")
        #expect(node.send(1, "LRANGE", "list2", "0", "-1") == RESP.array(RESP.bulk("a"), RESP.bulk("b")))
        #expect(node.send(1, "SCARD", "set2") == RESP.integer(2))
        #expect(node.send(1, "ZSCORE", "zset2", "a") == RESP.bulk("1"))
        #expect(node.send(1, "HGET", "hash2", "f") == RESP.bulk("v"))
        // To another database: the same name is no conflict there.
        #expect(node.send(1, "COPY", "mykey", "mykey", "DB", "5") == RESP.integer(1))
        #expect(node.send(1, "COPY", "hash", "mykey", "DB", "5") == RESP.integer(0))
        #expect(node.send(1, "COPY", "hash", "mykey", "db", "5", "replace") == RESP.integer(1))
        #expect(node.send(2, "SELECT", "5") == RESP.ok)
        #expect(node.send(2, "HGET", "mykey", "f") == RESP.bulk("w"))
        #expect(node.send(2, "COPY", "mykey", "back", "DB", "0") == RESP.integer(1))
        #expect(node.send(1, "TYPE", "back") == "+hash\r\n")
        #expect(
            node.send(1, "COPY", "mykey", "x", "DB", "notanumber")
                == RESP.error("ERR value is not an integer or out of range"))
        #expect(node.send(1, "COPY", "mykey", "x", "DB", "16") == RESP.error("ERR DB index is out of range"))
        #expect(node.send(1, "COPY", "mykey", "x", "DB") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "COPY", "mykey", "x", "bogus") == RESP.error("ERR syntax error"))
        node.primary.store.checkInvariants()
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("RENAME and COPY spoil a WATCH of the key they write")
    func watches() {
        var node = ConnectedStore()
        node.send(1, "SET", "a", "1")
        node.send(1, "WATCH", "b")
        node.send(2, "COPY", "a", "b")
        node.send(1, "MULTI")
        node.send(1, "GET", "b")
        #expect(node.send(1, "EXEC") == RESP.nullArray)
        node.send(1, "WATCH", "a")
        node.send(2, "RENAME", "a", "c")
        node.send(1, "MULTI")
        node.send(1, "GET", "a")
        #expect(node.send(1, "EXEC") == RESP.nullArray)
    }

    @Test("TOUCH counts the keys that exist, a key named twice twice")
    func touch() {
        var node = ConnectedStore()
        node.send(1, "SET", "key1", "Hello")
        node.send(1, "SET", "key2", "World")
        #expect(node.send(1, "TOUCH", "key1", "key2", "key1", "missing") == RESP.integer(3))
    }

    @Test("OBJECT ENCODING answers what Redis 7.0 with default settings would; REFCOUNT, IDLETIME, FREQ, HELP")
    func object() {
        var node = ConnectedStore()
        let long = String(repeating: "x", count: 45), member65 = String(repeating: "m", count: 65)
        node.send(1, "SET", "int", "12345")
        node.send(1, "SET", "embstr", "foo")
        node.send(1, "SET", "raw", long)
        node.send(1, "RPUSH", "list", "a")
        node.send(1, "SADD", "intset", "1", "2", "-3")
        node.send(1, "SADD", "set", "1", "a")
        node.send(1, "HSET", "hash", "f", "v")
        node.send(1, "HSET", "bighash", "f", member65)
        node.send(1, "ZADD", "zset", "1", "a")
        node.send(1, "ZADD", "bigzset", "1", member65)
        let expected = [
            "int": "int", "embstr": "embstr", "raw": "raw", "list": "quicklist", "intset": "intset", "set": "hashtable",
            "hash": "listpack", "bighash": "hashtable", "zset": "listpack", "bigzset": "skiplist",
        ]
        for (key, encoding) in expected.sorted(by: { $0.key < $1.key }) {
            #expect(node.send(1, "OBJECT", "ENCODING", key) == RESP.bulk(encoding), "\(key)")
        }
        // Past the entry limits, by count alone.
        for member in 0...512 { node.send(1, "SADD", "manyints", "\(member)") }
        #expect(node.send(1, "OBJECT", "encoding", "manyints") == RESP.bulk("hashtable"))
        for member in 0...128 { node.send(1, "ZADD", "manyscored", "1", "\(member)") }
        #expect(node.send(1, "OBJECT", "encoding", "manyscored") == RESP.bulk("skiplist"))
        #expect(node.send(1, "OBJECT", "ENCODING", "missing") == RESP.nullBulk)
        #expect(node.send(1, "OBJECT", "REFCOUNT", "int") == RESP.integer(1))
        node.send(1, "SET", "small", "42")
        #expect(node.send(1, "OBJECT", "REFCOUNT", "small") == RESP.integer(2_147_483_647), "a shared integer")
        #expect(node.send(1, "OBJECT", "REFCOUNT", "list") == RESP.integer(1))
        #expect(node.send(1, "OBJECT", "IDLETIME", "list") == RESP.integer(0))
        #expect(node.send(1, "OBJECT", "FREQ", "list").hasPrefix("-ERR An LFU maxmemory policy is not selected"))
        #expect(node.send(1, "OBJECT", "FREQ", "missing") == RESP.nullBulk)
        #expect(node.send(1, "OBJECT", "HELP").hasPrefix("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]."))
        #expect(
            node.send(1, "OBJECT", "bogus", "list")
                == RESP.error("ERR unknown subcommand or wrong number of arguments for 'bogus'. Try OBJECT HELP."))
        #expect(node.send(1, "OBJECT", "ENCODING").hasPrefix("-ERR unknown subcommand or wrong number of arguments"))
        #expect(node.send(1, "OBJECT").hasPrefix("-ERR wrong number of arguments for 'object' command"))
    }

    @Test("OBJECT, MEMORY USAGE and TOUCH are answered without a log entry, unless a key they name has expired")
    func readsWithoutEntry() {
        var driver = StoreDriver()
        driver.run("SADD", "s", "1")
        driver.run("SET", "short", "v", "PX", "10")
        func read(_ arguments: String...) -> String? {
            var reply: [UInt8] = []
            var context = ApplyContext.recording(from: driver.entropy)
            let command = KeyValueCommand.encode(arguments.map(bytes))
            let answered = driver.store.read(command, into: &reply, context: &context)
            return answered ? text(reply) : nil
        }
        #expect(read("OBJECT", "ENCODING", "s") == RESP.bulk("intset"))
        #expect(read("MEMORY", "USAGE", "s")?.hasPrefix(":") == true)
        #expect(read("TOUCH", "s", "short") == RESP.integer(2))
        driver.advance(milliseconds: 20)
        #expect(read("OBJECT", "ENCODING", "short") == nil, "the expired key's deletion goes through the log")
        #expect(read("TOUCH", "s", "short") == nil)
        #expect(read("MEMORY", "USAGE", "short") == nil)
        #expect(driver.run("TOUCH", "s", "short") == RESP.integer(1))
    }

    @Test("MEMORY USAGE estimates a key's bytes, growing with its contents; null for a missing key; SAMPLES checked")
    func memoryUsage() {
        var node = ConnectedStore()
        func usage(_ key: String) -> Int64? {
            guard case .integer(let bytes)? = DecodedReply.one(Array(node.send(1, "MEMORY", "USAGE", key).utf8)) else {
                return nil
            }
            return bytes
        }
        node.send(1, "SET", "short", "v")
        node.send(1, "SET", "long", String(repeating: "x", count: 10_000))
        #expect(usage("short").map { $0 > 1 && $0 < 100 } == true)
        #expect(usage("long").map { $0 >= 10_000 && $0 < 10_200 } == true, "a large value's own buffer counts")
        node.send(1, "HSET", "h", "f", "v")
        let small = usage("h") ?? 0
        node.send(1, arguments: ["HSET", "h"] + (0..<100).flatMap { ["field\($0)", String(repeating: "v", count: 50)] })
        #expect((usage("h") ?? 0) > small + 100 * 50, "each field and value counts, with its overhead")
        node.send(1, arguments: ["RPUSH", "l"] + (0..<100).map { "e\($0)" })
        #expect((usage("l") ?? 0) > 100 * 48)
        node.send(1, "ZADD", "z", "1", "a", "2", "b")
        node.send(1, "SADD", "s", "a", "b")
        #expect((usage("z") ?? 0) > (usage("s") ?? 0), "a sorted set's members carry their scores too")
        #expect(node.send(1, "MEMORY", "USAGE", "missing") == RESP.nullBulk)
        #expect(node.send(1, "MEMORY", "USAGE", "h", "SAMPLES", "0") == node.send(1, "MEMORY", "USAGE", "h"))
        #expect(node.send(1, "MEMORY", "USAGE", "h", "SAMPLES") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "MEMORY", "USAGE", "h", "SAMPLES", "-1") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "MEMORY", "USAGE", "h", "SAMPLES", "x")
            == RESP.error("ERR value is not an integer or out of range"))
        #expect(node.send(1, "MEMORY", "NOPE") == RESP.error(
            "ERR unknown subcommand or wrong number of arguments for 'NOPE'. Try MEMORY HELP."))
        #expect(node.send(1, "MEMORY") == RESP.error("ERR wrong number of arguments for 'memory' command"))
        #expect(DecodedReply.one(Array(node.send(1, "MEMORY", "HELP").utf8))?.elements.count == 6)
    }
}
