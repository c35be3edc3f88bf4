@testable import KeyValue
import Replication
import Testing

/// `KeyValueStore.read`: which commands the primary answers without a log entry, and that their replies are exactly
/// those the logged command would give, with the store left as it was.
extension KeyValueStore {
    /// `read`'s reply alone, or nil when it declines; `read` must append after the replies already in the array and
    /// leave them be, and append nothing when it declines.
    func readReply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8]? {
        let earlier = Array("+earlier\r\n".utf8)
        var replies = earlier
        let isRead = read(command, into: &replies, context: &context)
        #expect(Array(replies.prefix(earlier.count)) == earlier, "a read changed an earlier reply")
        #expect(isRead || replies.count == earlier.count, "a declining read appended a reply")
        return isRead ? Array(replies.dropFirst(earlier.count)) : nil
    }
}

@Suite("reads without log entries")
struct ReadTests {
    /// The reply `read` gives to `arguments`, or nil when the command must be logged.
    private func read(_ driver: StoreDriver, _ arguments: String...) -> String? {
        read(driver, arguments)
    }

    private func read(_ driver: StoreDriver, _ arguments: [String]) -> String? {
        var context = ApplyContext.recording(from: driver.entropy)
        return driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context).map(text)
    }

    private func sample() -> StoreDriver {
        var driver = StoreDriver()
        driver.run("SET", "plain", "hello")
        driver.run("SET", "timed", "soon", "PX", "5000")
        driver.run("SET", "fading", "gone", "PX", "100")
        driver.run("INCR", "counter")
        return driver
    }

    @Test("each read gives the logged command's reply and changes nothing")
    func sameReplyNoChange() {
        var driver = sample()
        let reads: [[String]] = [
            ["GET", "plain"], ["GET", "missing"], ["MGET", "plain", "missing", "counter"], ["EXISTS", "plain", "plain", "x"],
            ["TYPE", "plain"], ["TYPE", "missing"], ["STRLEN", "plain"], ["TTL", "timed"], ["PTTL", "plain"],
            ["EXPIRETIME", "timed"], ["PEXPIRETIME", "missing"], ["DBSIZE"],
        ]
        for arguments in reads {
            let digest = driver.store.digest(), count = driver.store.count
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context).map(text)
            #expect(driver.store.digest() == digest && driver.store.count == count, "\(arguments) changed the store")
            let logged = driver.run(arguments: arguments.map(bytes))
            #expect(answered == text(logged), "\(arguments)")
        }
    }

    @Test("a GET in any letter case is answered from its key alone; commands that only resemble GET are not taken for it")
    func getSpellings() {
        let driver = sample()
        for name in ["GET", "get", "gEt", "Get"] {
            #expect(read(driver, name, "plain") == "$5\r\nhello\r\n", "\(name)")
            #expect(read(driver, name, "missing") == "$-1\r\n", "\(name)")
        }
        let encoding = KeyValueCommand.encode([bytes("GET"), bytes("plain")])
        #expect(CommandArguments.getKey(encoding) == 6..<encoding.count)
        let lookalikes: [[String]] = [
            ["GETDEL", "plain"], ["GETSET", "plain", "x"], ["GET"], ["GET", "plain", "x"], ["SET", "plain"],
            ["GEU", "plain"], ["FET", "plain"], ["GAT", "plain"], ["G\u{7}T", "plain"],
        ]
        for arguments in lookalikes {
            #expect(CommandArguments.getKey(KeyValueCommand.encode(arguments.map(bytes))) == nil, "\(arguments)")
        }
    }

    @Test("a read of more keys than a one-byte count holds is still answered, as the logged command answers it")
    func longRead() {
        var driver = sample()
        // 200 keys: the encoding's argument count takes two bytes, before the name.
        let arguments = ["MGET"] + (0..<199).map { $0 % 2 == 0 ? "plain" : "missing\($0)" }
        let answered = read(driver, arguments)
        #expect(answered != nil)
        #expect(answered == text(driver.run(arguments: arguments.map(bytes))))
    }

    @Test("a GET is answered alike whether its key's length takes one byte of the encoding or two")
    func longKey() {
        var driver = sample()
        let long = String(repeating: "k", count: 200)
        driver.run("SET", long, "far")
        #expect(read(driver, "GET", long) == "$3\r\nfar\r\n")
        #expect(read(driver, "GET", String(long.dropLast())) == "$-1\r\n")
        #expect(read(driver, "GET", "plain") == "$5\r\nhello\r\n")
    }

    @Test("a read that meets an expired key is logged, so the deletion happens on both nodes")
    func expiredKeyIsLogged() {
        var driver = sample()
        driver.advance(milliseconds: 200)
        #expect(read(driver, "GET", "fading") == nil)
        #expect(read(driver, "MGET", "plain", "fading") == nil)
        #expect(read(driver, "EXISTS", "fading") == nil)
        #expect(read(driver, "GET", "plain") == "$5\r\nhello\r\n")
        let before = driver.store.count
        #expect(driver.run("GET", "fading") == "$-1\r\n")
        #expect(driver.store.count == before - 1)
    }

    /// A store holding one of each collection, a string, and a set whose TTL has passed.
    private func collections() -> StoreDriver {
        var driver = StoreDriver()
        driver.run("SADD", "s", "a", "b")
        driver.run("HSET", "h", "f", "v")
        driver.run("ZADD", "z", "1", "one", "2", "two")
        driver.run("ZADD", "zero", "0", "m")
        driver.run("RPUSH", "l", "x")
        driver.run("SET", "str", "v")
        driver.run("SADD", "gone", "x")
        driver.run("PEXPIRE", "gone", "100")
        driver.advance(milliseconds: 200)
        return driver
    }

    @Test("a write that would change nothing is answered as a read, with the reply the logged command gives")
    func unchangingWrites() {
        var driver = collections()
        let commands: [[UInt8]] = [
            ["SADD", "s", "a"], ["SADD", "s", "b", "a", "b"], ["SREM", "s", "c"], ["SREM", "missing", "a"],
            ["HDEL", "h", "g", "e"], ["HDEL", "missing", "f"], ["ZREM", "z", "three"], ["ZREM", "missing", "one"],
            ["ZADD", "z", "1", "one"], ["ZADD", "z", "2.0", "two", "1", "one"], ["ZADD", "zero", "-0", "m"],
            ["LPOP", "missing"], ["RPOP", "missing", "3"], ["LPOP", "missing", "0"], ["RPOP", "missing", "-1"],
            ["LPOP", "missing", "many"], ["SPOP", "missing"], ["SPOP", "missing", "2"], ["ZPOPMIN", "missing"],
            ["ZPOPMAX", "missing", "2"], ["DEL", "missing"], ["UNLINK", "missing", "other"],
        ].map { KeyValueCommand.encode($0.map(bytes)) }
        // In RESP3 and in another database, the same commands are answered the same way.
        let wrapped = [["LPOP", "missing"], ["ZPOPMIN", "missing"], ["SADD", "s", "a"]].map {
            RESP3Entry.wrapping(KeyValueCommand.encode($0.map(bytes)))
        }
        let inDatabase = DatabaseEntry.encoding(KeyValueCommand.encode(["SREM", "s", "a"].map(bytes)), in: 3)
        for command in commands + wrapped + [inDatabase] {
            let digest = driver.store.digest(), count = driver.store.count
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(command, context: &context)
            #expect(answered != nil, "\(text(command)) was logged")
            let logged = driver.run(encoded: command)
            #expect(answered == logged, "\(text(command))")
            #expect(
                driver.store.digest() == digest && driver.store.count == count, "\(text(command)) changed the store")
        }
        #expect(driver.run("ZSCORE", "zero", "m") == "$1\r\n0\r\n", "an equal score replaced the stored one")
    }

    @Test("the same writes are logged when they change something, meet a wrong type or an expired key, or take options")
    func changingWritesAreLogged() {
        let driver = collections()
        let commands: [[String]] = [
            ["SADD", "s", "a", "c"], ["SADD", "missing", "a"], ["SREM", "s", "c", "a"], ["HDEL", "h", "f"],
            ["ZREM", "z", "one"], ["ZADD", "z", "3", "one"], ["ZADD", "z", "1", "one", "3", "three"],
            ["ZADD", "missing", "1", "one"], ["ZADD", "z", "NX", "1", "one"], ["ZADD", "z", "XX", "CH", "1", "one"],
            ["ZADD", "z", "nan", "one"], ["LPOP", "l"], ["RPOP", "l", "2"], ["SPOP", "s"], ["ZPOPMIN", "z"],
            ["ZPOPMAX", "zero", "2"], ["DEL", "missing", "str"], ["UNLINK", "str"],
            // Wrong types: `apply` answers WRONGTYPE.
            ["SADD", "str", "a"], ["SREM", "h", "f"], ["HDEL", "s", "a"], ["ZREM", "s", "a"], ["ZADD", "s", "1", "a"],
            ["LPOP", "str"], ["ZPOPMIN", "s"],
            // An expired key is deleted by the entry, on both nodes.
            ["SADD", "gone", "x"], ["SREM", "gone", "y"], ["SPOP", "gone"], ["DEL", "gone"],
            ["UNLINK", "missing", "gone"],
        ]
        for arguments in commands {
            var context = ApplyContext.recording(from: driver.entropy)
            #expect(driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context) == nil,
                "\(arguments) was answered without an entry")
        }
    }

    @Test("writes, random picks, KEYS, unknown and malformed commands are logged")
    func othersAreLogged() {
        let driver = sample()
        for arguments in [["SET", "k", "v"], ["INCR", "counter"], ["DEL", "plain"], ["RANDOMKEY"], ["KEYS", "*"],
            ["GET"], ["GET", "a", "b"], ["NOSUCH", "x"], ["GETDEL", "plain"]]
        {
            var context = ApplyContext.recording(from: driver.entropy)
            #expect(driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context) == nil, "\(arguments)")
        }
        var context = ApplyContext.recording(from: driver.entropy)
        #expect(driver.store.readReply([1, 2, 3], context: &context) == nil)
        // GET with its key cut short, with a byte too many, and with a count of 3 for its two arguments
        let get = KeyValueCommand.encode([bytes("GET"), bytes("plain")])
        for malformed in [Array(get.dropLast()), get + [0], [3] + get.dropFirst()] {
            #expect(driver.store.readReply(malformed, context: &context) == nil, "\(malformed)")
        }
    }
}
