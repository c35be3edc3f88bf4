import Glibc
import Posix
import Replication
import Synchronization
import Testing

@testable import Durability

@Suite("disk faults: full disks resume without loss, failed syncs stop the writer", .serialized)
struct DiskFaultTests {
    @Test("a write failing part-way with ENOSPC resumes at the byte it stopped at once space is back")
    func writeResumes() throws {
        try withTemporaryDirectory { path in
            // The third pwrite (the lock file's pid, the segment header, then record 1) fails: record 1 stays pending.
            let counter = PwriteCounter(failOnCall: 3)
            let directory = try DataDirectory(path: path, fault: { call, _ in
                call == "pwrite" && counter.shouldFail() ? ENOSPC : nil
            })
            let writer = try LogWriter(directory, continuing: LogSummary(), limits: .small)
            let records = sampleRecords(count: 60)
            var failures: [DurabilityError] = []
            for record in records {
                if try !writer.append(record.entry, epoch: record.epoch, sequence: record.sequence) {
                    Issue.record("pending full at \(record.sequence)")
                }
                do throws(DurabilityError) { try writer.write() } catch { failures.append(error) }
            }
            #expect(failures.count == 1 && failures.first?.code == "disk_full")
            #expect(failures.first?.isDiskFull == true)
            #expect(writer.writtenThrough == 60 && writer.syncedThrough == nil)
            try writer.write()
            try writer.sync()
            #expect(writer.syncedThrough == 60)
            let (summary, notes) = try LogRecovery.scan(directory, limits: .small)
            #expect(notes.isEmpty)
            #expect(try readAll(directory, summary: summary, limits: .small) == records)
        }
    }

    @Test("a failed sync breaks the writer: every later call refuses until it is reopened from the disk")
    func failedSyncBreaksWriter() throws {
        try withTemporaryDirectory { path in
            let plan = FaultPlan(errno: EIO) { call, _ in call == "fdatasync" }
            let directory = try DataDirectory(path: path, fault: plan.fault)
            let writer = try LogWriter(directory, continuing: LogSummary(), limits: .small)
            #expect(try writer.append(.barrier, epoch: 1, sequence: 1))
            try writer.write()
            #expect(throws: DurabilityError.ioFailed(path: directory.logPath + "/" + LogFormat.segmentName(firstSequence: 1),
                                                     call: "fdatasync", errno: EIO)) { try writer.sync() }
            #expect(writer.syncedThrough == nil)
            plan.disarm()
            do throws(DurabilityError) {
                try writer.sync()
                Issue.record("a sync after a failed one succeeded")
            } catch {
                #expect(error.code == "writer_broken")
            }
            #expect(throws: DurabilityError.self) { try writer.append(.barrier, epoch: 1, sequence: 2) }
        }
    }

    @Test("a segment is synced, and its name too, before the next segment is created")
    func rollSyncsBeforeCreating() throws {
        try withTemporaryDirectory { path in
            let calls = CallRecorder()
            let directory = try DataDirectory(path: path, fault: { call, filePath in
                calls.record(call, filePath)
                return nil
            })
            try appendDurably(sampleRecords(count: 40), to: directory, limits: .small, sync: false)
            let log = calls.calls
            let creations = log.indices.filter { log[$0].call == "open" && log[$0].path.contains("/log/segment-") }
            #expect(creations.count > 3)
            for (previous, next) in zip(creations, creations.dropFirst()) {
                let between = log[(previous + 1)..<next]
                #expect(between.contains { $0 == ("fdatasync", log[previous].path) }, "segment \(log[previous].path)")
                #expect(between.contains { $0 == ("fsync", directory.logPath) }, "its name, before \(log[next].path)")
            }
        }
    }

    @Test("a real file-size limit (EFBIG) fails log and snapshot writes as disk_full; raised, the log resumes intact")
    func realDiskFull() throws {
        try withTemporaryDirectory { path in
            let limitBytes = 64 << 10
            let output = path + "/probe.out"
            let probe = try ChildProcess.spawn(
                try Self.probePath(), arguments: [path + "/node", "\(limitBytes)"],
                standardOutput: .file(path: output, append: false), standardError: .file(path: output, append: true))
            defer { _ = try? probe.terminate(signal: SIGKILL, timeout: .seconds(5)) }  // reaped by pid either way
            let status = try probe.wait(timeout: .seconds(20))
            let lines = String(decoding: try readFile(output), as: UTF8.self).split(separator: "\n").map(String.init)
            #expect(status == .exited(code: 0), "\(lines)")
            guard lines.count == 3 else {
                Issue.record("probe printed \(lines)")
                return
            }
            let full = lines[0].split(separator: " ")
            #expect(full.first == "full" && full[1] == "disk_full", "\(lines[0])")
            let appended = UInt64(full[2]) ?? 0, written = UInt64(full[3]) ?? 0
            #expect(appended > 100 && written < appended, "\(lines[0])")
            #expect(lines[1] == "snapshot disk_full 0", "the snapshot fails typed and leaves no .tmp")
            #expect(lines[2] == "resumed \(appended) \(appended)")

            let directory = try DataDirectory(path: path + "/node")
            let (summary, notes) = try LogRecovery.scan(directory)
            #expect(notes.isEmpty, "the failed write left no torn record behind: \(notes)")
            #expect(summary.firstSequence == 1 && summary.lastSequence == appended)
            #expect(try readAll(directory, summary: summary, limits: DurabilityLimits()).count == Int(appended))
            #expect(try SnapshotFile.latest(in: directory) == nil)
        }
    }

    /// The probe executable, which SwiftPM puts beside the test bundle.
    static func probePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw TestSetupError("readlink /proc/self/exe: errno \(errno)") }
        let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let probe = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/") + "/durability-probe"
        guard access(probe, X_OK) == 0 else {
            throw TestSetupError("durability-probe not found at \(probe); run `swift build --product durability-probe`")
        }
        return probe
    }
}

/// Counts pwrite calls and says which one to fail.
final class PwriteCounter: Sendable {
    private let calls = Synchronization.Mutex(0)
    let failOnCall: Int
    init(failOnCall: Int) { self.failOnCall = failOnCall }
    func shouldFail() -> Bool { calls.withLock { $0 += 1; return $0 == failOnCall } }
}

/// Records every disk call in order, failing none.
final class CallRecorder: Sendable {
    private let log = Synchronization.Mutex<[(call: String, path: String)]>([])
    func record(_ call: String, _ path: String) { log.withLock { $0.append((call, path)) } }
    var calls: [(call: String, path: String)] { log.withLock { $0 } }
}

@Suite("reopening after a failed sync")
struct DiscardAfterSyncFailureTests {
    @Test("a scan discarding after the last synced sequence cuts there across segments; a new writer appends again")
    func discardAfterSyncedThrough() throws {
        try withTemporaryDirectory { path in
            let directory = try DataDirectory(path: path)
            try appendDurably(sampleRecords(count: 60), to: directory, limits: .small)
            let (before, _) = try LogRecovery.scan(directory, limits: .small)
            let synced: UInt64 = 33
            let (summary, notes) = try LogRecovery.scan(directory, limits: .small, discardingAfter: synced)
            #expect(summary.lastSequence == synced)
            let cutIndex = try #require(before.segments.lastIndex { $0.firstSequence <= synced + 1 })
            #expect(summary.segments.count == cutIndex + 1)
            #expect(segmentPaths(directory).count == cutIndex + 1, "later segments removed")
            #expect(notes.count == before.segments.count - cutIndex)
            #expect(notes.allSatisfy { if case .unsyncedTailDiscarded(_, synced, _) = $0 { true } else { false } })

            let again = sampleRecords(first: synced + 1, count: 10, epochLength: 20)
            try appendDurably(again, to: directory, limits: .small)
            let (after, afterNotes) = try LogRecovery.scan(directory, limits: .small)
            #expect(afterNotes.isEmpty)
            #expect(try readAll(directory, summary: after, limits: .small)
                == Array(sampleRecords(count: 60)[..<Int(synced)]) + again)
        }
    }
}
