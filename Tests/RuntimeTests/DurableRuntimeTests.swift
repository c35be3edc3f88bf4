import Glibc
import KeyValue
import Posix
import Replication
import Runtime
import Testing

/// Removes `path` and everything under it.
func removeTree(_ path: String) {
    if let names = try? FileSystem.names(inDirectory: path) {
        for name in names { removeTree(path + "/" + name) }
        rmdir(path)
    } else {
        unlink(path)
    }
}

@Suite("a node over a data directory: snapshots as the log grows, and a restart from what it wrote", .serialized)
struct DurableRuntimeTests {
    /// The last run of digits in a data file's name: a snapshot's entry, or a segment's first entry.
    static func lastNumber(in name: String) -> UInt64? {
        name.split(whereSeparator: { !$0.isNumber }).last.flatMap { UInt64($0) }
    }

    @Test("the log is cut behind a snapshot once it grows past the bound, and a restart recovers every acked write")
    func snapshotsTruncateAndRestartRecovers() throws {
        let arbiter = try TemporaryDirectory()
        let data = arbiter.path + "-data"
        defer { removeTree(data); arbiter.remove() }
        let configure = { (configuration: inout RuntimeConfiguration) in
            configuration.dataDirectory = data
            configuration.fsync = .always
            configuration.snapshotAfterLogBytes = 16 << 10
            configuration.durabilityLimits.segmentBytesLimit = 8 << 10
        }
        var acked: [Int] = []
        do {
            // A scope of its own: the crashed runtime releases the data directory's lock with its last reference,
            // as a killed process does.
            let node = try TestNode.start(name: "a", arbiterDirectory: arbiter.path, configure: configure)
            #expect(Waiting.until(.seconds(10)) { node.role == .solo })
            let writer = try Writer(address: node.clientAddress, prefix: "k")
            // Each write waits for its fsync: on a busy disk that is milliseconds, so the deadline is generous.
            #expect(Waiting.until(.seconds(60)) { writer.ackedCount >= 1_500 })
            acked = writer.stop()
            let snapshotted = Waiting.until(.seconds(10)) {
                node.events.contains { "\($0)".hasPrefix("snapshot at entry") }
            }
            #expect(snapshotted, "no snapshot was taken as the log grew")
            // 1,500 entries of about 40 bytes fill seven 8 KiB segments; what the snapshots cover is removed by the
            // durability worker, a moment after the snapshot's event.
            var snapshots: [String] = []
            var segments: [String] = []
            let cut = Waiting.until(.seconds(10)) {
                snapshots = (try? FileSystem.names(inDirectory: data + "/snapshots"))?.filter { $0.hasSuffix(".snap") } ?? []
                segments = (try? FileSystem.names(inDirectory: data + "/log"))?.filter { $0.hasSuffix(".log") } ?? []
                // Cut behind the snapshot: of the segments left, only the one holding the snapshot's entry may start at
                // or before it (how many follow depends on how far the writer got past the snapshot).
                let covered = snapshots.first.flatMap { Self.lastNumber(in: $0) } ?? 0
                let before = segments.filter { (Self.lastNumber(in: $0) ?? .max) <= covered }
                return snapshots.count == 1 && before.count <= 1
            }
            #expect(cut, "\(snapshots.count) snapshots and \(segments.count) segments left: \(snapshots) \(segments)")
            #expect(node.status.persistedSequence ?? 0 >= UInt64(acked.count))
            node.crash()
        }

        // Over the same directory and arbiter, the node owns the epoch and proves it: it goes live at the next one.
        let again = try TestNode.start(name: "a", arbiterDirectory: arbiter.path, configure: configure)
        defer { again.shutDown() }
        #expect(Waiting.until(.seconds(10)) { again.role == .solo })
        #expect(again.roleChanges.contains { $0.code == "recovered" })
        let client = try RESPClient(again.clientAddress)
        let missing = acked.filter { (try? client.command("GET", "k:\($0)")) != .bulk("value:\($0)") }
        #expect(missing.isEmpty, "\(missing.count) acked writes missing after the restart, e.g. \(missing.prefix(5))")
    }
}
