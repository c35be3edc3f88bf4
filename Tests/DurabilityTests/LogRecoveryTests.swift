import Glibc
import Replication
import Testing

@testable import Durability

@Suite("durable log: recovery cuts a torn tail and refuses anything worse")
struct LogRecoveryTests {
    /// A log of `count` records in one segment (default limits), and the byte offsets where each record starts.
    /// The directory opened once for a loop of scans. Reopening it hundreds of times would race the other suites'
    /// child processes: a child between fork and exec holds a copy of the lock's descriptor, and with it the lock.
    static func openedOnce(_ path: String) throws -> DataDirectory {
        try DataDirectory(path: path)
    }

    static func singleSegmentLog(_ path: String, count: Int) throws -> (segment: String, starts: [Int], bytes: [UInt8]) {
        let directory = try DataDirectory(path: path)
        try appendDurably(sampleRecords(count: count), to: directory, limits: DurabilityLimits())
        let segment = segmentPaths(directory)[0]
        var starts: [Int] = []
        var offset = LogFormat.segmentHeaderBytes
        for record in sampleRecords(count: count) {
            starts.append(offset)
            offset += LogFormat.recordHeaderBytes + record.entry.encodedByteCount
        }
        let bytes = try readFile(segment)
        #expect(bytes.count == offset)
        return (segment, starts, bytes)
    }

    @Test("a tail cut at every byte offset of the last record recovers to the record before it")
    func tornTailAtEveryOffset() throws {
        try withTemporaryDirectory { path in
            let (segment, starts, bytes) = try Self.singleSegmentLog(path, count: 12)
            let lastStart = starts.last!
            let directory = try Self.openedOnce(path)
            for cut in lastStart..<bytes.count {
                try writeFile(segment, Array(bytes[..<cut]))
                let (summary, notes) = try LogRecovery.scan(directory)
                #expect(summary.lastSequence == 11, "cut at \(cut)")
                if cut == lastStart {
                    #expect(notes.isEmpty, "a cut on a record boundary is no damage")
                } else {
                    guard case .tornTailTruncated(_, let offset, let dropped, _) = notes.first, notes.count == 1 else {
                        Issue.record("cut at \(cut): \(notes)")
                        continue
                    }
                    #expect(offset == lastStart && dropped == cut - lastStart, "cut at \(cut)")
                }
                #expect(try readFile(segment) == Array(bytes[..<lastStart]), "the file is cut back to the last whole record")
                #expect(try readAll(directory, summary: summary, limits: DurabilityLimits()) == sampleRecords(count: 11))
            }
        }
    }

    @Test("a zero-filled tail after the last record is cut off and reported")
    func zeroFilledTail() throws {
        try withTemporaryDirectory { path in
            let (segment, _, bytes) = try Self.singleSegmentLog(path, count: 5)
            try writeFile(segment, bytes + [UInt8](repeating: 0, count: 4096))
            let (summary, notes) = try LogRecovery.scan(DataDirectory(path: path))
            #expect(summary.lastSequence == 5)
            #expect(notes == [.tornTailTruncated(path: segment, offset: bytes.count, droppedBytes: 4096,
                                                 damage: .lengthOutOfBounds(declared: 0, limit: DurabilityLimits().recordBytesLimit))])
        }
    }

    @Test("a byte flipped anywhere in the last record is a torn tail: truncated to the record before")
    func flippedByteInTail() throws {
        try withTemporaryDirectory { path in
            let (segment, starts, bytes) = try Self.singleSegmentLog(path, count: 8)
            let directory = try Self.openedOnce(path)
            for index in starts.last!..<bytes.count {
                var damaged = bytes
                damaged[index] ^= 0x40
                try writeFile(segment, damaged)
                let (summary, notes) = try LogRecovery.scan(directory)
                #expect(summary.lastSequence == 7, "flip at \(index)")
                #expect(notes.count == 1, "flip at \(index)")
            }
        }
    }

    @Test("a byte flipped anywhere in an earlier record is refused, and the file is left as it was")
    func flippedByteInMiddle() throws {
        try withTemporaryDirectory { path in
            let (segment, starts, bytes) = try Self.singleSegmentLog(path, count: 8)
            let directory = try Self.openedOnce(path)
            for index in starts[5]..<starts[6] {
                var damaged = bytes
                damaged[index] ^= 0x40
                try writeFile(segment, damaged)
                do throws(DurabilityError) {
                    let (summary, _) = try LogRecovery.scan(directory)
                    Issue.record("flip at \(index) recovered to \(String(describing: summary.lastSequence))")
                } catch {
                    #expect(error.code == "corrupt_log", "flip at \(index): \(error)")
                    if case .corruptLog(_, let offset, _) = error { #expect(offset == starts[5]) }
                }
                #expect(try readFile(segment) == damaged, "nothing cut on a refusal")
            }
        }
    }

    @Test("a sequence gap inside a segment is refused even at the tail")
    func gapInsideSegment() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var bytes = LogFormat.segmentHeader(firstSequence: 1)
            for sequence: UInt64 in [1, 2, 4] {
                LogFormat.appendRecord(sampleEntry(sequence), epoch: 1, sequence: sequence, to: &bytes)
            }
            try writeFile(directory.logPath + "/" + LogFormat.segmentName(firstSequence: 1), bytes)
            #expect(throws: DurabilityError.sequenceGap(path: segmentPaths(directory)[0], expected: 3, found: 4)) {
                try LogRecovery.scan(directory)
            }
        }
    }

    @Test("a missing middle segment is refused as a gap")
    func missingSegment() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            try appendDurably(sampleRecords(count: 60), to: directory, limits: .small)
            let (summary, _) = try LogRecovery.scan(directory, limits: .small)
            unlink(summary.segments[2].path)
            #expect(throws: DurabilityError.sequenceGap(
                path: summary.segments[3].path, expected: summary.segments[2].firstSequence,
                found: summary.segments[3].firstSequence)) { try LogRecovery.scan(directory, limits: .small) }
        }
    }

    @Test("damage at the end of an earlier segment is refused, not cut: only the last segment can be torn")
    func tornEarlierSegment() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            try appendDurably(sampleRecords(count: 60), to: directory, limits: .small)
            let (summary, _) = try LogRecovery.scan(directory, limits: .small)
            let middle = summary.segments[1].path
            let bytes = try readFile(middle)
            try writeFile(middle, Array(bytes.dropLast(3)))
            #expect(throws: DurabilityError.self) { try LogRecovery.scan(directory, limits: .small) }
            do throws(DurabilityError) {
                _ = try LogRecovery.scan(directory, limits: .small)
            } catch {
                #expect(error.code == "corrupt_log")
            }
        }
    }

    @Test("a last segment torn while its header was written is removed, and the log ends with the one before")
    func tornSegmentCreation() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            let records = sampleRecords(count: 30)
            try appendDurably(records, to: directory, limits: .small)
            let torn = directory.logPath + "/" + LogFormat.segmentName(firstSequence: 31)
            try writeFile(torn, Array(LogFormat.segmentHeader(firstSequence: 31).prefix(7)))
            let (summary, notes) = try LogRecovery.scan(directory, limits: .small)
            #expect(notes == [.tornSegmentRemoved(path: torn, droppedBytes: 7)])
            #expect(!fileExists(torn))
            #expect(try readAll(directory, summary: summary, limits: .small) == records)
            try appendDurably(sampleRecords(first: 31, count: 5), to: directory, limits: .small)
            let (after, _) = try LogRecovery.scan(directory, limits: .small)
            #expect(after.lastSequence == 35)
        }
    }

    @Test("a record whose CRC holds but whose epoch goes back is refused")
    func epochRegression() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            var bytes = LogFormat.segmentHeader(firstSequence: 1)
            LogFormat.appendRecord(.barrier, epoch: 5, sequence: 1, to: &bytes)
            let second = bytes.count
            LogFormat.appendRecord(.barrier, epoch: 4, sequence: 2, to: &bytes)
            try writeFile(directory.logPath + "/" + LogFormat.segmentName(firstSequence: 1), bytes)
            #expect(throws: DurabilityError.corruptLog(
                path: segmentPaths(directory)[0], offset: second, damage: .epochRegressed(from: 5, to: 4))) {
                try LogRecovery.scan(directory)
            }
        }
    }
}
