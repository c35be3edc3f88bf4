import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Malformed requests get an error or a closed connection, and only that connection is affected.
    @Suite struct BadInput {
        /// Sends `bytes` on a fresh connection and reports whether the server answered with an error or closed
        /// the connection within two seconds (what each bad request must get).
        static func errorOrClose(_ bytes: [UInt8], to address: SocketAddress) throws -> String? {
            let client = try RESPClient(address: address, timeout: .seconds(2))
            defer { client.close() }
            try client.sendRaw(bytes)
            do {
                let reply = try client.readReply()
                guard case .error(let message) = reply else { return nil }
                return "-\(message)"
            } catch .closed {
                return "closed"
            } catch .ioFailed {
                return "closed"
            }
        }

        @Test("malformed RESP, a 1 GiB bulk length, binary garbage and half a command do not disturb other clients")
        func badRequestsAffectOnlyTheirConnection() async throws {
            let pair = try await RunningPair.start("bad-input")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let bystander = try RESPClient(address: primary, timeout: .seconds(2))
            #expect(try bystander.command(["SET", "bystander", "0"]) == .simpleString("OK"))

            func bystanderStillServed(_ step: Int) throws {
                #expect(try bystander.command(["INCR", "bystander"]) == .integer(Int64(step)))
                let fresh = try RESPClient(address: primary, timeout: .seconds(2))
                #expect(try fresh.command(["PING"]) == .simpleString("PONG"))
            }

            let malformed = try Self.errorOrClose(Array("*2\r\n$3\r\nGET\r\n:oops\r\n".utf8), to: primary)
            print("malformed RESP got: \(malformed ?? "nothing within 2 s")")
            #expect(
                malformed?.hasPrefix("-ERR Protocol error") == true || malformed == "closed", "\(malformed ?? "nil")")
            try bystanderStillServed(1)

            let huge = try Self.errorOrClose(Array("*2\r\n$3\r\nGET\r\n$1073741824\r\n".utf8), to: primary)
            print("a 1 GiB bulk length got: \(huge ?? "nothing within 2 s")")
            #expect(huge?.hasPrefix("-ERR Protocol error") == true || huge == "closed", "\(huge ?? "nil")")
            try bystanderStillServed(2)

            var generator = SystemRandomNumberGenerator()
            var garbage = (0..<4_096).map { _ in UInt8.random(in: 0...255, using: &generator) }
            garbage[0] = UInt8(ascii: "*")  // a multibulk header that cannot be a number
            garbage[1] = 0xFF
            garbage += Array("\r\n".utf8)
            let binary = try Self.errorOrClose(garbage, to: primary)
            print("binary garbage got: \(binary ?? "nothing within 2 s")")
            #expect(binary?.hasPrefix("-ERR") == true || binary == "closed", "\(binary ?? "nil")")
            try bystanderStillServed(3)

            let half = try RESPClient(address: primary, timeout: .seconds(2))
            try half.sendRaw(Array("*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nval".utf8))
            half.close()
            try bystanderStillServed(4)
            #expect(try bystander.command(["GET", "half"]) == .bulk(nil), "half a command must not execute")

            // The backup shrugs off garbage the same way and keeps answering.
            let atBackup = try Self.errorOrClose(garbage, to: backup)
            #expect(atBackup?.hasPrefix("-ERR") == true || atBackup == "closed", "\(atBackup ?? "nil")")
            #expect(try RedisCLI(backup)("PING") == "PONG")
            #expect(try RedisCLI(primary)("GET", "bystander") == "4")
            _ = try await pair.waitForEqualDigests(deadline: .seconds(5))
        }
    }
}
