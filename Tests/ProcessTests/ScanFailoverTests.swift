import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// A SCAN begun on the primary and finished on the backup after kill -9: the cursor means the same on both nodes.
    @Suite struct ScanFailover {
        /// One SCAN call's next cursor and keys.
        private static func scan(_ client: RESPClient, _ cursor: String) throws -> (cursor: String, keys: [String]) {
            let reply = try client.command(["SCAN", cursor, "COUNT", "20"])
            guard case .array(let parts?) = reply, parts.count == 2, let next = parts[0].text,
                case .array(let keys?) = parts[1]
            else {
                Issue.record("not a SCAN reply: \(reply)")
                return ("0", [])
            }
            return (next, keys.compactMap(\.text))
        }

        @Test("a SCAN started on the primary finishes on the backup after kill -9 and returns every key")
        func scanAcrossFailover() async throws {
            let pair = try await RunningPair.start("scan-failover")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let primaryPID = try pair.nodePID(primary)
            let client = try RESPClient(address: primary, timeout: .seconds(3))
            let keyCount = 4_000
            for batch in stride(from: 0, to: keyCount, by: 200) {
                let arguments = (batch..<(batch + 200)).flatMap { ["key:\($0)", "v"] }
                #expect(try client.command(["MSET"] + arguments) == .simpleString("OK"))
            }

            // Given a client part way through a SCAN on the primary,
            var cursor = "0"
            var seen: Set<String> = []
            for _ in 0..<3 {
                let page = try Self.scan(client, cursor)
                seen.formUnion(page.keys)
                cursor = page.cursor
            }
            #expect(cursor != "0", "the scan ended on the primary")
            let seenOnPrimary = seen.count

            // when the primary is killed and the backup goes live, and writes split its shards,
            #expect(kill(primaryPID, SIGKILL) == 0)
            let live = try RESPClient(address: backup, timeout: .seconds(2))
            let isLive = try await Harness.waitUntil(.seconds(5)) {
                try live.command(["SET", "after", "1"]) == .simpleString("OK")
            }
            #expect(isLive, "\(pair.logTail())")
            for batch in stride(from: 0, to: 2_000, by: 200) {
                let arguments = (batch..<(batch + 200)).flatMap { ["later:\($0)", "v"] }
                #expect(try live.command(["MSET"] + arguments) == .simpleString("OK"))
            }

            // then the same cursor continued on the new primary returns every key.
            var calls = 0
            while cursor != "0" && calls < 10_000 {
                let page = try Self.scan(live, cursor)
                seen.formUnion(page.keys)
                cursor = page.cursor
                calls += 1
            }
            #expect(cursor == "0", "the scan did not end in \(calls) calls")
            let missing = (0..<keyCount).map { "key:\($0)" }.filter { !seen.contains($0) }
            #expect(missing.isEmpty, "\(missing.count) keys never returned, e.g. \(missing.prefix(5))")
            print("scan across failover: \(seenOnPrimary) keys seen on the primary, \(calls) calls on the backup")
        }
    }
}
