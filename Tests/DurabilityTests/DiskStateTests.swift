import Glibc
import KeyValue
import Replication
import Testing

@testable import Durability

/// Entries as a primary makes them: each command applied with its nondeterminism recorded.
private struct History {
    var store = KeyValueStore()
    var records: [LogRecord] = []

    mutating func set(_ count: Int, epoch: UInt64) {
        for _ in 0..<count {
            let sequence = UInt64(records.count) + 1
            let command = KeyValueCommand.encode([Array("SET".utf8), Array("k\(sequence % 7)".utf8), Array("v\(sequence)".utf8)])
            var context = ApplyContext.recording(from: FixedEntropy())
            _ = store.apply(command, context: &context)
            records.append(LogRecord(epoch: epoch, sequence: sequence, entry: .command(command, recorded: context.takeRecorded())))
        }
    }

    func snapshot(in directory: DataDirectory, epoch: UInt64) throws {
        var snapshot = store.snapshot()
        try SnapshotWriter.write(&snapshot, epoch: epoch, sequence: UInt64(records.count), in: directory)
    }
}

@Suite("what a data directory gives back at start: the state, the markers, and a writer that continues the log")
struct DiskStateTests {
    static let limits = DurabilityLimits.small

    @Test("the default limits are consistent, so a node with a data directory starts")
    func defaultsAreConsistent() throws {
        _ = try DurabilityLimits().checked()
    }

    @Test("an empty directory holds no state, and the writer starts the log wherever the first entry says")
    func emptyDirectory() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let disk = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            #expect(disk.machine == nil && disk.gap == nil)
            #expect(try disk.writer.append(.barrier, epoch: 2, sequence: 41))
        }
    }

    @Test("the log alone replays to the state it recorded, with its last sequence and epoch, and the markers")
    func logOnly() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var history = History()
            history.set(30, epoch: 1)
            history.set(20, epoch: 2)
            try appendDurably(history.records, to: directory, limits: Self.limits)
            try DurableMarkers(directory).write(.ownedEpoch(epoch: 2, persistedBeforeReleasing: true))
            let disk = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            #expect(disk.machine?.digest() == history.store.digest())
            #expect(disk.sequence == 50 && disk.epoch == 2)
            #expect(disk.ownedEpoch == 2 && disk.protectingEpoch == nil)
            #expect(try disk.writer.append(.barrier, epoch: 3, sequence: 51))
        }
    }

    @Test("a snapshot and the log after it: only the entries after the snapshot are replayed over it")
    func snapshotThenLog() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var history = History()
            history.set(25, epoch: 1)
            try appendDurably(history.records, to: directory, limits: Self.limits)
            try history.snapshot(in: directory, epoch: 1)
            let before = history.records.count
            history.set(15, epoch: 1)
            try appendDurably(Array(history.records[before...]), to: directory, limits: Self.limits)
            try DurableMarkers(directory).write(.protecting(epoch: 1, fromSequence: 3))
            let disk = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            #expect(disk.machine?.digest() == history.store.digest())
            #expect(disk.sequence == 40)
            #expect(disk.protectingEpoch == 1)
        }
    }

    @Test("a snapshot ahead of the log (its entries never reached the log) is the state; the log continues after it")
    func snapshotAheadOfLog() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var history = History()
            history.set(10, epoch: 1)
            try appendDurably(history.records, to: directory, limits: Self.limits)
            history.set(10, epoch: 1)
            try history.snapshot(in: directory, epoch: 1)
            let disk = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            #expect(disk.machine?.digest() == history.store.digest())
            #expect(disk.sequence == 20)
            #expect(disk.notes.contains { $0.contains("behind the snapshot") })
            #expect(try disk.writer.append(.barrier, epoch: 1, sequence: 21))
        }
    }

    @Test("a log that starts after the snapshot ends is no whole state: none is served, and no marker vouches for it")
    func gapIsNoState() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var history = History()
            history.set(10, epoch: 1)
            try history.snapshot(in: directory, epoch: 1)
            history.set(20, epoch: 1)
            try appendDurably(Array(history.records[15...]), to: directory, limits: Self.limits)
            try DurableMarkers(directory).write(.protecting(epoch: 1, fromSequence: 16))
            let disk = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            #expect(disk.machine == nil)
            #expect(disk.gap?.contains("starts at entry 16") == true)
            #expect(try DurableMarkers(directory).read(.protecting) == nil)
            #expect(try SnapshotFile.latest(in: directory) == nil)
        }
    }

    @Test("an entry whose CRC holds but which does not replay over the state before it refuses the start")
    func replayMismatchRefuses() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var history = History()
            history.set(5, epoch: 1)
            let wrongDigest = LogRecord(epoch: 1, sequence: 6, entry: .digest(history.store.digest() &+ 1))
            try appendDurably(history.records + [wrongDigest], to: directory, limits: Self.limits)
            #expect(throws: DurabilityError.self) {
                _ = try DiskState.load(directory, emptyMachine: KeyValueStore(), limits: Self.limits)
            }
        }
    }
}
