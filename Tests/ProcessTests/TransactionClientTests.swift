import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Transactions as a client library drives them against a real pair: redis-py's transactional pipeline and its
    /// WATCH retry loop, then both nodes compared.
    @Suite(.serialized) struct TransactionClientTests {
        @Test("redis-py's pipeline runs as MULTI/EXEC, its WATCH loop loses no increment, and both nodes agree")
        func redisPyTransactions() async throws {
            let pair = try await RunningPair.start("transactions")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let python = try #require(Harness.onPath("python3"), "python3 is not installed; .ci/run installs it")
            let script = pair.directory + "/transactions.py"
            let file = try FileDescriptor.open(script, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o644)
            try Array(TransactionClientScript.source.utf8).withUnsafeBytes { try file.writeAll($0) }
            try file.close()
            let threads = TransactionClientScript.threads, increments = TransactionClientScript.incrementsPerThread
            let run = try Harness.run(
                python, [script, primary.host, String(primary.port), String(threads), String(increments)],
                timeout: .seconds(60))
            try #require(run.status == .exited(code: 0), "redis-py: \(run.standardOutput)\(run.standardError)")
            print("redis-py transactions:\n\(run.standardOutput)")
            let expected = [
                "pipeline=[True, 42, '42', True]", "aborted=True", "aborted_wrote=0",
                "counter=\(threads * increments)", "after_helper=\(threads * increments + 10)",
            ]
            // How many EXECs a WATCH aborted depends on the threads' timing: printed, not asserted.
            let findings = run.standardOutput.split(separator: "\n").map(String.init).filter { !$0.hasPrefix("retries=") }
            #expect(findings == expected, "\(run.standardError)")
            let digest = try await pair.waitForEqualDigests(deadline: .seconds(5))
            #expect(!digest.isEmpty)
        }
    }
}
