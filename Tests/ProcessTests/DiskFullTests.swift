import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// A node whose data directory fills up: it takes no data command it could not make durable, says so in Redis's
    /// words, keeps answering node-local commands, and carries on by itself once space is freed.
    @Suite struct DiskFull {
        @Test("a full disk: -MISCONF for data commands, PING still answered, writes resume once space frees, nothing acked is lost")
        func fullDiskRefusesThenResumes() async throws {
            // A small file system of its own (tmpfs, root only), mostly taken by a filler the test removes later.
            let mount = try Harness.temporaryDirectory("disk-full-mount")
            defer { Harness.removeTree(mount) }
            let mounted = try Harness.run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mount])
            try #require(mounted.status == .exited(code: 0), "mounting a 2 MiB tmpfs needs root: \(mounted.standardError)")
            defer { _ = try? Harness.run("/bin/umount", ["-l", mount]) }
            let filler = mount + "/filler"
            let dd = try Harness.run("/bin/dd", ["if=/dev/zero", "of=\(filler)", "bs=64k", "count=28"])
            try #require(dd.status == .exited(code: 0), "\(dd.standardError)")

            let node = try await SoloNode.start("disk-full", flags: ["--data-dir", mount + "/data", "--fsync", "always"])
            defer { node.stop(); node.remove() }
            let load = try KeyValueLoad(against: node.client, prefix: "full")
            // Given writes until the disk is full (the writer's reply then waits: its entry is not durable),
            let clock = ContinuousClock()
            var lastCount = -1, lastChange = clock.now
            let isStalled = try await Harness.waitUntil(.seconds(60)) {
                let count = load.ackedCount
                if count != lastCount { (lastCount, lastChange) = (count, clock.now) }
                return count > 0 && clock.now - lastChange >= .seconds(1)
            }
            #expect(isStalled && load.endReason == nil, "the writer never stalled: \(load.endReason ?? "-")\n\(node.log)")

            // then data commands get Redis's MISCONF error, and node-local ones are answered.
            let probe = try RESPClient(address: node.client, timeout: .seconds(2))
            let refused = try probe.command(["SET", "during", "full"])
            #expect(refused.text?.hasPrefix("MISCONF Errors writing to the durable log") == true, "\(refused)")
            #expect(try probe.command(["PING"]) == .simpleString("PONG"))
            let persistence = try probe.command(["INFO", "persistence"]).text ?? ""
            #expect(persistence.contains("aof_last_write_status:err"), "\(persistence)")
            // The refusal, which the runtime sends without running the command, counts as an error reply.
            let errors = try probe.command(["INFO", "errorstats"]).text ?? ""
            #expect(errors.contains("errorstat_MISCONF:count="), "\(errors)")

            // Once space is freed, the waiting write completes and writes go on, with no one asking.
            let ackedWhenFull = load.ackedCount
            #expect(unlink(filler) == 0)
            let isResumed = try await Harness.waitUntil(.seconds(10)) { load.ackedCount > ackedWhenFull + 20 }
            let writer = load.endReason ?? "running"
            #expect(isResumed, "writes did not resume after space was freed (the writer: \(writer))\n\(node.log)")
            let acked = load.stop()
            #expect(try probe.command(["INFO", "persistence"]).text?.contains("aof_last_write_status:ok") == true)
            let failureLines = node.log.split(separator: "\n").filter { $0.contains("the durable log cannot be written") }
            #expect(failureLines.count == 1, "\(failureLines)")

            // Nothing acknowledged was lost, before the disk filled or after.
            let values = try probe.values(of: acked.map(\.key))
            let lost = acked.filter { values[$0.key] != .some($0.value) }
            #expect(lost.isEmpty, "\(lost.count) acked writes lost")
            print("disk full: \(ackedWhenFull) writes acked before the 2 MiB file system filled, MISCONF while full, "
                + "\(acked.count) acked in all after space was freed; 0 lost")
        }
    }
}
