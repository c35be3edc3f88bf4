import Testing
@testable import KeyValue
import Replication

@Suite("the store's shards")
struct ShardTests {
    @Test("the table splits one shard at a time as keys arrive, and every key stays readable across the splits")
    func splitsKeepLookups() {
        var driver = StoreDriver()
        var shardCounts: Set<Int> = []
        let keys = 6 * KeyValueStore.shardLoadBound
        for index in 0..<keys {
            driver.run("SET", "key:\(index)", "v\(index)")
            shardCounts.insert(driver.store.shards.count)
            #expect(driver.store.shards.count <= driver.store.count / KeyValueStore.shardLoadBound + 1)
        }
        #expect(shardCounts == Set(1...keys / KeyValueStore.shardLoadBound), "one split at a time")
        for index in 0..<keys {
            #expect(driver.run("GET", "key:\(index)") == "$\("v\(index)".utf8.count)\r\nv\(index)\r\n")
        }
        #expect(driver.run("DBSIZE") == ":\(keys)\r\n")
    }

    @Test("a split rebuilds only the shard at the split pointer and adds one; every other shard is left as it was")
    func splitTouchesOneShard() {
        var driver = StoreDriver()
        var index = 0
        while driver.store.shards.count < 5 {
            driver.run("SET", "key:\(index)", "v")
            index += 1
        }
        // Fill up to the next split without causing it, then cause it with one more key.
        while driver.store.count < driver.store.shards.count * KeyValueStore.shardLoadBound {
            driver.run("SET", "key:\(index)", "v")
            index += 1
        }
        let pointer = driver.store.splitPointer
        let before = driver.store.shards.map(\.storageIdentity)
        let held = driver.store.snapshot()  // holds every shard, so a rebuilt one cannot reuse its buffers
        var newKey = index
        // A key that lands outside the shard being split, so only the split itself touches that shard.
        while KeyValueStore.shardIndex(
            hash: ShardHash.of(bytes("key:\(newKey)")[...]), level: driver.store.level,
            splitPointer: driver.store.splitPointer) == pointer
        {
            newKey += 1
        }
        let written = KeyValueStore.shardIndex(
            hash: ShardHash.of(bytes("key:\(newKey)")[...]), level: driver.store.level,
            splitPointer: driver.store.splitPointer)
        driver.run("SET", "key:\(newKey)", "v")
        let after = driver.store.shards.map(\.storageIdentity)
        #expect(after.count == before.count + 1)
        for shard in before.indices where shard != pointer && shard != written {
            #expect(after[shard] == before[shard], "shard \(shard) was not touched")
        }
        #expect(after[pointer] != before[pointer], "the split shard was rebuilt")
        withExtendedLifetime(held) {}
    }

    @Test("deleting keys merges shards back, one at a time, down to one")
    func mergesWhenEmptied() {
        var driver = StoreDriver()
        let keys = 4 * KeyValueStore.shardLoadBound
        for index in 0..<keys { driver.run("SET", "key:\(index)", "v") }
        let grown = driver.store.shards.count
        #expect(grown > 2)
        for index in 0..<keys - 3 {
            let before = driver.store.shards.count
            driver.run("DEL", "key:\(index)")
            #expect(driver.store.shards.count >= before - 1)
        }
        #expect(driver.store.shards.count == 1)
        #expect(driver.run("KEYS", "*").hasPrefix("*3\r\n"))
        #expect(driver.run("RANDOMKEY").hasPrefix("$"))
    }

    @Test("FLUSHALL goes back to the initial single shard")
    func flushResets() {
        var driver = StoreDriver()
        for index in 0..<(3 * KeyValueStore.shardLoadBound) { driver.run("SET", "key:\(index)", "v") }
        driver.run("FLUSHALL")
        #expect(driver.store.shards.count == 1)
        #expect(driver.store.encoded() == KeyValueStore().encoded())
    }

    @Test("two stores fed the same commands have the same layout: KEYS order, RANDOMKEY answers, encodings")
    func sameCommandsSameLayout() {
        var primary = StoreDriver()
        var generator = SplitMix64(seed: 42)
        for step in 0..<8_000 {
            let key = "key:\(generator.next() % 3_000)"
            switch generator.next() % 10 {
            case 0: primary.run("DEL", key)
            case 1: primary.run("SET", key, "t", "PX", "\(1 + generator.next() % 500)")
            case 2: primary.run("RANDOMKEY")
            case 3: primary.tick()
            default: primary.run("SET", key, "value \(step)")
            }
            if step % 100 == 0 { primary.advance(milliseconds: 7) }
        }
        #expect(primary.store.shards.count > 2)
        var backup = KeyValueStore()
        let (replies, divergence) = replay(primary.log, into: &backup)
        #expect(divergence == nil)
        #expect(replies == primary.replies)
        #expect(backup.keyOrder == primary.store.keyOrder)
        #expect(backup.expiryOrder == primary.store.expiryOrder)
        #expect(backup.encoded() == primary.store.encoded())
        backup.checkInvariants()
    }

    @Test("random writes agree with a dictionary, through splits, merges, rewrites, compactions and large values")
    func agreesWithModel() {
        var driver = StoreDriver()
        var model: [String: [UInt8]] = [:]
        var generator = SplitMix64(seed: 11)
        let sizes = [0, 1, 5, 32, 255, 256, 257, 300, 2_000]
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for step in 0..<24_000 {
            // Phase one fills about 2,000 keys; phase two deletes most of them again.
            let key = "key:\(pick(step < 16_000 ? 2_000 : 400) * (step < 16_000 ? 1 : 5))"
            let value = [UInt8](repeating: UInt8(truncatingIfNeeded: step), count: sizes[pick(sizes.count)])
            switch step < 16_000 ? pick(8) : 2 {
            case 0, 1, 7:
                driver.run(arguments: [bytes("SET"), bytes(key), value])
                model[key] = value
            case 2:
                driver.run("DEL", key)
                model[key] = nil
            case 3:
                let suffix = Array(value.prefix(250))
                driver.run(arguments: [bytes("APPEND"), bytes(key), suffix])
                model[key, default: []] += suffix
            case 4: driver.run("EXPIRE", key, "1000")
            case 5: driver.run("PERSIST", key)
            default: driver.run("SET", key, "t", "EX", "1000")
                model[key] = bytes("t")
            }
            let expected = model[key].map { RESPWriter.bulk($0) } ?? Replies.nullBulk
            #expect(driver.run(arguments: [bytes("GET"), bytes(key)]) == expected, "step \(step)")
        }
        driver.store.checkInvariants()
        #expect(driver.store.count == model.count)
        for (key, value) in model { #expect(driver.store.storedValue(StoreKey(bytes(key))) == value) }
        let restored = try? KeyValueStore.restored(from: driver.store.encoded(byteLimit: 1_000), chunkBytes: 333)
        #expect(restored?.encoded() == driver.store.encoded())
    }
}

@Suite("the shard table")
struct ShardTableTests {
    @Test("a write after a snapshot copies one page of shard references, not the whole table")
    func writeCopiesOnePage() {
        var table: ShardTable = []
        for _ in 0..<(3 * ShardTable.pageSize + 5) { table.append(StoreShard()) }
        let frozen = table
        let before = table.pageStorageAddresses
        #expect(before.count == 4)
        table[2 * ShardTable.pageSize + 7] = StoreShard()
        let after = table.pageStorageAddresses
        #expect(zip(before, after).map { $0 != $1 } == [false, false, true, false])
        #expect(frozen.pageStorageAddresses == before)
    }

    @Test("appending and removing across page boundaries keeps every shard in order")
    func appendAndRemove() {
        var table: ShardTable = []
        var model: [Int] = []
        for round in 0..<3 {
            for _ in 0..<(ShardTable.pageSize + 3) {
                table.append(Self.shard(named: model.count))
                model.append(model.count)
            }
            for _ in 0..<(ShardTable.pageSize / 2 + round) {
                #expect(Self.name(of: table.removeLast()) == model.removeLast())
            }
            #expect(table.count == model.count && table.map(Self.name) == model)
        }
    }

    /// A shard holding one key, the decimal `number`.
    private static func shard(named number: Int) -> StoreShard {
        var shard = StoreShard()
        let key = StoreKey(Array(String(number).utf8))
        shard.store([], for: key, hash: ShardHash.of(key.bytes), expiresAtMilliseconds: nil)
        return shard
    }

    private static func name(of shard: StoreShard) -> Int {
        Int(String(decoding: shard.key(atPosition: 0).bytes, as: UTF8.self)) ?? -1
    }
}
