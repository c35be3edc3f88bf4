import Glibc
import KeyValue
import Replication
import Testing

@testable import Durability

/// A fixed clock and a counter for randomness: enough to drive the key-value store outside a primary.
struct FixedEntropy: EntropySource {
    var counter: UInt64 = 0
    mutating func wallClockNanoseconds() -> Int64 { 1_700_000_000_000_000_000 }
    mutating func randomValue() -> UInt64 {
        counter += 1
        return counter
    }
}

@Suite("snapshot files: written in chunks, put in place atomically, checked when restored")
struct SnapshotFileTests {
    /// A key-value store with `keys` keys, some with TTLs.
    static func store(keys: Int) -> KeyValueStore {
        var store = KeyValueStore()
        for index in 0..<keys {
            var arguments = [Array("SET".utf8), Array("key:\(index)".utf8), Array("value \(index)".utf8)]
            if index % 5 == 0 { arguments += [Array("EX".utf8), Array("\(100 + index)".utf8)] }
            var context = ApplyContext.recording(from: FixedEntropy())
            _ = store.apply(KeyValueCommand.encode(arguments), context: &context)
        }
        return store
    }

    static let limits: DurabilityLimits = {
        var limits = DurabilityLimits()
        limits.snapshotChunkBytes = 1_000  // many chunks, cut anywhere
        return limits
    }()

    @Test("a key-value store's streamed snapshot restores to an equal store")
    func roundTrip() throws {
        try withTemporaryDirectory { path in
            let original = Self.store(keys: 3_000)
            var snapshot = original.snapshot()
            let directory = try DataDirectory(path: path)
            let file = try SnapshotWriter.write(&snapshot, epoch: 3, sequence: 4_242, in: directory, limits: Self.limits)
            #expect(file == SnapshotFile(
                path: directory.snapshotsPath + "/" + SnapshotFormat.fileName(epoch: 3, sequence: 4_242),
                epoch: 3, sequence: 4_242))
            #expect(names(in: directory.snapshotsPath) == ["snapshot-00000000000000000003-00000000000000004242.snap"])

            let latest = try #require(try SnapshotFile.latest(in: directory))
            #expect(latest == file)
            let restored = try latest.restore(into: KeyValueStore().makeRestorer(), in: directory, limits: Self.limits)
            #expect(restored.count == 3_000)
            #expect(restored.digest() == original.digest())
        }
    }

    @Test("a completed snapshot replaces the older ones; until then the older one stays")
    func newerReplacesOlder() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var first = EncodedSnapshot(Array("first".utf8))
            try SnapshotWriter.write(&first, epoch: 1, sequence: 10, in: directory)
            let writer = try SnapshotWriter(epoch: 2, sequence: 20, in: directory)
            try writer.write(Array("sec".utf8))
            #expect(try SnapshotFile.latest(in: directory)?.sequence == 10, "an unfinished snapshot is not current")
            try writer.write(Array("ond".utf8))
            try writer.finish()
            #expect(names(in: directory.snapshotsPath) == [SnapshotFormat.fileName(epoch: 2, sequence: 20)])
            let latest = try #require(try SnapshotFile.latest(in: directory))
            let machine = try latest.restore(into: BytesMachine().makeRestorer(), in: directory)
            #expect(machine.bytes == Array("second".utf8))
        }
    }

    @Test("a snapshot interrupted before it was put in place is ignored, and its .tmp removed at the next open")
    func interruptedSnapshot() throws {
        try withTemporaryDirectory { path in
            var complete = EncodedSnapshot(Array("complete".utf8))
            try SnapshotWriter.write(&complete, epoch: 1, sequence: 10, in: DataDirectory(path: path))
            let leftover = path + "/snapshots/" + SnapshotFormat.fileName(epoch: 1, sequence: 99) + ".tmp"
            try writeFile(leftover, Array("half a snapsh".utf8))  // what a crash mid-write leaves

            let reopened = try DataDirectory(path: path)
            #expect(reopened.notes == [.temporaryFileRemoved(path: leftover)])
            #expect(!fileExists(leftover))
            let latest = try #require(try SnapshotFile.latest(in: reopened))
            #expect(latest.sequence == 10)
            #expect(try latest.restore(into: BytesMachine().makeRestorer(), in: reopened).bytes == Array("complete".utf8))
        }
    }

    @Test("a byte flipped anywhere in a snapshot file, or a cut, is refused: never a machine")
    func corruptSnapshot() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var snapshot = EncodedSnapshot(Array("state of a small machine".utf8))
            let file = try SnapshotWriter.write(&snapshot, epoch: 1, sequence: 7, in: directory)
            let bytes = try readFile(file.path)
            #expect(bytes.count == SnapshotFormat.headerBytes + 24 + SnapshotFormat.trailerBytes)
            var damaged = [bytes.dropLast(1), bytes.dropLast(5), bytes + [0]].map { Array($0) }
            for index in bytes.indices {
                var flipped = bytes
                flipped[index] ^= 0x01
                damaged.append(flipped)
            }
            for (index, variant) in damaged.enumerated() {
                try writeFile(file.path, variant)
                do throws(DurabilityError) {
                    let machine = try file.restore(into: BytesMachine().makeRestorer(), in: directory)
                    Issue.record("variant \(index) restored to \(machine.bytes)")
                } catch {
                    #expect(error.code == "corrupt_snapshot", "variant \(index): \(error)")
                }
            }
        }
    }

    @Test("bytes whose CRC holds but which the state machine rejects are a corrupt snapshot too")
    func restorerRejects() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var garbage = EncodedSnapshot([UInt8](repeating: 0xFF, count: 64))
            let file = try SnapshotWriter.write(&garbage, epoch: 1, sequence: 1, in: directory)
            do throws(DurabilityError) {
                _ = try file.restore(into: KeyValueStore().makeRestorer(), in: directory)
                Issue.record("a key-value store restored from 64 bytes of 0xFF")
            } catch {
                guard case .corruptSnapshot(_, .restoreRejected) = error else {
                    Issue.record("expected restoreRejected, got \(error)")
                    return
                }
            }
        }
    }
}

/// The smallest `SmallStateMachine`: its state is a byte string.
struct BytesMachine: SmallStateMachine {
    var bytes: [UInt8] = []
    mutating func apply(_ command: [UInt8], context: inout ApplyContext) -> [UInt8] {
        bytes += command
        return []
    }
    mutating func tick(context: inout ApplyContext) {}
    func digest() -> UInt64 { UInt64(bytes.count) }
    func encoded() -> [UInt8] { bytes }
    mutating func restore(from encoded: [UInt8]) throws(SnapshotError) { bytes = encoded }
}
