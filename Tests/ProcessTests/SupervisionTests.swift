import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// What `pair` guarantees about its processes, beyond restarting a crashed node (see `Failover`).
    @Suite struct Supervision {
        @Test("killing the supervisor with kill -9 leaves no node running")
        func killedSupervisorLeavesNoOrphans() async throws {
            let pair = try await RunningPair.start("orphans")
            defer { pair.stop(); pair.removeDirectory() }
            let pids = try pair.clients.map { try pair.nodePID($0) }

            try pair.process.signal(SIGKILL)
            _ = try pair.process.wait(timeout: .seconds(5))

            let areGone = try await Harness.waitUntil(.seconds(5)) { pids.allSatisfy { !processExists($0) } }
            #expect(areGone, "nodes \(pids.filter(processExists)) outlived their supervisor\n\(pair.logTail())")
        }
    }
}

extension ProcessTests.Supervision {
    @Test("a busy port stops pair before it starts a node, with exit code 1 naming the port")
    func busyPortRefusedUpFront() throws {
        let directory = try Harness.temporaryDirectory("pair-busy")
        defer { Harness.removeTree(directory) }
        let basePort = try Harness.freePairBasePort()
        let holder = try TCP.listen(on: .loopback(port: UInt16(basePort + 1_001)))
        defer { try? holder.close() }  // the test is over; nothing to report

        let output = try Harness.run(
            try Harness.lockstepPath(), ["pair", "--dir", directory, "--port", String(basePort)],
            timeout: .seconds(20))
        #expect(output.status == .exited(code: 1))
        #expect(output.standardError.contains("127.0.0.1:\(basePort + 1_001)"), "\(output.standardError)")
        #expect(output.standardError.contains("already in use"), "\(output.standardError)")
        #expect(!output.standardOutput.contains("node a:"), "nothing may start: \(output.standardOutput)")
    }
}
