import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// SESSION on real nodes: the saved replies live in the replicated state, so they survive what the state survives
    /// — a failover, re-protection of a restarted node (the checkpoint carries them), a second failover, and a
    /// restart of both nodes from their durable logs — and both nodes hold the same sessions (equal digests).
    @Suite struct Sessions {
        /// Sends `command` on a fresh connection to `address`.
        static func send(_ address: SocketAddress, _ command: [String]) throws -> RESPValue {
            try RESPClient(address: address, timeout: .seconds(5)).command(command)
        }

        /// Request `number` of session `id`: `command` inside SESSION EXEC.
        static func exec(_ address: SocketAddress, _ id: Int64, _ number: Int, _ command: [String]) throws -> RESPValue {
            try send(address, ["SESSION", "EXEC", String(id), String(number)] + command)
        }

        /// The digest both nodes report once they agree.
        static func equalDigests(_ nodes: DurableNodes) async throws -> String {
            var digests: [String?] = []
            let isEqual = try await Harness.waitUntil(.seconds(15)) {
                digests = nodes.clients.map { address in
                    (try? send(address, ["DEBUG", "DIGEST"]))?.text
                }
                return digests[0] != nil && digests[0] == digests[1]
            }
            #expect(isEqual, "digests \(digests)\n\(nodes.logs)")
            return digests[0] ?? ""
        }

        /// Waits until one node is primary and the other its backup (protected again).
        static func waitProtected(_ nodes: DurableNodes) async throws {
            let isProtected = try await Harness.waitUntil(.seconds(20)) {
                Set(nodes.clients.indices.compactMap { nodes.role($0) }) == ["primary", "backup"]
            }
            #expect(isProtected, "the pair was not protected again\n\(nodes.logs)")
        }

        /// The index of the node serving at `address`.
        static func index(of address: SocketAddress, in nodes: DurableNodes) -> Int {
            nodes.clients.firstIndex(of: address)!
        }

        @Test("a session's saved replies survive a failover, re-protection, a second failover and a double restart")
        func survivesEverything() async throws {
            let nodes = try DurableNodes("sessions", flags: ["--fsync", "always"])
            defer { nodes.stopAll(); Harness.removeTree(nodes.directory) }
            try nodes.start(0)
            try nodes.start(1)
            try await Self.waitProtected(nodes)
            var primary = try #require(nodes.serving())
            guard case .integer(let id) = try Self.send(primary, ["SESSION", "OPEN"]) else {
                Issue.record("SESSION OPEN answered no id")
                return
            }
            for number in 1...5 { _ = try Self.exec(primary, id, number, ["INCR", "counter"]) }
            #expect(try Self.exec(primary, id, 6, ["APPEND", "log", "x"]) == .integer(1))

            // A failover: the retries of 5 and 6 are answered from the saved replies, not applied again.
            try nodes.kill(Self.index(of: primary, in: nodes))
            primary = try #require(try await nodes.waitForWrites(deadline: .seconds(10))?.0, "\(nodes.logs)")
            #expect(try Self.exec(primary, id, 5, ["INCR", "counter"]) == .integer(5))
            #expect(try Self.exec(primary, id, 6, ["APPEND", "log", "x"]) == .integer(1))
            #expect(try Self.exec(primary, id, 7, ["INCR", "counter"]) == .integer(6))

            // Re-protection: the restarted node gets the sessions in the checkpoint.
            try nodes.start(1 - Self.index(of: primary, in: nodes))
            try await Self.waitProtected(nodes)
            _ = try await Self.equalDigests(nodes)

            // A second failover, to the node that got the sessions from the checkpoint.
            try nodes.kill(Self.index(of: primary, in: nodes))
            primary = try #require(try await nodes.waitForWrites(deadline: .seconds(10))?.0, "\(nodes.logs)")
            #expect(try Self.exec(primary, id, 7, ["INCR", "counter"]) == .integer(6))
            try nodes.start(1 - Self.index(of: primary, in: nodes))
            try await Self.waitProtected(nodes)

            // Both nodes at once: the sessions come back from the durable logs.
            try nodes.killBoth()
            try nodes.start(0)
            try nodes.start(1)
            primary = try #require(try await nodes.waitForWrites(deadline: .seconds(20))?.0, "\(nodes.logs)")
            #expect(try Self.exec(primary, id, 7, ["INCR", "counter"]) == .integer(6))
            #expect(try Self.exec(primary, id, 8, ["INCR", "counter"]) == .integer(7))
            #expect(try Self.send(primary, ["GET", "counter"]) == .bulk(Array("7".utf8)))
            #expect(try Self.send(primary, ["GET", "log"]) == .bulk(Array("x".utf8)))
            try await Self.waitProtected(nodes)
            _ = try await Self.equalDigests(nodes)
        }

        @Test("eviction and idle expiry happen alike on both nodes, and each refusal has its own error")
        func evictionAndExpiry() async throws {
            let nodes = try DurableNodes(
                "session-limits", flags: ["--max-sessions", "2", "--session-timeout", "1", "--session-window", "2"])
            defer { nodes.stopAll(); Harness.removeTree(nodes.directory) }
            try nodes.start(0)
            try nodes.start(1)
            try await Self.waitProtected(nodes)
            let primary = try #require(nodes.serving())
            var ids: [Int64] = []
            for _ in 0..<3 {
                guard case .integer(let id) = try Self.send(primary, ["SESSION", "OPEN"]) else {
                    Issue.record("SESSION OPEN answered no id")
                    return
                }
                ids.append(id)
            }
            #expect(try Self.exec(primary, ids[0], 1, ["SET", "k", "v"]).text?.hasPrefix("NOSESSION") == true,
                "the first of three sessions was evicted at the third opening")
            for number in 1...3 { _ = try Self.exec(primary, ids[2], number, ["INCR", "n"]) }
            #expect(try Self.exec(primary, ids[2], 1, ["INCR", "n"]).text?.hasPrefix("SESSIONSTALE") == true)
            #expect(try Self.exec(primary, ids[2], 5, ["INCR", "n"]).text?.hasPrefix("SESSIONGAP") == true)
            #expect(try Self.send(primary, ["GET", "n"]) == .bulk(Array("3".utf8)))
            let backup = nodes.clients.first { $0 != primary }!
            #expect(try Self.exec(backup, ids[2], 4, ["INCR", "n"]).text?.hasPrefix("READONLY") == true)
            let busy = try await Self.equalDigests(nodes)
            // Idle past the timeout: a tick expires both sessions on both nodes.
            let expired = try await Harness.waitUntil(.seconds(10)) {
                (try? Self.send(primary, ["INFO", "clients"]))?.text?.contains("lockstep_sessions:0") == true
            }
            #expect(expired, "the idle sessions did not expire")
            #expect(try Self.exec(primary, ids[2], 4, ["INCR", "n"]).text?.hasPrefix("NOSESSION") == true)
            #expect(try await Self.equalDigests(nodes) != busy)
        }
    }
}
