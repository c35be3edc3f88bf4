// durability-probe: the disk-full test's child (Tests/DurabilityTests/DiskFullTests.swift).
//
// Usage: durability-probe DIR LIMIT_BYTES
//
// Lowers its own file-size limit (RLIMIT_FSIZE) to LIMIT_BYTES with SIGXFSZ ignored, so writes past it fail with
// EFBIG as on a full disk, in this process only. Then it appends log entries to the data directory DIR until a
// write fails, tries a snapshot too large to fit, raises the limit again and retries the failed write. One line
// per step on stdout:
//   full CODE APPENDED WRITTEN      the log write failed with CODE; APPENDED entries appended, WRITTEN written
//   snapshot CODE TMPLEFT            the snapshot failed with CODE; TMPLEFT is 1 if its .tmp file remains
//   resumed WRITTEN SYNCED          after raising the limit, the retried write and a sync succeeded
//   error DESCRIPTION               anything else (exit 2)
import Durability
import Posix
import Glibc
import Replication

func say(_ line: String) {
    let text = line + "\n"
    _ = text.withCString { write(1, $0, strlen($0)) }  // the parent reads it; nothing to do if it cannot
}

func fail(_ description: String) -> Never {
    say("error \(description)")
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2, let limitBytes = rlim_t(arguments[1]) else { fail("usage: durability-probe DIR LIMIT_BYTES") }
let path = arguments[0]

signal(SIGXFSZ, SIG_IGN)
var limit = rlimit()
getrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit)
let original = limit
limit.rlim_cur = limitBytes
guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { fail("setrlimit failed with errno \(errno)") }

do throws(DurabilityError) {
    let directory = try DataDirectory(path: path)
    let (summary, _) = try LogRecovery.scan(directory)
    let writer = try LogWriter(directory, continuing: summary)
    var sequence: UInt64 = 1
    let command = [UInt8](repeating: 0x61, count: 200)
    var failure: DurabilityError?
    while failure == nil && sequence < 100_000 {
        guard try writer.append(.command(command, recorded: [.clock(Int64(sequence))]), epoch: 1, sequence: sequence)
        else { fail("pending buffer full") }
        sequence += 1
        do { try writer.write() } catch { failure = error }
    }
    guard let failure else { fail("the file-size limit never stopped a write") }
    say("full \(failure.code) \(writer.appendedThrough ?? 0) \(writer.writtenThrough ?? 0)")

    var snapshot = EncodedSnapshot([UInt8](repeating: 7, count: Int(limitBytes) * 2))
    do throws(DurabilityError) {
        try SnapshotWriter.write(&snapshot, epoch: 1, sequence: writer.appendedThrough ?? 0, in: directory)
        fail("a snapshot twice the file-size limit was written")
    } catch {
        let names = (try? FileSystem.names(inDirectory: directory.snapshotsPath)) ?? []  // empty reads as "no .tmp"
        say("snapshot \(error.code) \(names.contains { $0.hasSuffix(".tmp") } ? 1 : 0)")
    }

    limit = original
    guard setrlimit(Int32(RLIMIT_FSIZE.rawValue), &limit) == 0 else { fail("setrlimit failed with errno \(errno)") }
    try writer.write()
    try writer.sync()
    say("resumed \(writer.writtenThrough ?? 0) \(writer.syncedThrough ?? 0)")
} catch {
    fail(error.description)
}
