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

        @Test("a MONITOR connection is sent what other connections ask, until it closes")
        func monitor() async throws {
            let pair = try await RunningPair.start("monitor")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let monitor = try RESPClient(address: primary, timeout: .seconds(5))
            #expect(try monitor.command(["MONITOR"]) == .simpleString("OK"))
            let writer = try RESPClient(address: primary, timeout: .seconds(5))
            // Redis's line names the client by its address: the writer's, as CLIENT INFO tells it.
            guard case .bulk(let info?) = try writer.command(["CLIENT", "INFO"]),
                let address = String(decoding: info, as: UTF8.self).split(separator: " ")
                    .first(where: { $0.hasPrefix("addr=") })?.dropFirst(5)
            else {
                Issue.record("CLIENT INFO named no address")
                return
            }
            #expect(try writer.command(["SET", "monitor:k", "v"]) == .simpleString("OK"))
            #expect(try writer.command(["GET", "monitor:k"]) == .bulk(Array("v".utf8)))
            var seen: [String] = []
            while seen.count < 2, case .simpleString(let line) = try monitor.readReply() { seen.append(line) }
            #expect(seen.count == 2)
            #expect(seen.first?.hasSuffix("[0 \(address)] \"SET\" \"monitor:k\" \"v\"") == true, "\(seen)")
            #expect(seen.last?.hasSuffix("[0 \(address)] \"GET\" \"monitor:k\"") == true, "\(seen)")
            _ = try writer.command(["SELECT", "4"])
            #expect(try writer.command(["SET", "monitor:k", "four"]) == .simpleString("OK"))
            seen = []
            while seen.count < 2, case .simpleString(let line) = try monitor.readReply() { seen.append(line) }
            #expect(seen.last?.hasSuffix("[4 \(address)] \"SET\" \"monitor:k\" \"four\"") == true, "\(seen)")
            monitor.close()
            // Without a monitor the node goes on serving, and a new monitor starts from what comes after it.
            #expect(try writer.command(["PING"]) == .simpleString("PONG"))
            let second = try RESPClient(address: primary, timeout: .seconds(5))
            #expect(try second.command(["MONITOR"]) == .simpleString("OK"))
            _ = try writer.command(["ECHO", "after"])
            guard case .simpleString(let line) = try second.readReply() else {
                Issue.record("the second monitor heard nothing")
                return
            }
            #expect(line.hasSuffix("\"ECHO\" \"after\""), "\(line)")
        }
    }
}
