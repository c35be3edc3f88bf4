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
