import Glibc
import Posix
import Replication
import Synchronization
import Testing

@testable import Durability

/// A fresh directory under /tmp for one test, removed with everything in it when the test ends.
func withTemporaryDirectory<R>(_ body: (String) throws -> R) throws -> R {
    var template = Array("/tmp/lockstep-durability-test-XXXXXX".utf8CString)
    let path = try template.withUnsafeMutableBufferPointer { buffer -> String in
        guard let created = mkdtemp(buffer.baseAddress!) else { throw TestSetupError("mkdtemp: errno \(errno)") }
        return String(cString: created)
    }
    defer { removeTree(path) }
    return try body(path)
}

/// Removes a file or a directory tree; best effort, for cleanup only.
func removeTree(_ path: String) {
    var status = stat()
    guard lstat(path, &status) == 0 else { return }
    if (status.st_mode & S_IFMT) == S_IFDIR {
        for name in names(in: path) { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

/// The names in a directory, sorted; none for a directory that is not there.
func names(in path: String) -> [String] {
    ((try? FileSystem.names(inDirectory: path)) ?? []).sorted()
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Replaces the file at `path` with `bytes`; how tests tear, corrupt or plant files.
func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
    defer { try? file.close() }
    let written = try bytes.withUnsafeBytes { try file.write($0, at: 0) }
    guard written == bytes.count else { throw TestSetupError("write \(path) wrote \(written) bytes") }
}

func readFile(_ path: String) throws -> [UInt8] {
    let file = try FileDescriptor.open(path, flags: O_RDONLY)
    defer { try? file.close() }
    var bytes = [UInt8](repeating: 0, count: try file.byteCount())
    let count = try bytes.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
    return Array(bytes[..<count])
}

func fileExists(_ path: String) -> Bool { access(path, F_OK) == 0 }

/// A varied entry for `sequence`: every kind, with and without recorded values, commands of several sizes.
func sampleEntry(_ sequence: UInt64) -> LogEntry {
    switch sequence % 4 {
    case 0: .command(Array("SET key:\(sequence) \(String(repeating: "v", count: Int(sequence % 40)))".utf8),
                     recorded: [.clock(Int64(sequence) * 1_000), .random(sequence &* 0x9E37_79B9)])
    case 1: .tick(recorded: [.clock(Int64(sequence))])
    case 2: .digest(sequence &* 31)
    default: sequence % 8 == 3 ? .barrier : .command(Array("INCR n".utf8), recorded: [])
    }
}

/// The records a test appends: `count` entries from sequence `first`, the epoch rising every `epochLength`.
func sampleRecords(first: UInt64 = 1, count: Int, epochLength: UInt64 = 1_000) -> [LogRecord] {
    (0..<UInt64(count)).map { index in
        let sequence = first + index
        return LogRecord(epoch: 1 + sequence / epochLength, sequence: sequence, entry: sampleEntry(sequence))
    }
}

/// Appends, writes and (unless told not to) syncs `records` through a writer continuing what `directory` holds.
func appendDurably(
    _ records: [LogRecord], to directory: DataDirectory, limits: DurabilityLimits, sync: Bool = true
) throws {
    let (summary, _) = try LogRecovery.scan(directory, limits: limits)
    let writer = try LogWriter(directory, continuing: summary, limits: limits)
    for record in records {
        if try !writer.append(record.entry, epoch: record.epoch, sequence: record.sequence) {
            try writer.write()
            #expect(try writer.append(record.entry, epoch: record.epoch, sequence: record.sequence))
        }
    }
    try writer.write()
    if sync { try writer.sync() }
}

/// Every record of the scanned log in `directory`, from `sequence`.
func readAll(
    _ directory: DataDirectory, summary: LogSummary, from sequence: UInt64 = 0, limits: DurabilityLimits
) throws -> [LogRecord] {
    let reader = LogReader(directory, summary: summary, from: sequence, limits: limits)
    var records: [LogRecord] = []
    while let record = try reader.next() { records.append(record) }
    return records
}

/// The paths of the log's segment files, oldest first.
func segmentPaths(_ directory: DataDirectory) -> [String] {
    names(in: directory.logPath).filter { $0.hasPrefix("segment-") }.map { directory.logPath + "/" + $0 }
}

/// Fails the calls `shouldFail` picks with `errno`, counting how many it failed; for disk faults root cannot get.
final class FaultPlan: Sendable {
    private let state = Mutex<(failed: Int, isArmed: Bool)>((0, true))
    let errnoCode: Int32
    let shouldFail: @Sendable (_ call: String, _ path: String) -> Bool

    init(errno: Int32, when shouldFail: @escaping @Sendable (_ call: String, _ path: String) -> Bool) {
        errnoCode = errno
        self.shouldFail = shouldFail
    }

    var failedCount: Int { state.withLock { $0.failed } }
    func disarm() { state.withLock { $0.isArmed = false } }

    var fault: DiskFault {
        { call, path in
            self.state.withLock { state in
                guard state.isArmed, self.shouldFail(call, path) else { return nil }
                state.failed += 1
                return self.errnoCode
            }
        }
    }
}
