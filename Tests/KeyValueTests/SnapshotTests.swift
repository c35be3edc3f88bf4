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

    @Test("a restored store equals the original: same digest, same snapshot, same answers")
    func roundTrip() throws {
        var original = Self.sample()
        var restored = KeyValueStore()
        try restored.restore(from: original.store.encoded())
        restored.checkInvariants()
        #expect(restored.digest() == original.store.digest())
        #expect(restored.encoded() == original.store.encoded())
        var context = ApplyContext.recording(from: original.entropy)
        #expect(text(restored.apply(KeyValueCommand.encode([bytes("PTTL"), bytes("c")]), context: &context))
            == original.run("PTTL", "c"))
    }

    @Test("an empty store round-trips")
    func emptyRoundTrip() throws {
        var restored = Self.sample().store
        try restored.restore(from: KeyValueStore().encoded())
        #expect(restored.count == 0)
        #expect(restored.digest() == KeyValueStore().digest())
    }

    @Test("the entries section is sorted by key, so equal contents share it whatever the history")
    func sortedEntries() {
        var forward = StoreDriver()
        var backward = StoreDriver()
        for index in 0..<20 { forward.run("SET", "k\(index)", "v") }
        for index in (0..<20).reversed() { backward.run("SET", "k\(index)", "v") }
        let forwardBytes = forward.store.encoded(), backwardBytes = backward.store.encoded()
        #expect(forwardBytes.count == backwardBytes.count)
        // Header and entries match; only the key-order section (then the equal digest) may differ.
        let entriesEnd = forwardBytes.count - 8 - 1 - 20
        #expect(forwardBytes[..<entriesEnd] == backwardBytes[..<entriesEnd])
        #expect(forwardBytes.suffix(8) == backwardBytes.suffix(8))
    }

    @Test("restore rejects garbage, a wrong magic or version, and trailing bytes")
    func rejectsGarbage() {
        var store = KeyValueStore()
        let good = Self.sample().store.encoded()
        for garbage in [[], bytes("hello world"), bytes("LKKV"), [UInt8](repeating: 0xFF, count: 64)] {
            #expect(throws: SnapshotError.self) { try store.restore(from: garbage) }
        }
        var badVersion = good
        badVersion[4] = 2
        #expect(throws: SnapshotError("unsupported snapshot version 2")) { try store.restore(from: badVersion) }
        #expect(throws: SnapshotError.self) { try store.restore(from: good + [0]) }
    }

    @Test("every truncation and every single-byte corruption is rejected, and the store is left as it was")
    func rejectsCorruption() throws {
        let good = Self.sample().store.encoded()
        var store = StoreDriver().store
        try store.restore(from: good)
        let digest = store.digest()
        for length in 0..<good.count {
            #expect(throws: SnapshotError.self) { try store.restore(from: Array(good[..<length])) }
        }
        for index in good.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var corrupt = good
                corrupt[index] ^= flip
                #expect(throws: SnapshotError.self, "byte \(index) ^ \(flip)") { try store.restore(from: corrupt) }
            }
        }
        #expect(store.digest() == digest)
        store.checkInvariants()
    }

    @Test("a key count larger than the bytes could hold is refused before allocating")
    func hugeCount() {
        var store = KeyValueStore()
        var bytes = KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion]
        bytes += [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F]  // 2^63 - 1 keys
        #expect(throws: SnapshotError.self) { try store.restore(from: bytes) }
    }
}
