@testable import Durability
import Glibc
import KeyValue
import LogChannel
import Posix
import Replication
@testable import Runtime
import Synchronization
import Testing

/// What a worker reported, gathered from its thread.
private final class Reports: Sendable {
    let all = Mutex<[DurabilityWorker<KeyValueStore.Snapshot>.Report]>([])
    var persisted: UInt64 {
        all.withLock { reports in
            reports.reduce(0) { if case .persisted(_, let through) = $1 { max($0, through) } else { $0 } }
        }
    }
    var failures: [String?] {
        all.withLock { $0.compactMap { if case .failure(let cause) = $0 { .some(cause) } else { nil } } }
    }
    var snapshotRequests: Int {
        all.withLock { $0.filter { if case .snapshotWanted = $0 { true } else { false } }.count }
    }
}

@Suite("the durability worker: group commit, and a log that starts again after a failed sync", .serialized)
struct DurabilityWorkerTests {
    /// A worker on `data` that syncs every batch, takes no snapshot of its own accord, and gathers what it reports.
    fileprivate static func startWorker(
        on data: DataDirectory, reportingTo reports: Reports
    ) throws -> DurabilityWorker<KeyValueStore.Snapshot> {
        let worker = DurabilityWorker<KeyValueStore.Snapshot>(
            directory: data, writer: try LogWriter(data, continuing: LogSummary()), policy: .always,
            limits: DurabilityLimits(), snapshotAfterLogBytes: 1 << 30)
        try worker.start { report in
            reports.all.withLock { $0.append(report) }
            return true
        }
        return worker
    }

    @Test("a failed sync: no entry after it counts, the log starts again from a snapshot, and nothing is lost")
    func failedSyncStartsTheLogAgain() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "-data"
        defer { removeTree(path); directory.remove() }
        var store = KeyValueStore()
        do {
            // A scope of its own: the worker and the directory let go of the lock at its end. The log's data syncs
            // fail while armed, as a disk that lost pages would.
            let isFailing = Atomic<Bool>(false)
            let data = try DataDirectory(path: path) { call, file in
                call == "fdatasync" && file.contains("/log/") && isFailing.load(ordering: .relaxed) ? EIO : nil
            }
            let reports = Reports()
            let worker = try Self.startWorker(on: data, reportingTo: reports)

            var sequence: UInt64 = 0
            func set(_ count: Int) -> [DurabilityWorker<KeyValueStore.Snapshot>.Job] {
                (0..<count).map { _ in
                    sequence += 1
                    let command = KeyValueCommand.encode([Array("SET".utf8), Array("k\(sequence)".utf8), Array("v".utf8)])
                    var context = ApplyContext.recording(from: SystemEntropy())
                    _ = store.apply(command, context: &context)
                    return .append(epoch: 1, sequence: sequence, .command(command, recorded: context.takeRecorded()))
                }
            }
            #expect(worker.submit([.markOwned(epoch: 1)] + set(10)))
            #expect(Waiting.until(.seconds(5)) { reports.persisted == 10 })

            isFailing.store(true, ordering: .relaxed)
            #expect(worker.submit(set(10)))
            #expect(Waiting.until(.seconds(5)) { reports.failures.contains { $0?.contains("starts again from a snapshot") == true } })
            #expect(Waiting.until(.seconds(5)) { reports.snapshotRequests >= 1 })
            #expect(reports.persisted == 10, "entries after the failed sync counted as persisted")

            // The loop answers with a snapshot of its state; entries go on meanwhile and after.
            isFailing.store(false, ordering: .relaxed)
            let snapshot = store.snapshot(), snapshotSequence = sequence
            let later = set(5)
            #expect(worker.submit([.snapshot(snapshot, epoch: 1, sequence: snapshotSequence)] + later))
            #expect(Waiting.until(.seconds(5)) { reports.persisted == 25 })
            #expect(Waiting.until(.seconds(5)) { reports.failures.last == .some(nil) })
            worker.finish()
            worker.join()
        }
        // What the disk gives back at start is the whole state: the snapshot, then the log after it.
        let disk = try DiskState.load(try DataDirectory(path: path), emptyMachine: KeyValueStore())
        #expect(disk.sequence == 25)
        #expect(disk.machine?.digest() == store.digest())
        #expect(disk.ownedEpoch == 1)
    }

    @Test("a full disk that frees: the recovery is reported before the entries it let through count as persisted")
    func recoveryComesBeforeThePersistedReport() throws {
        let directory = try TemporaryDirectory()
        let path = directory.path + "-data"
        defer { removeTree(path); directory.remove() }
        let isFull = Atomic<Bool>(false)
        let data = try DataDirectory(path: path) { call, file in
            call == "pwrite" && file.contains("/log/") && isFull.load(ordering: .relaxed) ? ENOSPC : nil
        }
        let reports = Reports()
        let worker = try Self.startWorker(on: data, reportingTo: reports)
        defer {
            worker.finish()
            worker.join()
        }
        func append(_ sequence: UInt64) -> DurabilityWorker<KeyValueStore.Snapshot>.Job {
            .append(epoch: 1, sequence: sequence, .command(
                KeyValueCommand.encode([Array("SET".utf8), Array("k\(sequence)".utf8), Array("v".utf8)]), recorded: []))
        }
        #expect(worker.submit([.markOwned(epoch: 1), append(1)]))
        #expect(Waiting.until(.seconds(5)) { reports.persisted == 1 })

        isFull.store(true, ordering: .relaxed)
        #expect(worker.submit([append(2)]))
        #expect(Waiting.until(.seconds(5)) { reports.failures.last??.contains("no space") == true })
        isFull.store(false, ordering: .relaxed)
        #expect(Waiting.until(.seconds(5)) { reports.persisted == 2 })

        // The loop refuses data commands while the log fails; a reply released by the persisted report lets its
        // client send the next command at once, which the loop must not refuse for want of the recovery report.
        let all = reports.all.withLock { $0 }
        let recovered = all.firstIndex { if case .failure(nil) = $0 { true } else { false } }
        let persisted = all.firstIndex { if case .persisted(_, 2) = $0 { true } else { false } }
        #expect(recovered != nil && persisted != nil && recovered! < persisted!, "\(all)")
    }
}
