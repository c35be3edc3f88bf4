import Testing
@testable import KeyValue
import Replication

@Suite("replicas stay identical")
struct DeterminismTests {
    /// A seeded mixed workload: writes with and without TTLs, counters, deletes, clock and random reads, ticks.
    static func workload(seed: UInt64, commands: Int) -> StoreDriver {
        var driver = StoreDriver()
        var generator = SplitMix64(seed: seed)
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for _ in 0..<commands {
            let key = "key\(pick(40))"
            switch pick(14) {
            case 0: driver.run("SET", key, "value\(pick(1000))")
            case 1: driver.run("SET", key, "v", "PX", "\(1 + pick(50))")
            case 2: driver.run("GET", key)
            case 3: driver.run("INCR", "counter\(pick(5))")
            case 4: driver.run("APPEND", key, "+")
            case 5: driver.run("DEL", key, "key\(pick(40))")
            case 6: driver.run("EXPIRE", key, "\(pick(5))")
            case 7: driver.run("RANDOMKEY")
            case 8: driver.run("TIME")
            case 9: driver.run("MGET", key, "key\(pick(40))")
            case 10: driver.run("PERSIST", key)
            case 11: driver.run("SET", key, "n", "NX", "GET")
            case 12: driver.tick()
            default: driver.advance(milliseconds: Int64(pick(20)))
            }
        }
        return driver
    }

    @Test("replaying the recorded log on a second store gives the same replies, digest and snapshot",
        arguments: [1, 2, 3] as [UInt64])
    func replayMatches(seed: UInt64) {
        let primary = Self.workload(seed: seed, commands: 3_000)
        var backup = KeyValueStore()
        let (replies, divergence) = replay(primary.log, into: &backup)
        #expect(divergence == nil)
        #expect(replies == primary.replies)
        #expect(backup.digest() == primary.store.digest())
        #expect(backup.encoded() == primary.store.encoded())
        backup.checkInvariants()
    }

    @Test("replay notices a log whose recorded values do not match what the store asks for")
    func divergenceDetected() {
        var driver = StoreDriver()
        driver.run("SET", "k", "v", "EX", "10")
        var backup = KeyValueStore()
        let forged: [LogEntry] = [.command(KeyValueCommand.encode([bytes("SET"), bytes("k"), bytes("v"), bytes("EX"),
            bytes("10")]), recorded: [])]
        #expect(replay(forged, into: &backup).divergence != nil)
    }

    @Test("stores with equal contents built in different orders have equal digests")
    func orderIndependentDigest() {
        var forward = StoreDriver()
        var backward = StoreDriver()
        for index in 0..<100 { forward.run("SET", "k\(index)", "v\(index)") }
        for index in (0..<100).reversed() { backward.run("SET", "k\(index)", "v\(index)") }
        forward.run("EXPIRE", "k7", "100")
        backward.run("SET", "extra", "x")
        backward.run("EXPIRE", "k7", "100")
        backward.run("DEL", "extra")
        #expect(forward.store.digest() == backward.store.digest())
        #expect(forward.store.digest() != KeyValueStore().digest())
    }

    @Test("one changed byte of a key or value, or a changed TTL, changes the digest")
    func digestSensitivity() {
        var base = StoreDriver()
        base.run("SET", "key", "value")
        let digest = base.store.digest()
        for variant in [["key", "valuf"], ["kez", "value"], ["key", "value "], ["ke", "yvalue"]] {
            var other = StoreDriver()
            other.run("SET", variant[0], variant[1])
            #expect(other.store.digest() != digest, "\(variant)")
        }
        var withTTL = StoreDriver()
        withTTL.run("SET", "key", "value", "PX", "100")
        #expect(withTTL.store.digest() != digest)
        withTTL.run("PERSIST", "key")
        #expect(withTTL.store.digest() == digest)
    }

    @Test("APPEND's incremental digest equals the digest of writing the whole value at once")
    func appendDigest() {
        var appended = StoreDriver()
        appended.run("APPEND", "k", "Hello")
        appended.run("APPEND", "k", ", world")
        var written = StoreDriver()
        written.run("SET", "k", "Hello, world")
        #expect(appended.store.digest() == written.store.digest())
    }

    @Test("a backup restored from a snapshot makes the same random picks as its primary")
    func restoredBackupPicksAlike() throws {
        var primary = Self.workload(seed: 9, commands: 2_000)
        var backup = try KeyValueStore.restored(from: primary.store.encoded())
        #expect(backup.keyOrder == primary.store.keyOrder)
        #expect(backup.expiryOrder == primary.store.expiryOrder)
        let resume = primary.log.count
        for _ in 0..<50 { primary.run("RANDOMKEY") }
        primary.advance(milliseconds: 30)
        primary.tick()
        let (replies, divergence) = replay(Array(primary.log[resume...]), into: &backup)
        #expect(divergence == nil)
        #expect(replies == Array(primary.replies.suffix(50)))
        #expect(backup.encoded() == primary.store.encoded())
    }
}
