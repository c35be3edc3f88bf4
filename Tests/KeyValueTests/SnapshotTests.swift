import Testing
@testable import KeyValue
import Replication

@Suite("snapshot and restore")
struct SnapshotTests {
    static func sample() -> StoreDriver {
        var driver = StoreDriver()
        driver.run("SET", "b", "2")
        driver.run("SET", "a", "1", "EX", "100")
        driver.run(arguments: [[0, 255, 13, 10], []])  // unknown command: no effect
        driver.run(arguments: [bytes("SET"), [0, 255, 13, 10], [1, 2, 3]])
        driver.run("SET", "c", "3", "PX", "5000")
        driver.run("DEL", "b")
        return driver
    }

    /// A store of several shards, some keys with TTLs, some deleted.
    static func sharded(keys: Int = 3_000) -> StoreDriver {
        var driver = StoreDriver()
        for index in 0..<keys { driver.run("SET", "key:\(index)", "value \(index)") }
        for index in stride(from: 0, to: keys, by: 7) { driver.run("EXPIRE", "key:\(index)", "\(100 + index)") }
        for index in stride(from: 3, to: keys, by: 11) { driver.run("DEL", "key:\(index)") }
        return driver
    }

    /// What the store at `bytes` answers to `commands` replayed from `driver`'s log position `start`.
    static func answers(_ store: inout KeyValueStore, _ log: ArraySlice<LogEntry>) -> [[UInt8]] {
        let (replies, divergence) = replay(Array(log), into: &store)
        #expect(divergence == nil)
        return replies
    }

    @Test("a restored store equals the original: same digest, same snapshot, same answers")
    func roundTrip() throws {
        var original = Self.sample()
        let restored = try KeyValueStore.restored(from: original.store.encoded())
        restored.checkInvariants()
        #expect(restored.digest() == original.store.digest())
        #expect(restored.encoded() == original.store.encoded())
        var context = ApplyContext.recording(from: original.entropy)
        var copy = restored
        #expect(text(copy.apply(KeyValueCommand.encode([bytes("PTTL"), bytes("c")]), context: &context))
            == original.run("PTTL", "c"))
    }

    @Test("an empty store round-trips")
    func emptyRoundTrip() throws {
        let restored = try KeyValueStore.restored(from: KeyValueStore().encoded())
        #expect(restored.count == 0)
        #expect(restored.digest() == KeyValueStore().digest())
        #expect(restored.encoded() == KeyValueStore().encoded())
    }

    @Test("the encoding restores from chunks of every size, and is the same whatever size it was drawn in")
    func everyChunking() throws {
        var driver = Self.sample()
        // A value of 200 bytes: its length is a two-byte varint, which some chunkings cut in two.
        driver.run(arguments: [bytes("SET"), bytes("long"), [UInt8](repeating: 9, count: 200)])
        let store = driver.store
        let whole = store.encoded()
        for size in 1...whole.count {
            #expect(store.encoded(byteLimit: size) == whole, "drawn in chunks of \(size)")
            let restored = try KeyValueStore.restored(from: whole, chunkBytes: size)
            #expect(restored.encoded() == whole, "fed in chunks of \(size)")
            restored.checkInvariants()
        }
    }

    @Test("every chunk holds at least one and at most byteLimit bytes")
    func chunkBounds() {
        var driver = Self.sharded(keys: 1_500)
        driver.run(arguments: [bytes("SET"), bytes("big"), [UInt8](repeating: 7, count: 100_000)])
        for limit in [1, 7, 1_000, 4_096] {
            var snapshot = driver.store.snapshot()
            var total = 0
            while !snapshot.isFinished {
                let chunk = snapshot.nextChunk(byteLimit: limit)
                #expect((1...limit).contains(chunk.count))
                total += chunk.count
            }
            #expect(total == driver.store.encoded().count)
        }
    }

    @Test("a chunk of tiny members holds at most a bounded number of pieces, and the list restores whole")
    func tinyMembersBoundChunks() throws {
        var driver = StoreDriver()
        for start in stride(from: 0, to: 20_000, by: 500) {
            let elements = (start..<(start + 500)).map { [UInt8(truncatingIfNeeded: $0)] }
            driver.run(arguments: [bytes("RPUSH"), bytes("list")] + elements)
        }
        var snapshot = driver.store.snapshot()
        var encoding: [UInt8] = [], chunks = 0
        while !snapshot.isFinished {
            encoding += snapshot.nextChunk(byteLimit: 1 << 20)
            chunks += 1
        }
        // 20,000 one-byte elements encode in about 40 KiB, which one chunk of 1 MiB would hold whole; 2,048 pieces
        // a chunk make ten.
        #expect(KeyValueStore.Snapshot.piecesPerChunkLimit <= 4_096)
        #expect(chunks >= 20_000 / 4_096)
        #expect(encoding == driver.store.encoded())
        let restored = try KeyValueStore.restored(from: encoding)
        #expect(restored.digest() == driver.store.digest())
    }

    @Test("a value larger than a chunk spans chunks and restores whole")
    func largeValueSpansChunks() throws {
        var driver = StoreDriver()
        let value = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        driver.run(arguments: [bytes("SET"), bytes("big"), value])
        driver.run("SET", "small", "v")
        let restored = try KeyValueStore.restored(from: driver.store.encoded(byteLimit: 4_096), chunkBytes: 1_000)
        #expect(restored.storedValue(StoreKey(bytes("big"))) == value)
        #expect(restored.digest() == driver.store.digest())
    }

    @Test("a snapshot restores to the state when it was taken, whatever is written while it is drawn")
    func snapshotIsFrozen() throws {
        var driver = Self.sharded()
        let frozenDigest = driver.store.digest()
        let frozenOrder = driver.store.keyOrder
        let frozenBytes = driver.store.encoded()
        var snapshot = driver.store.snapshot()
        var bytes: [UInt8] = []
        var round = 0
        while !snapshot.isFinished {
            bytes += snapshot.nextChunk(byteLimit: 2_000)
            // Writes between chunks: overwrites, new keys (which split shards), deletions (which may merge).
            for index in 0..<40 {
                let key = round * 40 + index
                driver.run("SET", "key:\(key)", "changed")
                driver.run("SET", "new:\(key)", "v", "PX", "10")
                driver.run("DEL", "key:\(key + 1_000)")
            }
            round += 1
        }
        #expect(round > 10)
        #expect(driver.store.digest() != frozenDigest)
        #expect(bytes == frozenBytes)
        let restored = try KeyValueStore.restored(from: bytes, chunkBytes: 777)
        #expect(restored.digest() == frozenDigest)
        #expect(restored.keyOrder == frozenOrder)
    }

    @Test("a write while a snapshot is held copies only the shard it writes")
    func writeCopiesOneShard() {
        var driver = Self.sharded()
        #expect(driver.store.shards.count > 4)
        let snapshot = driver.store.snapshot()
        let before = driver.store.shards.map(\.storageIdentity)
        driver.run("SET", "key:5", "changed")
        let written = KeyValueStore.shardIndex(
            hash: ShardHash.of(bytes("key:5")[...]), level: driver.store.level,
            splitPointer: driver.store.splitPointer)
        let after = driver.store.shards.map(\.storageIdentity)
        for index in before.indices {
            if index == written {
                #expect(after[index] != before[index], "the written shard has storage of its own")
            } else {
                #expect(after[index] == before[index], "shard \(index) is still shared with the snapshot")
            }
        }
        withExtendedLifetime(snapshot) {}
    }

    @Test("a restored store answers RANDOMKEY, KEYS and active expiry exactly as the original")
    func restoredAnswersAlike() throws {
        var original = Self.sharded()
        var restored = try KeyValueStore.restored(from: original.store.encoded(), chunkBytes: 3_333)
        #expect(restored.keyOrder == original.store.keyOrder)
        #expect(restored.expiryOrder == original.store.expiryOrder)
        let start = original.log.count
        for _ in 0..<200 { original.run("RANDOMKEY") }
        original.run("KEYS", "key:1*")
        original.advance(milliseconds: 1_500_000)
        for _ in 0..<20 { original.tick() }
        original.run("KEYS", "*")
        #expect(original.store.count < 3_000 - 273, "the ticks expired some keys")
        let replies = Self.answers(&restored, original.log[start...])
        #expect(replies == Array(original.replies.suffix(replies.count)))
        #expect(restored.encoded() == original.store.encoded())
    }

    @Test("a restored store picks the same random members of collections of many shards as the original")
    func restoredCollectionsPickAlike() throws {
        var original = StoreDriver()
        for batch in 0..<10 {
            let members = (0..<300).map { "m\(batch * 300 + $0)" }
            original.run(arguments: (["SADD", "s"] + members).map { Array($0.utf8) })
            original.run(arguments: (["HSET", "h"] + members.flatMap { [$0, "v"] }).map { Array($0.utf8) })
            original.run(arguments: (["ZADD", "z"] + members.flatMap { ["1", $0] }).map { Array($0.utf8) })
        }
        // Removals reorder shards (swap-removal) and merge some away: the history a restore does not replay.
        // (One command each: the driver checks the store's invariants, O(its collections), after every command.)
        let removed = stride(from: 0, to: 3_000, by: 4).map { "m\($0)" }
        for command in ["SREM s", "HDEL h", "ZREM z"] {
            original.run(arguments: (command.split(separator: " ").map(String.init) + removed).map { Array($0.utf8) })
        }
        var restored = try KeyValueStore.restored(from: original.store.encoded(), chunkBytes: 4_000)
        let start = original.log.count
        for _ in 0..<8 {
            original.run("SRANDMEMBER", "s", "3")
            original.run("HRANDFIELD", "h", "-2", "WITHVALUES")
            original.run("ZRANDMEMBER", "z")
            original.run("SPOP", "s")
            original.run("SPOP", "s", "5")
        }
        original.run("SSCAN", "s", "0", "COUNT", "100")
        let replies = Self.answers(&restored, original.log[start...])
        #expect(replies == Array(original.replies.suffix(replies.count)))
        #expect(restored.encoded() == original.store.encoded())
    }

    @Test("restore rejects garbage, a wrong magic or version, and trailing bytes")
    func rejectsGarbage() {
        let good = Self.sample().store.encoded()
        for garbage in [[], bytes("hello world"), bytes("LKKV"), [UInt8](repeating: 0xFF, count: 64)] {
            #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: garbage) }
        }
        var badVersion = good
        badVersion[4] = 2
        #expect(throws: SnapshotError("unsupported snapshot version 2; this node reads versions 3 to 7")) {
            try KeyValueStore.restored(from: badVersion)
        }
        #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: good + [0]) }
    }

    @Test("every truncation and every single-byte corruption is rejected; for a sharded store, a seeded sample")
    func rejectsCorruption() throws {
        var generator = SplitMix64(seed: 7)
        let sharded = Self.sharded(keys: 600).store.encoded()
        let sampled = Array(0..<64) + (0..<400).map { _ in Int(generator.next() % UInt64(sharded.count)) }
        for (good, indices) in [(Self.sample().store.encoded(), nil), (sharded, sampled)] {
            _ = try KeyValueStore.restored(from: good)
            for length in indices ?? Array(0..<good.count) {
                #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: Array(good[..<length])) }
            }
            for index in indices ?? Array(good.indices) {
                for flip: UInt8 in [0x01, 0x80] {
                    var corrupt = good
                    corrupt[index] ^= flip
                    #expect(throws: SnapshotError.self, "byte \(index) ^ \(flip)") {
                        try KeyValueStore.restored(from: corrupt, chunkBytes: 97)
                    }
                }
            }
        }
    }

    @Test("a TTL order naming a key twice is refused")
    func expiryOrderIsPermutation() {
        var good = Self.sample().store.encoded()
        // The sample's one shard ends with its TTL order (two one-byte positions), then the 8-byte digest and the
        // sessions' section, 49 bytes for none.
        let second = good.count - 9 - 49, first = good.count - 10 - 49
        #expect(good[second] != good[first])
        good[second] = good[first]
        #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: good) }
    }

    @Test("a key in the wrong shard is refused")
    func keyInWrongShard() {
        // Level 1: two shards; shard 0 holds the keys whose hash has bit 0 clear.
        let misplaced = (0..<100).map { bytes("k\($0)") }.first { ShardHash.of($0[...]) & 1 == 1 }!
        var encoding = KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion, 1, 0, 1, 0, 2]
        encoding += [1, UInt8(misplaced.count)] + misplaced + [0, 1, UInt8(ascii: "v"), 0]
        encoding += [0, 0] + [UInt8](repeating: 0, count: 8)
        #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: encoding) }
        do {
            _ = try KeyValueStore.restored(from: encoding)
        } catch {
            #expect(error.reason.contains("another shard"))
        }
    }

    @Test("lengths beyond their limits are refused as they are read, before anything is reserved")
    func hugeLengths() {
        let header = KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion, 1, 0, 0, 0, 1, 1]
        var restorer = KeyValueStore().makeRestorer()
        let tooLong = UInt64(KeyValueStore.snapshotKeyBytesLimit) + 1
        var length: [UInt8] = []
        Varint.append(tooLong, to: &length)
        #expect(throws: SnapshotError.self) { try restorer.consume(header + length) }
        #expect(throws: SnapshotError.self, "a failed restorer stays failed") { try restorer.consume([1]) }

        // A key count of 2^63 - 1 is taken at its word only as far as records arrive: the end finds it truncated.
        var counted = KeyValueStore().makeRestorer()
        let huge: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]
        #expect(throws: Never.self) { try counted.consume(KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion, 1, 0, 0, 0, 1] + huge) }
        #expect(throws: SnapshotError.self) { _ = try counted.finish() }
    }
}

/// Snapshots of collections: round trips, bounded chunks for a large one, and refusal of malformed collections.
@Suite("snapshots of collections")
struct CollectionSnapshotTests {
    static func sample() -> StoreDriver {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        driver.run("HSET", "h", "a", "1", "b", String(repeating: "y", count: 300), "", "empty field")
        driver.run("HSET", "timed", "f", "v")
        driver.run("PEXPIRE", "timed", "5000")
        driver.run("ZADD", "z", "1.5", "a", "-inf", "b", "2", "", "inf", String(repeating: "z", count: 300))
        return driver
    }

    /// A store with strings, a hash, a set and a list, but no sorted set: what a version-3 snapshot could hold.
    static func sampleWithoutSortedSets() -> KeyValueStore {
        var driver = StoreDriver()
        driver.run("SET", "s", "v")
        driver.run("HSET", "h", "a", "1")
        driver.run("SADD", "set", "a", "b")
        driver.run("RPUSH", "list", "x", "y")
        return driver.store
    }

    @Test("stores holding collections round-trip from chunks of every size")
    func roundTrip() throws {
        let store = Self.sample().store
        let encoded = store.encoded()
        for size in [1, 2, 3, 7, 64, encoded.count] {
            #expect(store.encoded(byteLimit: size) == encoded)
            let restored = try KeyValueStore.restored(from: encoded, chunkBytes: size)
            restored.checkInvariants()
            #expect(restored.digest() == store.digest())
            #expect(restored.encoded() == encoded)
        }
    }

    @Test("a hash of 20,000 fields streams in chunks no larger than asked, and restores in its order")
    func largeHashIsChunked() throws {
        var driver = StoreDriver()
        for batch in 0..<200 {
            var arguments = ["HSET", "big"]
            for index in 0..<100 { arguments += ["field\(batch * 100 + index)", "value \(index)"] }
            driver.run(arguments: arguments.map(bytes))
        }
        var snapshot = driver.store.snapshot()
        var encoded: [UInt8] = []
        var chunks = 0
        while !snapshot.isFinished {
            let chunk = snapshot.nextChunk(byteLimit: 4_096)
            #expect(chunk.count <= 4_096)
            encoded += chunk
            chunks += 1
        }
        #expect(chunks > 50)
        var restored = try KeyValueStore.restored(from: encoded, chunkBytes: 4_096)
        #expect(restored.digest() == driver.store.digest())
        var context = ApplyContext.recording(from: driver.entropy)
        let answer = restored.apply(KeyValueCommand.encode([bytes("HKEYS"), bytes("big")]), context: &context)
        #expect(answer == driver.run(arguments: [bytes("HKEYS"), bytes("big")]), "HKEYS differs after the restore")
    }

    @Test("a frozen snapshot keeps a hash as it was while the hash is written")
    func frozenWhileWritten() throws {
        var driver = Self.sample()
        let before = driver.store.encoded()
        var snapshot = driver.store.snapshot()
        var encoded = snapshot.nextChunk(byteLimit: 20)
        driver.run("HSET", "h", "a", "changed", "c", "new")
        driver.run("HDEL", "h", "b")
        driver.run("DEL", "timed")
        while !snapshot.isFinished { encoded += snapshot.nextChunk(byteLimit: 20) }
        #expect(encoded == before)
        #expect(try KeyValueStore.restored(from: encoded).digest() != driver.store.digest())
    }

    @Test("every truncation and single-byte corruption of a store with collections is refused")
    func rejectsCorruption() {
        let good = Self.sample().store.encoded()
        for length in 0..<good.count {
            #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: Array(good[..<length])) }
        }
        for index in good.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var corrupt = good
                corrupt[index] ^= flip
                #expect(throws: SnapshotError.self, "byte \(index) ^ \(flip)") {
                    try KeyValueStore.restored(from: corrupt, chunkBytes: 5)
                }
            }
        }
    }

    @Test("a sorted set of 5,000 members streams in bounded chunks and restores with its ranks and random picks")
    func largeSortedSet() throws {
        var driver = StoreDriver()
        for batch in 0..<50 {
            var arguments = ["ZADD", "big"]
            for index in 0..<100 { arguments += ["\((batch * 37 + index * 11) % 500)", "member\(batch * 100 + index)"] }
            driver.run(arguments: arguments.map(bytes))
        }
        driver.run("ZREM", "big", "member7", "member4000")
        var snapshot = driver.store.snapshot()
        var encoded: [UInt8] = []
        while !snapshot.isFinished {
            let chunk = snapshot.nextChunk(byteLimit: 1_000)
            #expect(chunk.count <= 1_000)
            encoded += chunk
        }
        var restored = try KeyValueStore.restored(from: encoded, chunkBytes: 333)
        restored.checkInvariants()
        #expect(restored.digest() == driver.store.digest())
        #expect(restored.encoded() == encoded)
        for arguments in [
            ["ZRANGE", "big", "100", "140", "WITHSCORES"], ["ZRANK", "big", "member4321"], ["ZCOUNT", "big", "(10", "200"],
            ["ZRANDMEMBER", "big", "-20", "WITHSCORES"],
        ] {
            var context = ApplyContext.recording(from: driver.entropy)
            let answer = restored.apply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answer == driver.run(arguments: arguments.map(bytes)), "\(arguments) differs after the restore")
        }
    }

    @Test("version 6 (no settings byte), 5 (no blocked clients), 4 (database 0 alone) and 3 (no sorted sets, no sessions) still restore; a later version is refused")
    func olderVersions() throws {
        // Version 7 ends with the settings (2 bytes), which version 6 lacks; version 6 ends with the blocked clients (18
        // bytes for a table nobody waited in), which version 5 lacks. A one-database store's version 5 is version 4
        // with a database count (1) and number (0) after the version.
        func olderEncoding(_ store: KeyValueStore, version: UInt8) -> [UInt8] {
            var current = Array(store.encoded().dropLast(2))
            #expect(current[4] == KeyValueStore.snapshotVersion && current[5] == 1 && current[6] == 0)
            current[4] = 6
            if version == 6 { return current }
            current = Array(current.dropLast(18))
            current[4] = 5
            if version == 5 { return current }
            var older = Array(current[..<4]) + [4] + Array(current[7...])
            // Version 3 also ends at the digest: without version 4's sessions section (49 bytes for no sessions).
            if version == 3 { older = Array(older.dropLast(49)) }
            older[4] = version
            return older
        }
        var withSortedSet = Self.sample().store
        withSortedSet.isActiveExpiryOn = false
        #expect(try KeyValueStore.restored(from: olderEncoding(withSortedSet, version: 6)).isActiveExpiryOn,
                "before version 7 active expiry was always on")
        withSortedSet.isActiveExpiryOn = true
        var unknownSetting = withSortedSet.encoded()
        unknownSetting[unknownSetting.count - 2] = 2
        unknownSetting[unknownSetting.count - 1] = ~2
        #expect { try KeyValueStore.restored(from: unknownSetting) } throws: { error in
            (error as? SnapshotError)?.reason.contains("the settings ending at byte") == true
        }
        #expect(try KeyValueStore.restored(from: olderEncoding(withSortedSet, version: 5)).digest() == withSortedSet.digest())
        let restoredFour = try KeyValueStore.restored(from: olderEncoding(withSortedSet, version: 4))
        #expect(restoredFour.digest() == withSortedSet.digest())
        #expect(restoredFour.keyOrder == withSortedSet.keyOrder)
        let store = Self.sampleWithoutSortedSets()
        var encoded = olderEncoding(store, version: 3)
        let restored = try KeyValueStore.restored(from: encoded)
        #expect(restored.digest() == store.digest())
        #expect(restored.keyOrder == store.keyOrder)
        #expect { try KeyValueStore.restored(from: olderEncoding(withSortedSet, version: 3)) } throws: { error in
            (error as? SnapshotError)?.reason.contains("name no kind of value") == true
        }
        encoded[4] = KeyValueStore.snapshotVersion + 1
        #expect { try KeyValueStore.restored(from: encoded) } throws: { error in
            (error as? SnapshotError)?.reason.contains("unsupported snapshot version 8; this node reads versions 3 to 7")
                == true
        }
    }

    @Test("an empty collection, an unknown kind and a repeated field are refused by name")
    func malformedCollections() {
        func encoding(_ record: [UInt8]) -> [UInt8] {
            KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion, 1, 0, 0, 0, 1, 1] + record + [0]
                + [UInt8](repeating: 0, count: 8)
        }
        let key: [UInt8] = [1, UInt8(ascii: "h")]
        let cases: [([UInt8], String)] = [
            (key + [ValueKind.hash.rawValue << 1, 0], "empty collection"),
            (key + [7 << 1], "name no kind"),
            (key + [ValueKind.hash.rawValue << 1, 2, 1, 97, 1, 49, 1, 97, 1, 50], "repeats one of its hash"),
            (key + [ValueKind.set.rawValue << 1, 2, 1, 97, 1, 97], "repeats one of its set"),
            (key + [ValueKind.sortedSet.rawValue << 1, 1, 1, 97] + [0, 0, 0, 0, 0, 0, 0xF8, 0x7F], "is NaN"),
            (key + [ValueKind.sortedSet.rawValue << 1, 2, 1, 97] + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F] + [1, 97] + [0, 0, 0, 0, 0, 0, 0xF0, 0x3F], "repeats one of its sorted set"),
        ]
        for (record, reason) in cases {
            do {
                _ = try KeyValueStore.restored(from: encoding(record))
                Issue.record("accepted: \(reason)")
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason)")
            }
        }
    }
}
