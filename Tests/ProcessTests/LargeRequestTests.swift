import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Requests far over a logging-channel frame: carried to the backup in parts, and executed without either node
    /// taking the time they cost for a dead peer.
    @Suite(.serialized) struct LargeRequestTests {
        /// Large enough that executing it holds a debug build's loop well past the 300 ms silence timeout.
        static let valueBytes = 24 << 20

        @Test("a 24 MiB value is written, read back, replicated whole and survives a failover, with no role change")
        func largeValue() async throws {
            let pair = try await RunningPair.start("large")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let epoch = try #require(pair.info(primary)?["lockstep_epoch"])
            let client = try RESPClient(address: primary, timeout: .seconds(60))
            // A value whose bytes differ along its length, so a lost, repeated or misplaced part changes it
            let bytes = (0..<Self.valueBytes).map { index -> UInt8 in
                let letter = index % 26 ^ (index >> 20) % 7
                return UInt8(97 + letter % 26)
            }
            let value = String(decoding: bytes, as: UTF8.self)

            // Given a client writing it, then a small key after it
            #expect(try client.command(["SET", "large:value", value]) == .simpleString("OK"), "\(pair.logTail())")
            #expect(try client.command(["SET", "large:after", "small"]) == .simpleString("OK"))
            // Then it reads back whole, and both nodes hold the same state
            #expect(try client.command(["STRLEN", "large:value"]) == .integer(Int64(Self.valueBytes)))
            #expect(try client.command(["GET", "large:value"]) == .bulk(bytes))
            _ = try await pair.waitForEqualDigests(deadline: .seconds(30))
            // And nobody took the time it took for a failure: the same primary, epoch and connected backup
            let after = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            #expect(after.primary == primary, "\(pair.logTail())")
            #expect(pair.info(primary)?["lockstep_epoch"] == epoch, "\(pair.logTail())")

            // When the primary is killed, the backup serves the value it received in parts
            #expect(kill(try pair.nodePID(primary), SIGKILL) == 0)
            let survivor = try RESPClient(address: backup, timeout: .seconds(60))
            let isServing = try await Harness.waitUntil(.seconds(10)) {
                (try? survivor.command(["SET", "large:probe", "served"])) == .simpleString("OK")
            }
            #expect(isServing, "\(pair.logTail())")
            #expect(try survivor.command(["GET", "large:value"]) == .bulk(bytes))
        }
    }
}
