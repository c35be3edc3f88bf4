@testable import KeyValue
import Replication
import Testing

/// One SCAN-family reply: the next cursor and the elements.
private struct ScanPage {
    var cursor: String
    var elements: [String]

    init(_ reply: [UInt8]) {
        guard case .array(let parts?) = DecodedReply.one(reply), parts.count == 2, case .bulk(let cursor?) = parts[0],
            case .array(let elements?) = parts[1]
        else {
            Issue.record("not a scan reply: \(text(reply))")
            self.cursor = "0"
            self.elements = []
            return
        }
        self.cursor = cursor
        self.elements = elements.map { element in
            if case .bulk(let value?) = element { return value }
            Issue.record("not a bulk element: \(element)")
            return ""
        }
    }
}

/// SCAN, HSCAN, SSCAN, ZSCAN: Redis 7.0's replies and errors, and the guarantee (every element present throughout is
/// returned) while the table splits and merges between calls and when a restored store continues the cursor.
@Suite("SCAN and its collection forms")
struct ScanTests {
    private func populate(_ driver: inout StoreDriver, _ prefix: String, _ range: Range<Int>) {
        for index in range { driver.run("SET", "\(prefix):\(index)", "v") }
    }

    private func page(_ driver: inout StoreDriver, _ arguments: [String]) -> ScanPage {
        ScanPage(driver.run(arguments: arguments.map(bytes)))
    }

    /// Scans to the end from `cursor`, running `between` after every call; returns everything returned.
    private func scanAll(
        _ driver: inout StoreDriver, _ command: [String], options: [String] = [], from cursor: String = "0",
        callsLimit: Int = 100_000, between: (inout StoreDriver, Int) -> Void = { _, _ in }
    ) -> [String] {
        var cursor = cursor
        var seen: [String] = []
        for call in 0..<callsLimit {
            let page = page(&driver, command + [cursor] + options)
            seen += page.elements
            cursor = page.cursor
            if cursor == "0" { return seen }
            between(&driver, call)
        }
        Issue.record("the scan did not end within \(callsLimit) calls")
        return seen
    }

    @Test("cursors parse as Redis's strtoul reads them")
    func cursorParsing() {
        let cases: [(String, UInt64?)] = [
            ("0", 0), ("", 0), ("42", 42), ("+7", 7), ("-1", UInt64.max), ("18446744073709551615", UInt64.max),
            ("18446744073709551616", nil), (" 1", nil), ("1 ", nil), ("1a", nil), ("-", nil), ("+", nil), ("0x10", nil),
        ]
        for (input, expected) in cases { #expect(ScanCursor.parse(bytes(input)[...]) == expected, "\(input)") }
        #expect(ScanCursor.reversed(1) == 1 << 63)
        #expect(ScanCursor.advanced(0, bits: 0) == 0)
        // Reverse-binary order over 4 classes: 0, 2, 1, 3, then the end.
        #expect(ScanCursor.advanced(0, bits: 2) == 2)
        #expect(ScanCursor.advanced(2, bits: 2) == 1)
        #expect(ScanCursor.advanced(1, bits: 2) == 3)
        #expect(ScanCursor.advanced(3, bits: 2) == 0)
    }

    @Test("a full SCAN returns every key once when nothing changes, and matches KEYS")
    func fullScan() {
        var driver = StoreDriver()
        populate(&driver, "key", 0..<5_000)
        #expect(driver.store.shards.count > 4)
        let seen = scanAll(&driver, ["SCAN"])
        #expect(seen.count == 5_000, "a stable table returns each key once")
        #expect(Set(seen) == Set((0..<5_000).map { "key:\($0)" }))
    }

    @Test("keys present throughout are returned while keys added between calls split shards")
    func guaranteeUnderGrowth() {
        var driver = StoreDriver()
        populate(&driver, "base", 0..<2_000)
        let shardsBefore = driver.store.shards.count
        var added = 0
        // Growth for the first calls only: a table growing faster than a scan visits shards would outrun it forever.
        let seen = scanAll(&driver, ["SCAN"], options: ["COUNT", "5"]) { driver, call in
            for _ in 0..<(call < 20 ? 1_500 : 0) {
                driver.run("SET", "added:\(added)", "v")
                added += 1
            }
        }
        #expect(driver.store.shards.count >= 2 * shardsBefore, "the table did not grow mid-scan")
        let missing = Set((0..<2_000).map { "base:\($0)" }).subtracting(seen)
        #expect(missing.isEmpty, "missing \(missing.count) keys, e.g. \(missing.prefix(3))")
    }

    @Test("keys present throughout are returned while keys removed between calls merge shards")
    func guaranteeUnderShrink() {
        var driver = StoreDriver()
        populate(&driver, "base", 0..<1_000)
        populate(&driver, "extra", 0..<15_000)
        let shardsBefore = driver.store.shards.count
        var removed = 0
        let seen = scanAll(&driver, ["SCAN"]) { driver, _ in
            for _ in 0..<1_500 where removed < 15_000 {
                driver.run("DEL", "extra:\(removed)")
                removed += 1
            }
        }
        #expect(driver.store.shards.count * 4 < shardsBefore, "the table did not shrink mid-scan")
        let missing = Set((0..<1_000).map { "base:\($0)" }).subtracting(seen)
        #expect(missing.isEmpty, "missing \(missing.count) keys, e.g. \(missing.prefix(3))")
    }

    @Test("a store restored from a snapshot mid-iteration continues the cursor: the failover case")
    func continuesAfterRestore() throws {
        var primary = StoreDriver()
        populate(&primary, "key", 0..<6_000)
        var seen: [String] = []
        var cursor = "0"
        for _ in 0..<3 {
            let page = page(&primary, ["SCAN", cursor])
            seen += page.elements
            cursor = page.cursor
        }
        #expect(cursor != "0")
        var backup = StoreDriver()
        backup.store = try KeyValueStore.restored(from: primary.store.encoded(), chunkBytes: 4_099)
        // The same state answers the same cursor alike on both nodes.
        let onPrimary = primary.run("SCAN", cursor, "COUNT", "50")
        let onBackup = backup.run("SCAN", cursor, "COUNT", "50")
        #expect(onPrimary == onBackup)
        // The backup, now primary, changes its table before the client continues.
        populate(&backup, "later", 0..<3_000)
        for index in stride(from: 0, to: 6_000, by: 3) { backup.run("DEL", "key:\(index)") }
        seen += scanAll(&backup, ["SCAN"], from: cursor)
        let kept = (0..<6_000).filter { $0 % 3 != 0 }.map { "key:\($0)" }
        let missing = Set(kept).subtracting(seen)
        #expect(missing.isEmpty, "missing \(missing.count) keys after the restore")
    }

    @Test("MATCH, COUNT and TYPE filter as Redis's do, after gathering")
    func options() {
        var driver = StoreDriver()
        populate(&driver, "key", 0..<1_000)
        driver.run("HSET", "h", "f", "v")
        driver.run("SADD", "s", "m")
        driver.run("RPUSH", "l", "e")
        driver.run("ZADD", "z", "1", "m")
        #expect(Set(scanAll(&driver, ["SCAN"], options: ["MATCH", "key:1??"])).count == 100)
        #expect(scanAll(&driver, ["SCAN"], options: ["TYPE", "hash"]) == ["h"])
        #expect(scanAll(&driver, ["SCAN"], options: ["type", "ZSET"]) == ["z"])
        #expect(scanAll(&driver, ["SCAN"], options: ["TYPE", "list", "MATCH", "l*", "COUNT", "3"]) == ["l"])
        #expect(scanAll(&driver, ["SCAN"], options: ["TYPE", "nosuchtype"]).isEmpty)
        #expect(Set(scanAll(&driver, ["SCAN"], options: ["TYPE", "string", "match", "*"])).count == 1_000)
        // COUNT larger than the store: one call (one shard here) returns it all.
        let all = page(&driver, ["SCAN", "0", "COUNT", "100000"])
        #expect(all.cursor == "0" && all.elements.count == 1_004)
    }

    @Test("errors: Redis 7.0's texts, checked in Redis's order")
    func errors() {
        var driver = StoreDriver()
        driver.run("SET", "str", "v")
        driver.run("HSET", "h", "f", "v")
        let invalidCursor = "-ERR invalid cursor\r\n"
        #expect(driver.run("SCAN", "abc") == invalidCursor)
        #expect(driver.run("SCAN", " 1") == invalidCursor)
        #expect(driver.run("SCAN", "18446744073709551616") == invalidCursor)
        #expect(driver.run("SCAN", "0", "COUNT", "0") == "-ERR syntax error\r\n")
        #expect(driver.run("SCAN", "0", "COUNT", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("SCAN", "0", "MATCH") == "-ERR syntax error\r\n")
        #expect(driver.run("SCAN", "0", "NOVALUES") == "-ERR syntax error\r\n")
        #expect(driver.run("SCAN") == "-ERR wrong number of arguments for 'scan' command\r\n")
        #expect(driver.run("HSCAN", "h") == "-ERR wrong number of arguments for 'hscan' command\r\n")
        #expect(driver.run("HSCAN", "h", "0", "TYPE", "string") == "-ERR syntax error\r\n")
        #expect(driver.run("HSCAN", "h", "0", "NOVALUES") == "-ERR syntax error\r\n")
        #expect(driver.run("HSCAN", "h", "x") == invalidCursor)
        #expect(driver.run("HSCAN", "str", "0") == "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        #expect(driver.run("SSCAN", "h", "0") == "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n")
        // A missing key answers the empty scan before its options are read, as Redis does.
        #expect(driver.run("ZSCAN", "missing", "0", "COUNT", "0") == "*2\r\n$1\r\n0\r\n*0\r\n")
        #expect(driver.run("ZSCAN", "missing", "x") == invalidCursor)
    }

    @Test("small collections answer whole with cursor 0: fields with values, members, members with scores")
    func smallCollections() {
        var driver = StoreDriver()
        driver.run("HSET", "h", "a", "1", "b", "2", "foo", "3")
        driver.run("SADD", "s", "x", "y", "foobar")
        driver.run("ZADD", "z", "1.5", "p", "-2", "q")
        let hash = page(&driver, ["HSCAN", "h", "0"])
        #expect(hash.cursor == "0" && hash.elements == ["a", "1", "b", "2", "foo", "3"])
        #expect(page(&driver, ["HSCAN", "h", "0", "MATCH", "f*"]).elements == ["foo", "3"])
        let set = page(&driver, ["SSCAN", "s", "0", "COUNT", "1"])
        #expect(set.cursor == "0" && set.elements == ["x", "y", "foobar"])
        let sortedSet = page(&driver, ["ZSCAN", "z", "0"])
        #expect(sortedSet.cursor == "0" && sortedSet.elements == ["p", "1.5", "q", "-2"])
    }

    @Test("large collections scan by cursor while members come and go, and across a restore")
    func largeCollections() throws {
        for (kind, add, remove) in [("SSCAN", "SADD", "SREM"), ("HSCAN", "HSET", "HDEL"), ("ZSCAN", "ZADD", "ZREM")] {
            var driver = StoreDriver()
            // One command per batch: the driver checks a small store's invariants, O(the collection), per command.
            func addMembers(_ driver: inout StoreDriver, _ names: [String]) {
                let pairs = names.flatMap { add == "SADD" ? [$0] : add == "HSET" ? [$0, "7"] : ["7", $0] }
                driver.run(arguments: ([add, "c"] + pairs).map(bytes))
            }
            addMembers(&driver, (0..<1_000).map { "base:\($0)" })
            addMembers(&driver, (0..<1_500).map { "gone:\($0)" })
            var cursor = "0"
            var seen: [String] = []
            for _ in 0..<5 {
                let page = page(&driver, [kind, "c", cursor])
                #expect(page.cursor != "0", "a large collection answered whole")
                seen += page.elements
                cursor = page.cursor
            }
            // Failover: the restored store's member tables are sized for their count, not the primary's history.
            var backup = StoreDriver()
            backup.store = try KeyValueStore.restored(from: driver.store.encoded())
            var added = 0
            // Changes for the first calls only: a table growing faster than a scan visits it would outrun it forever.
            let rest = scanAll(&backup, [kind, "c"], options: ["COUNT", "50"], from: cursor) { backup, call in
                guard call < 15 else { return }
                backup.run(arguments: ([remove, "c"] + (call * 100..<(call * 100 + 100)).map { "gone:\($0)" }).map(bytes))
                addMembers(&backup, (added..<(added + 200)).map { "added:\($0)" })
                added += 200
            }
            seen += rest
            let names = kind == "SSCAN" ? seen : stride(from: 0, to: seen.count, by: 2).map { seen[$0] }
            if kind != "SSCAN" { #expect(stride(from: 1, to: seen.count, by: 2).allSatisfy { seen[$0] == "7" }) }
            let missing = Set((0..<1_000).map { "base:\($0)" }).subtracting(names)
            #expect(missing.isEmpty, "\(kind) missed \(missing.count) members")
        }
    }

    @Test("a call visits a bounded number of shards even when MATCH filters everything out")
    func boundedWork() {
        var driver = StoreDriver()
        populate(&driver, "key", 0..<20_000)
        let shards = driver.store.shards.count
        #expect(shards >= 32)
        let matched = scanAll(&driver, ["SCAN"], options: ["MATCH", "nothing*", "COUNT", "100000000"]).count
        #expect(matched == 0)
        var callCount = 0
        _ = scanAll(&driver, ["SCAN"], options: ["MATCH", "nothing*", "COUNT", "100000000"]) { _, _ in callCount += 1 }
        // Each call covers at most `scanVisitsLimit` shards' classes.
        #expect(callCount + 1 >= shards / KeyValueStore.scanVisitsLimit)
        // COUNT 1 visits one shard: its keys, and no more.
        let one = page(&driver, ["SCAN", "0", "COUNT", "1"])
        #expect(one.elements.count == driver.store.shards[0].count)
        // A member table's calls are bounded the same way, by its shards.
        for index in 0..<8_000 { driver.run("SADD", "set", "m\(index)") }
        var memberCalls = 0
        _ = scanAll(&driver, ["SSCAN", "set"], options: ["MATCH", "x*", "COUNT", "100000000"]) { _, _ in
            memberCalls += 1
        }
        #expect(memberCalls + 1 >= 8_000 / MemberTable.shardLoadBound / KeyValueStore.scanVisitsLimit)
    }

    @Test("SCAN is a read without an entry, skips expired keys without deleting them, and scans its database")
    func readsAndExpiry() {
        var driver = StoreDriver()
        populate(&driver, "key", 0..<50)
        driver.run("SET", "fading", "v", "PX", "100")
        driver.run("HSET", "h", "f", "v")
        driver.advance(milliseconds: 200)
        let count = driver.store.count
        var context = ApplyContext.recording(from: driver.entropy)
        let read = driver.store.readReply(KeyValueCommand.encode(["SCAN", "0", "COUNT", "1000"].map(bytes)), context: &context)
        #expect(read != nil, "SCAN took a log entry")
        let logged = driver.run("SCAN", "0", "COUNT", "1000")
        #expect(read.map(text) == logged)
        #expect(!ScanPage(read ?? []).elements.contains("fading"))
        #expect(ScanPage(read ?? []).elements.count == 51)
        #expect(driver.store.count == count, "SCAN deleted a key")
        var hashContext = ApplyContext.recording(from: driver.entropy)
        let hashRead = driver.store.readReply(KeyValueCommand.encode(["HSCAN", "h", "0"].map(bytes)), context: &hashContext)
        #expect(hashRead.map(text) == "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
        let inOne = DatabaseEntry(database: 1, command: KeyValueCommand.encode(["SET", "other", "v"].map(bytes)))
        driver.run(encoded: inOne.encoded)
        let scanOne = DatabaseEntry(database: 1, command: KeyValueCommand.encode(["SCAN", "0"].map(bytes)))
        #expect(ScanPage(driver.run(encoded: scanOne.encoded)).elements == ["other"])
        #expect(!ScanPage(driver.run(arguments: ["SCAN", "0", "COUNT", "1000"].map(bytes))).elements.contains("other"))
    }
}
