import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Expiry, TIME and RANDOMKEY go through recorded time and randomness, so the backup ends up identical.
    @Suite struct RecordedNondeterminism {
        @Test("keys with a short expiry expire identically on both nodes; TIME and RANDOMKEY keep them equal")
        func expiryKeepsDigestsEqual() async throws {
            let pair = try await RunningPair.start("expiry")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let client = try RESPClient(address: primary, timeout: .seconds(2))

            // Given keys that expire in 50 ms, keys that stay, and commands that read the clock and randomness,
            for index in 0..<200 {
                #expect(try client.command(["SET", "short:\(index)", "v", "PX", "50"]) == .simpleString("OK"))
                if index % 4 == 0 {
                    #expect(try client.command(["SET", "kept:\(index)", "v"]) == .simpleString("OK"))
                }
                if index % 20 == 0 {
                    #expect(try client.command(["PEXPIRE", "kept:\(index)", "60000"]) == .integer(1))
                    guard case .array(let time?) = try client.command(["TIME"]), time.count == 2 else {
                        Issue.record("TIME did not answer [seconds, microseconds]")
                        return
                    }
                    guard case .bulk = try client.command(["RANDOMKEY"]) else {
                        Issue.record("RANDOMKEY did not answer a bulk string")
                        return
                    }
                }
            }

            // when they have expired (active expiry runs from the primary's log entries),
            let isExpired = try await Harness.waitUntil(.seconds(5)) {
                try client.command(["DBSIZE"]) == .integer(50)
            }
            let size = try client.command(["DBSIZE"])
            #expect(isExpired, "DBSIZE is \(size), expected the 50 kept keys")
            #expect(try client.command(["GET", "short:7"]) == .bulk(nil))
            #expect(try client.command(["TTL", "kept:0"]) != .integer(-2))

            // then the backup has the same state, and TIME and RANDOMKEY did not break that.
            _ = try await pair.waitForEqualDigests(deadline: .seconds(5))
            for _ in 0..<20 {
                _ = try client.command(["RANDOMKEY"])
                _ = try client.command(["TIME"])
            }
            let digest = try await pair.waitForEqualDigests(deadline: .seconds(5))
            print("after expiry, TIME and RANDOMKEY both nodes have digest \(digest)")
        }
    }
}
