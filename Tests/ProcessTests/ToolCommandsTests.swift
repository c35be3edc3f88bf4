import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// The commands tools use, against a real pair: CLIENT LIST and KILL over the runtime's real connections, the slow
    /// log timing what the store executes, CONFIG SET changing it.
    @Suite(.serialized) struct ToolCommandsTests {
        @Test("CLIENT LIST shows every connection with its socket address, CLIENT KILL closes one, SLOWLOG notes KEYS")
        func clientsAndSlowLog() async throws {
            let pair = try await RunningPair.start("tools")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let asker = try RESPClient(address: primary, timeout: .seconds(5))
            let others = try (0..<3).map { _ in try RESPClient(address: primary, timeout: .seconds(5)) }
            var ids: [Int64] = []
            for other in others {
                guard case .integer(let id) = try other.command(["CLIENT", "ID"]) else {
                    Issue.record("CLIENT ID answered no integer")
                    return
                }
                ids.append(id)
            }
            let listed = try asker.command(["CLIENT", "LIST"]).text ?? ""
            let lines = listed.split(separator: "\n")
            #expect(lines.count >= 4, "\(listed)")
            for id in ids {
                let line = lines.first { $0.hasPrefix("id=\(id) ") }
                #expect(line?.contains(" addr=127.0.0.1:") == true, "\(listed)")
                #expect(line?.contains(" laddr=\(primary.host):\(primary.port) ") == true, "\(listed)")
            }

            #expect(try asker.command(["CLIENT", "KILL", "ID", String(ids[0])]) == .integer(1))
            #expect(throws: RESPClientError.self) { try others[0].command(["PING"]) }
            #expect(try others[1].command(["PING"]) == .simpleString("PONG"))
            let after = try asker.command(["CLIENT", "LIST"]).text ?? ""
            #expect(!after.contains("id=\(ids[0]) "))

            #expect(try asker.command(["CONFIG", "SET", "slowlog-log-slower-than", "0"]) == .simpleString("OK"))
            #expect(try asker.command(["SLOWLOG", "RESET"]) == .simpleString("OK"))
            _ = try asker.command(["SET", "tools:k", "v"])
            _ = try asker.command(["KEYS", "tools:*"])
            guard case .array(let entries?) = try asker.command(["SLOWLOG", "GET"]) else {
                Issue.record("SLOWLOG GET answered no array")
                return
            }
            let commands = entries.compactMap { entry -> String? in
                guard case .array(let fields?) = entry, fields.count == 6, case .array(let words?) = fields[3] else {
                    return nil
                }
                return words.compactMap(\.text).joined(separator: " ")
            }
            #expect(commands.prefix(2) == ["KEYS tools:*", "SET tools:k v"], "\(entries)")
            // The backup keeps its own slow log, of what it replays, under its own settings.
            let onBackup = try RESPClient(address: backup, timeout: .seconds(5))
            #expect(
                try onBackup.command(["CONFIG", "GET", "slowlog-log-slower-than"])
                    == .array([.bulk(Array("slowlog-log-slower-than".utf8)), .bulk(Array("10000".utf8))]))
        }
    }
}
