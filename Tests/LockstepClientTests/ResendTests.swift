import LockstepClient
import Posix
import Testing

@Suite("LockstepClient against a server that drops connections after applying", .serialized)
struct ResendTests {
    @Test("connections dropped after the apply and before the reply: each INCR counted once, no caller sees an error")
    func droppedRepliesAreResentInSession() async throws {
        let server = try FakeSessionServer(dropEvery: 37)
        defer { server.stop() }
        let client = try LockstepClient(addresses: [server.address.description])
        let tasks = 8, perTask = 125
        let errors = try await withThrowingTaskGroup(of: [LockstepClientError].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var errors: [LockstepClientError] = []
                    for index in 0..<perTask {
                        do throws(LockstepClientError) {
                            _ = try await client.send(["INCR", "counter"])
                            _ = try await client.send(["APPEND", "tokens", "<\(task).\(index)>"])
                        } catch {
                            errors.append(error)
                        }
                    }
                    return errors
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(errors.isEmpty, "\(errors.count) requests failed, e.g. \(errors.prefix(3))")
        #expect(server.drops.load(ordering: .relaxed) >= 50)
        let counter = try await client.send(["GET", "counter"])
        #expect(counter == .bulkString(Array(String(tasks * perTask).utf8)))
        let tokens = try await client.send(["GET", "tokens"]).text ?? ""
        let counts = tokenCounts(tokens)
        let expected = (0..<tasks).flatMap { task in (0..<perTask).map { index in "<\(task).\(index)>" } }
        let wrong = expected.filter { counts[$0] != 1 }
        #expect(wrong.isEmpty, "\(wrong.count) tokens not there exactly once, e.g. \(wrong.prefix(3).map { ($0, counts[$0] ?? 0) })")
        #expect(counts.count == expected.count)
        await client.close()
    }
}

/// How often each `<...>` token occurs in an appended string.
func tokenCounts(_ text: String) -> [String: Int] {
    var counts: [String: Int] = [:]
    for piece in text.split(separator: ">") { counts[String(piece) + ">", default: 0] += 1 }
    return counts
}

@Suite("LockstepClient lifetime", .serialized)
struct LifetimeTests {
    @Test("a client released without close() stops its thread; its callers had all been answered")
    func releasedWithoutClose() async throws {
        let server = try FakeSessionServer(dropEvery: 0)
        defer { server.stop() }
        var client: LockstepClient? = try LockstepClient(addresses: [server.address.description])
        #expect(try await client?.send(["INCR", "k"]) == .integer(1))
        client = nil
        // A second client on the same server sees the first one's write; nothing of the first one is left to crash.
        let second = try LockstepClient(addresses: [server.address.description])
        #expect(try await second.send(["INCR", "k"]) == .integer(2))
        await second.close()
    }
}
