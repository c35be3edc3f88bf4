import Glibc
import Replication
import Testing

@testable import Durability

@Suite("durable log: append, roll, read back, truncate")
struct LogRoundTripTests {
    @Test("records appended, written and synced read back identical after reopening, from any sequence")
    func roundTrip() throws {
        try withTemporaryDirectory { path in
            let records = sampleRecords(count: 300, epochLength: 100)
            try appendDurably(records, to: DataDirectory(path: path), limits: DurabilityLimits())

            let reopened = try DataDirectory(path: path)
            let (summary, notes) = try LogRecovery.scan(reopened)
            #expect(notes.isEmpty)
            #expect(summary.firstSequence == 1 && summary.lastSequence == 300)
            #expect(summary.firstEpoch == 1 && summary.lastEpoch == 4)
            #expect(summary.lastEpochFirstSequence == 300)
            #expect(try readAll(reopened, summary: summary, limits: DurabilityLimits()) == records)
            #expect(try readAll(reopened, summary: summary, from: 123, limits: DurabilityLimits()) == Array(records[122...]))
        }
    }

    @Test("a writer reopened on a scanned log continues it at the next sequence")
    func continueAfterReopen() throws {
        try withTemporaryDirectory { path in
            let records = sampleRecords(count: 40)
            try appendDurably(Array(records[..<25]), to: DataDirectory(path: path), limits: .small)
            try appendDurably(Array(records[25...]), to: DataDirectory(path: path), limits: .small)
            let directory = try DataDirectory(path: path)
            let (summary, notes) = try LogRecovery.scan(directory, limits: .small)
            #expect(notes.isEmpty)
            #expect(try readAll(directory, summary: summary, limits: .small) == records)
        }
    }

    @Test("segments roll before passing the byte bound, are named by first sequence, and read back in order")
    func segmentsRoll() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let records = sampleRecords(count: 120)
            try appendDurably(records, to: directory, limits: .small)
            let (summary, _) = try LogRecovery.scan(directory, limits: .small)
            #expect(summary.segments.count > 5)
            #expect(segmentPaths(directory) == summary.segments.map(\.path))
            for segment in summary.segments {
                #expect(segment.byteCount <= DurabilityLimits.small.segmentBytesLimit)
                #expect(segment.path.hasSuffix(LogFormat.segmentName(firstSequence: segment.firstSequence)))
            }
            #expect(try readAll(directory, summary: summary, limits: .small) == records)
            #expect(try readAll(directory, summary: summary, from: 77, limits: .small) == Array(records[76...]))
        }
    }

    @Test("truncate removes exactly the whole segments at or before the snapshot, never the current one")
    func truncateBehindSnapshot() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let records = sampleRecords(count: 120)
            try appendDurably(records, to: directory, limits: .small)
            let (before, _) = try LogRecovery.scan(directory, limits: .small)
            let writer = try LogWriter(directory, continuing: before, limits: .small)
            let snapshotSequence: UInt64 = 70
            let removed = try writer.truncate(through: snapshotSequence)

            let (after, _) = try LogRecovery.scan(directory, limits: .small)
            let expectedRemoved = before.segments.dropFirst().filter { $0.firstSequence <= snapshotSequence + 1 }.count
            #expect(removed == expectedRemoved && removed > 0)
            #expect(after.firstSequence! <= snapshotSequence + 1)
            #expect(after.segments.count == before.segments.count - removed)
            let kept = try readAll(directory, summary: after, from: snapshotSequence + 1, limits: .small)
            #expect(kept == Array(records[Int(snapshotSequence)...]))

            #expect(try writer.truncate(through: 1_000) == after.segments.count - 1)
            #expect(segmentPaths(directory).count == 1)
        }
    }

    @Test("append reports a full pending buffer instead of growing it, and takes the record after a write")
    func pendingBound() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let writer = try LogWriter(directory, continuing: LogSummary(), limits: .small)
            let entry = LogEntry.command([UInt8](repeating: 1, count: 900), recorded: [])
            var sequence: UInt64 = 1
            while try writer.append(entry, epoch: 1, sequence: sequence) { sequence += 1 }
            #expect(writer.pendingByteCount <= DurabilityLimits.small.pendingBytesLimit)
            #expect(writer.appendedThrough == sequence - 1)
            try writer.write()
            #expect(writer.pendingByteCount == 0 && writer.writtenThrough == sequence - 1)
            #expect(try writer.append(entry, epoch: 1, sequence: sequence))
        }
    }

    @Test("an entry above the record limit is a typed error, not a record")
    func entryTooLarge() throws {
        try withTemporaryDirectory { path in
            let writer = try LogWriter(DataDirectory(path: path), continuing: LogSummary(), limits: .small)
            let entry = LogEntry.command([UInt8](repeating: 1, count: 2_000), recorded: [])
            #expect(throws: DurabilityError.entryTooLarge(path: path + "/log", byteCount: 2_003, limit: 1_024)) {
                try writer.append(entry, epoch: 1, sequence: 1)
            }
        }
    }

    @Test("removeAll empties the log so a checkpoint's sequence can start it again")
    func removeAll() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            try appendDurably(sampleRecords(count: 60), to: directory, limits: .small)
            let (summary, _) = try LogRecovery.scan(directory, limits: .small)
            let writer = try LogWriter(directory, continuing: summary, limits: .small)
            try writer.removeAll()
            #expect(segmentPaths(directory).isEmpty)
            let fresh = sampleRecords(first: 500, count: 10)
            try appendDurably(fresh, to: directory, limits: .small)
            let (after, _) = try LogRecovery.scan(directory, limits: .small)
            #expect(after.firstSequence == 500)
            #expect(try readAll(directory, summary: after, limits: .small) == fresh)
        }
    }
}
