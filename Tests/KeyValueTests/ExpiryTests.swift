import Testing
@testable import KeyValue
import Replication

@Suite("expiry follows the recorded clock, lazily and actively")
struct ExpiryTests {
    @Test("a key lives through its expiry millisecond and is gone one millisecond later")
    func lazyExpiry() {
        var driver = StoreDriver()
        driver.run("SET", "k", "v", "PX", "100")
        driver.advance(milliseconds: 100)
        #expect(driver.run("GET", "k") == "$1\r\nv\r\n")
        driver.advance(milliseconds: 1)
        #expect(driver.run("DBSIZE") == ":1\r\n")  // not yet deleted: nobody looked
        #expect(driver.run("GET", "k") == "$-1\r\n")
        #expect(driver.run("DBSIZE") == ":0\r\n")  // the GET deleted it
    }

    @Test("TTL is -2 for a missing key, -1 without a TTL, and rounds seconds to nearest; PTTL is exact")
    func timeToLive() {
        var driver = StoreDriver()
        #expect(driver.run("TTL", "missing") == ":-2\r\n")
        driver.run("SET", "plain", "v")
        #expect(driver.run("TTL", "plain") == ":-1\r\n")
        #expect(driver.run("PTTL", "plain") == ":-1\r\n")
        driver.run("SET", "k", "v", "EX", "10")
        driver.advance(milliseconds: 1_400)
        #expect(driver.run("TTL", "k") == ":9\r\n")
        driver.advance(milliseconds: 200)
        #expect(driver.run("TTL", "k") == ":8\r\n")
        #expect(driver.run("PTTL", "k") == ":8400\r\n")
        #expect(driver.run("PEXPIRETIME", "k") == ":\(StoreDriver.startMilliseconds + 10_000)\r\n")
        #expect(driver.run("EXPIRETIME", "k") == ":\(StoreDriver.startMilliseconds / 1000 + 10)\r\n")
    }

    @Test("EXPIRE sets a TTL on an existing key, answers 0 for a missing one, and deletes when the time has passed")
    func expire() {
        var driver = StoreDriver()
        #expect(driver.run("EXPIRE", "missing", "10") == ":0\r\n")
        driver.run("SET", "k", "v")
        #expect(driver.run("EXPIRE", "k", "10") == ":1\r\n")
        #expect(driver.run("TTL", "k") == ":10\r\n")
        #expect(driver.run("PEXPIRE", "k", "-1") == ":1\r\n")
        #expect(driver.run("EXISTS", "k") == ":0\r\n")
        driver.run("SET", "at", "v")
        #expect(driver.run("PEXPIREAT", "at", "\(StoreDriver.startMilliseconds + 500)") == ":1\r\n")
        #expect(driver.run("PTTL", "at") == ":500\r\n")
        #expect(driver.run("EXPIRE", "at", "x") == "-ERR value is not an integer or out of range\r\n")
        #expect(driver.run("EXPIRE", "at", "9223372036854775807") == "-ERR invalid expire time in 'expire' command\r\n")
    }

    @Test("EXPIRE NX, XX, GT and LT set the TTL only when their condition holds")
    func expireConditions() {
        var driver = StoreDriver()
        driver.run("SET", "k", "v")
        #expect(driver.run("EXPIRE", "k", "100", "XX") == ":0\r\n")
        #expect(driver.run("EXPIRE", "k", "100", "GT") == ":0\r\n")  // no TTL counts as forever
        #expect(driver.run("EXPIRE", "k", "100", "NX") == ":1\r\n")
        #expect(driver.run("EXPIRE", "k", "50", "NX") == ":0\r\n")
        #expect(driver.run("EXPIRE", "k", "50", "GT") == ":0\r\n")
        #expect(driver.run("EXPIRE", "k", "200", "GT") == ":1\r\n")
        #expect(driver.run("EXPIRE", "k", "300", "LT") == ":0\r\n")
        #expect(driver.run("EXPIRE", "k", "20", "lt") == ":1\r\n")
        #expect(driver.run("TTL", "k") == ":20\r\n")
        #expect(
            driver.run("EXPIRE", "k", "1", "NX", "XX")
                == "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n")
        #expect(
            driver.run("EXPIRE", "k", "1", "GT", "LT")
                == "-ERR GT and LT options at the same time are not compatible\r\n")
        #expect(driver.run("EXPIRE", "k", "1", "SOON") == "-ERR Unsupported option SOON\r\n")
    }

    @Test("PERSIST removes a TTL (1) and answers 0 when there is none; plain SET clears a TTL, KEEPTTL keeps it")
    func persistAndKeepTTL() {
        var driver = StoreDriver()
        driver.run("SET", "k", "v", "EX", "10")
        #expect(driver.run("PERSIST", "k") == ":1\r\n")
        #expect(driver.run("PERSIST", "k") == ":0\r\n")
        #expect(driver.run("TTL", "k") == ":-1\r\n")
        driver.run("SET", "k", "v", "EX", "10")
        driver.run("SET", "k", "w", "KEEPTTL")
        #expect(driver.run("TTL", "k") == ":10\r\n")
        driver.run("SET", "k", "x")
        #expect(driver.run("TTL", "k") == ":-1\r\n")
    }

    @Test("INCR and APPEND keep the key's TTL; GETSET drops it")
    func mutationsAndTTL() {
        var driver = StoreDriver()
        driver.run("SET", "n", "1", "EX", "10")
        driver.run("INCR", "n")
        #expect(driver.run("TTL", "n") == ":10\r\n")
        driver.run("APPEND", "n", "0")
        #expect(driver.run("GET", "n") == "$2\r\n20\r\n")
        #expect(driver.run("TTL", "n") == ":10\r\n")
        driver.run("GETSET", "n", "0")
        #expect(driver.run("TTL", "n") == ":-1\r\n")
    }

    @Test("an expired counter starts again from 0 without a TTL")
    func expiredCounter() {
        var driver = StoreDriver()
        driver.run("SET", "n", "41", "PX", "10")
        driver.advance(milliseconds: 11)
        #expect(driver.run("INCR", "n") == ":1\r\n")
        #expect(driver.run("TTL", "n") == ":-1\r\n")
    }

    @Test("a command reads the clock only when it meets or sets a TTL, and at most once")
    func clockReads() {
        var driver = StoreDriver()
        driver.run("SET", "plain", "v")
        #expect(driver.lastRecorded.isEmpty)
        driver.run("GET", "plain")
        #expect(driver.lastRecorded.isEmpty)
        driver.run("SET", "a", "1", "EX", "10")
        #expect(driver.lastRecorded.count == 1)
        driver.run("SET", "b", "2", "EX", "10")
        driver.run("MGET", "a", "b", "plain", "a")
        #expect(driver.lastRecorded == [.clock(driver.entropy.clockNanoseconds)])
    }

    @Test("a collection command's one clock read holds for that command only, on a context kept for many commands")
    func collectionClockPerCommand() {
        // A primary keeps one recording context for its life, so what one command does to the clock must not last.
        var store = KeyValueStore()
        var context = ApplyContext.recording(from: AdvancingClock(), tenure: 1)
        func run(_ arguments: String...) -> String {
            text(store.apply(KeyValueCommand.encode(arguments.map(bytes)), context: &context))
        }
        func clockReads() -> [Int64] {
            context.recorded.compactMap { if case .clock(let value) = $0 { value } else { nil } }
        }
        run("HSET", "h", "f", "v")
        run("PEXPIRE", "h", "100000")
        for expectedReads in 2...4 {
            #expect(run("HGET", "h", "f") == "$1\r\nv\r\n")
            #expect(clockReads().count == expectedReads, "one read per HGET of a key with a TTL")
        }
        #expect(run("SET", "s", "1", "PX", "100000") == "+OK\r\n")
        let reads = clockReads()
        #expect(reads.count == 5)
        #expect(zip(reads, reads.dropFirst()).allSatisfy { $0 < $1 }, "every command reads the time afresh: \(reads)")
    }

    /// A clock one millisecond later at every read.
    private struct AdvancingClock: EntropySource {
        var nanoseconds = StoreDriver.startMilliseconds * 1_000_000
        mutating func wallClockNanoseconds() -> Int64 {
            nanoseconds += 1_000_000
            return nanoseconds
        }
        mutating func randomValue() -> UInt64 { 4 }
    }

    @Test("a tick deletes expired keys nobody reads, and leaves the rest")
    func activeExpiry() {
        var driver = StoreDriver()
        for index in 0..<200 { driver.run("SET", "short\(index)", "v", "PX", "10") }
        for index in 0..<50 { driver.run("SET", "long\(index)", "v", "EX", "100") }
        for index in 0..<25 { driver.run("SET", "plain\(index)", "v") }
        driver.advance(milliseconds: 11)
        var ticks = 0
        while driver.store.count > 75 && ticks < 100 {
            driver.tick()
            #expect(driver.lastRecorded.count == 2, "one clock value and one random value per tick")
            ticks += 1
        }
        #expect(driver.store.count == 75)
        #expect(driver.store.expiringCount == 50)
    }

    @Test("a tick reads nothing when no key has a TTL")
    func idleTick() {
        var driver = StoreDriver()
        driver.run("SET", "k", "v")
        driver.tick()
        #expect(driver.lastRecorded.isEmpty)
        #expect(driver.store.count == 1)
    }

    @Test("one tick does bounded work however many keys have expired")
    func tickIsBounded() {
        var driver = StoreDriver()
        for index in 0..<1_000 { driver.run("SET", "k\(index)", "v", "PX", "1") }
        driver.advance(milliseconds: 2)
        driver.tick()
        let limit = KeyValueStore.activeExpirySampleLimit * KeyValueStore.activeExpiryRoundsLimit
        #expect(driver.store.count >= 1_000 - limit)
        #expect(driver.store.count < 1_000)
    }

    @Test("RANDOMKEY skips and deletes expired keys")
    func randomKeySkipsExpired() {
        var driver = StoreDriver()
        driver.run("SET", "gone", "v", "PX", "1")
        driver.run("SET", "kept", "v")
        driver.advance(milliseconds: 2)
        driver.entropy.scriptedRandomValues = [0]
        #expect(driver.run("RANDOMKEY") == "$4\r\nkept\r\n")
        #expect(driver.run("DBSIZE") == ":1\r\n")
    }

    @Test("DEBUG SET-ACTIVE-EXPIRE 0 stops the tick's expiry on both nodes, lazy expiry goes on, and a snapshot keeps it")
    func activeExpiryOff() throws {
        var node = ConnectedStore()
        #expect(node.send(1, "DEBUG", "SET-ACTIVE-EXPIRE", "0") == RESP.ok)
        for index in 0..<20 { node.send(1, "SET", "e\(index)", "x", "PX", "5") }
        node.primary.advance(milliseconds: 10)
        for _ in 0..<20 { _ = node.primary.tick() }
        #expect(node.primary.store.count == 20, "the tick deleted nothing")
        #expect(node.send(1, "GET", "e0") == RESP.nullBulk, "an expired key reads as missing")
        let backup = DatabaseTests.backup(of: node)
        #expect(backup.digest() == node.primary.store.digest())
        #expect(!backup.isActiveExpiryOn, "the backup replayed the setting")
        let restored = try KeyValueStore.restored(from: node.primary.store.encoded())
        #expect(!restored.isActiveExpiryOn, "the snapshot carries the setting")
        #expect(node.send(1, "DEBUG", "SET-ACTIVE-EXPIRE", "1") == RESP.ok)
        for _ in 0..<40 { _ = node.primary.tick() }
        #expect(node.primary.store.count == 0, "the tick expires keys again")
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
        #expect(try KeyValueStore.restored(from: node.primary.store.encoded()).isActiveExpiryOn)
    }
}
