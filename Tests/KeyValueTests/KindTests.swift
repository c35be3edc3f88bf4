import Testing
@testable import KeyValue
import Replication

/// Keys of every kind: TYPE, WRONGTYPE both ways, the keyspace commands, TTLs, the digest and the snapshot.
@Suite("keys hold strings or collections")
struct KindTests {
    static let wrongType = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"

    @Test("TYPE names each kind, and none for a missing key")
    func typeNames() {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        driver.run("HSET", "h", "f", "v")
        #expect(driver.run("TYPE", "s") == "+string\r\n")
        #expect(driver.run("TYPE", "h") == "+hash\r\n")
        #expect(driver.run("TYPE", "missing") == "+none\r\n")
    }

    @Test("every string command on a hash answers WRONGTYPE and changes nothing; MGET reads it as null")
    func stringCommandsOnHash() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "f", "1")
        let digest = driver.store.digest()
        for command in [
            ["GET", "h"], ["GETSET", "h", "x"], ["GETDEL", "h"], ["INCR", "h"], ["DECR", "h"], ["INCRBY", "h", "2"],
            ["DECRBY", "h", "2"], ["APPEND", "h", "x"], ["STRLEN", "h"], ["SET", "h", "x", "GET"],
        ] {
            #expect(driver.run(arguments: command.map(bytes)) == bytes(Self.wrongType), "\(command)")
        }
        #expect(driver.store.digest() == digest)
        #expect(driver.run("MGET", "h", "missing") == "*2\r\n$-1\r\n$-1\r\n")
        #expect(driver.run("SETNX", "h", "x") == ":0\r\n")
        #expect(driver.run("MSETNX", "h", "x", "other", "y") == ":0\r\n")
        #expect(driver.run("SET", "h", "x", "NX") == "$-1\r\n")
        #expect(driver.run("HGET", "h", "f") == "$1\r\n1\r\n")
    }

    @Test("SET, SETEX and MSET replace a hash with a string, dropping its TTL unless told otherwise")
    func setReplacesHash() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "f", "1")
        driver.run("EXPIRE", "h", "100")
        #expect(driver.run("SET", "h", "plain") == "+OK\r\n")
        #expect(driver.run("TYPE", "h") == "+string\r\n")
        #expect(driver.run("TTL", "h") == ":-1\r\n")
        driver.run("HSET", "h2", "f", "1")
        #expect(driver.run("SETEX", "h2", "10", "x") == "+OK\r\n")
        #expect(driver.run("GET", "h2") == "$1\r\nx\r\n")
        driver.run("HSET", "h3", "f", "1")
        #expect(driver.run("MSET", "h3", "y") == "+OK\r\n")
        #expect(driver.run("GET", "h3") == "$1\r\ny\r\n")
        var fresh = StoreDriver()
        fresh.run("SET", "h", "plain")
        fresh.run("SET", "h2", "x", "EX", "10")
        fresh.run("SET", "h3", "y")
        #expect(driver.store.digest() == fresh.store.digest())
    }

    @Test("hash commands on a string answer WRONGTYPE and change nothing")
    func hashCommandsOnString() {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        for command in [
            ["HSET", "s", "f", "v"], ["HSETNX", "s", "f", "v"], ["HGET", "s", "f"], ["HMGET", "s", "f"],
            ["HMSET", "s", "f", "v"], ["HDEL", "s", "f"], ["HLEN", "s"], ["HSTRLEN", "s", "f"], ["HEXISTS", "s", "f"],
            ["HKEYS", "s"], ["HVALS", "s"], ["HGETALL", "s"], ["HINCRBY", "s", "f", "1"],
            ["HINCRBYFLOAT", "s", "f", "1"], ["HRANDFIELD", "s"], ["HRANDFIELD", "s", "2"],
        ] {
            #expect(driver.run(arguments: command.map(bytes)) == bytes(Self.wrongType), "\(command)")
        }
        #expect(driver.run("GET", "s") == "$1\r\nv\r\n")
    }

    @Test("DEL, EXISTS, KEYS, RANDOMKEY, DBSIZE and the TTL commands work on collections")
    func keyspaceCommands() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "f", "v")
        driver.run("SET", "s", "v")
        #expect(driver.run("EXISTS", "h", "s", "x") == ":2\r\n")
        #expect(driver.run("DBSIZE") == ":2\r\n")
        #expect(driver.run("KEYS", "h*") == "*1\r\n$1\r\nh\r\n")
        driver.entropy.scriptedRandomValues = [0]
        #expect(driver.run("RANDOMKEY") == "$1\r\nh\r\n")
        #expect(driver.run("PEXPIRE", "h", "100") == ":1\r\n")
        #expect(driver.run("PTTL", "h") == ":100\r\n")
        #expect(driver.run("PERSIST", "h") == ":1\r\n")
        #expect(driver.run("TTL", "h") == ":-1\r\n")
        #expect(driver.run("DEL", "h", "s") == ":2\r\n")
        #expect(driver.run("DBSIZE") == ":0\r\n")
        #expect(driver.store.digest() == KeyValueStore().digest())
    }

    @Test("a hash with a TTL expires lazily when read and actively on a tick")
    func collectionsExpire() {
        var driver = StoreDriver()
        driver.run("HSET", "lazy", "f", "v")
        driver.run("HSET", "active", "f", "v")
        driver.run("PEXPIRE", "lazy", "10")
        driver.run("PEXPIRE", "active", "10")
        driver.run("HSET", "lazy", "g", "w")  // a write keeps the TTL, as in Redis
        #expect(driver.run("PTTL", "lazy") == ":10\r\n")
        driver.advance(milliseconds: 11)
        #expect(driver.run("HGET", "lazy", "f") == "$-1\r\n")
        #expect(driver.run("HLEN", "lazy") == ":0\r\n")
        #expect(driver.store.count == 1)
        for _ in 0..<4 { driver.tick() }
        #expect(driver.store.count == 0)
        #expect(driver.store.digest() == KeyValueStore().digest())
    }

    @Test("the last field deleted deletes the key")
    func emptiedCollectionDeletesKey() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "a", "1", "b", "2")
        driver.run("PEXPIRE", "h", "1000")
        #expect(driver.run("HDEL", "h", "a", "b", "c") == ":2\r\n")
        #expect(driver.run("EXISTS", "h") == ":0\r\n")
        #expect(driver.store.count == 0 && driver.store.expiringCount == 0)
        #expect(driver.store.digest() == KeyValueStore().digest())
    }

    @Test("the digest covers kind, fields and values: equal hashes built in any order agree, any change differs")
    func digestOfCollections() {
        var forward = StoreDriver()
        var backward = StoreDriver()
        for index in 0..<50 { forward.run("HSET", "h", "f\(index)", "v\(index)") }
        for index in (0..<50).reversed() { backward.run("HSET", "h", "f\(index)", "v\(index)") }
        backward.run("HSET", "h", "extra", "x")
        backward.run("HDEL", "h", "extra")
        #expect(forward.store.digest() == backward.store.digest())
        var changed = forward
        changed.run("HSET", "h", "f7", "v7!")
        #expect(changed.store.digest() != forward.store.digest())
        var string = StoreDriver()
        string.run("SET", "h", "x")
        var emptyValue = StoreDriver()
        emptyValue.run("HSET", "h", "x", "")
        #expect(string.store.digest() != emptyValue.store.digest())
    }

    @Test("hashes move with their keys when the table splits and merges")
    func collectionsSurviveSplitsAndMerges() {
        var driver = StoreDriver()
        for index in 0..<1_500 { driver.run("HSET", "h\(index)", "f", "\(index)", "g", "x") }
        #expect(driver.store.shards.count > 1)
        driver.store.checkInvariants()
        #expect(driver.run("HGET", "h1234", "f") == "$4\r\n1234\r\n")
        for index in 0..<1_490 { driver.run("DEL", "h\(index)") }
        driver.store.checkInvariants()
        #expect(driver.run("HGETALL", "h1499") == "*4\r\n$1\r\nf\r\n$4\r\n1499\r\n$1\r\ng\r\n$1\r\nx\r\n")
    }
}
