import Posix
import Synchronization
import Testing

@testable import BenchmarkKit

/// A RESP server for tests: answers every command with `reply(commandIndex)`, on one loop thread.
private final class ScriptedRESPServer: Sendable {
    let address: SocketAddress
    let thread: LoopThread
    let commandsSeen = Atomic<Int>(0)

    init(reply: @escaping @Sendable (Int, [UInt8]) -> [UInt8]) throws {
        let listener = try TCP.listen(on: .loopback(port: 0))
        address = try TCP.localAddress(of: listener)
        let seen = Counter()
        counter = seen
        thread = try LoopThread { loop throws(SystemError) in
            _ = try loop.register(listener, interest: .readable) { _ in
                while let fd = try? TCP.accept(from: listener) {  // nil: none pending
                    var input: [UInt8] = []
                    let output = OutputQueue()
                    var registration: EventLoop.Registration?
                    registration = try? loop.register(fd, interest: .readable) { _ in
                        guard let registration, let fd = loop.descriptor(of: registration) else { return }
                        var chunk = [UInt8](repeating: 0, count: 65_536)
                        let count = chunk.withUnsafeMutableBytes { (try? fd.read(into: $0)) ?? 0 }
                        guard count > 0 else {
                            loop.close(registration)
                            return
                        }
                        input += chunk.prefix(count)
                        while case .complete(let command) = RESPReplyScanner.scan(input) {
                            let index = seen.value.add(1, ordering: .relaxed).newValue
                            output.append(reply(index, Array(input.prefix(command.length))))
                            input.removeFirst(command.length)
                        }
                        _ = output.flush(registration, on: loop)
                    }
                }
            }
        }
    }

    private let counter: Counter

    var commands: Int { counter.value.load(ordering: .relaxed) }

    func stop() { thread.stop() }

    private final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }
}

private func specification(
    _ address: SocketAddress, _ workload: Workload, connections: Int = 4, depth: Int = 1, limit: UInt64 = 2_000,
    sessionIDs: [Int64] = []
) -> LoadSpecification {
    LoadSpecification(
        target: address, connections: connections, pipelineDepth: depth, workload: workload, warmupNanoseconds: 0,
        durationNanoseconds: 5_000_000_000, operationLimit: limit, drainTimeoutNanoseconds: 1_000_000_000,
        sessionIDs: sessionIDs)
}

@Suite("Load generator", .serialized)
struct LoadGeneratorTests {
    @Test("a closed loop against the echo server stops at its operation limit with no errors")
    func echoStopsByCount() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let result = try LoadGenerator.run(specification(echo.address, .echo(messageBytes: 32), limit: 3_000))
        #expect(result.operations == 3_000)
        #expect(result.errors == 0)
        #expect(result.histogram.count == 3_000)
        #expect(result.histogram.min > 0)
    }

    @Test("a load stops by time when the count is out of reach")
    func stopsByTime() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        var spec = specification(echo.address, .echo(messageBytes: 32), connections: 1, limit: .max)
        spec.durationNanoseconds = 200_000_000
        let started = monotonicNanoseconds()
        let result = try LoadGenerator.run(spec)
        #expect(monotonicNanoseconds() - started < 2_000_000_000)
        #expect(result.elapsedNanoseconds >= 200_000_000)
        #expect(result.operations > 0)
    }

    @Test("the relay floor answers every message and batches frames towards the echo server")
    func relayAnswersAndBatches() throws {
        let echo = try EchoServer()
        defer { echo.stop() }
        let relay = try Relay(backend: echo.address, messageBytes: 32)
        defer { relay.stop() }
        let result = try LoadGenerator.run(
            specification(relay.address, .echo(messageBytes: 32), connections: 16, limit: 5_000))
        #expect(result.errors == 0)
        #expect(result.operations == 5_000)
        let counters = relay.counterSnapshot()
        #expect((counters["channel_entries_sent"] ?? 0) >= 5_000)
        #expect((counters["channel_writes"] ?? 0) <= (counters["channel_entries_sent"] ?? 0))
    }

    @Test("every error reply counts as an error and is sampled")
    func errorRepliesAreCounted() throws {
        let server = try ScriptedRESPServer { index, _ in
            Array((index % 10 == 0 ? "-ERR every tenth\r\n" : "+OK\r\n").utf8)
        }
        defer { server.stop() }
        let result = try LoadGenerator.run(
            specification(server.address, .set(keyspace: 100, valueBytes: 32), connections: 2, limit: 900))
        #expect(result.operations == 900)
        #expect(result.errors >= 90)
        #expect(result.errorSamples == ["-ERR every tenth"])
    }

    @Test("SET+WAIT is acknowledged only when WAIT answers at least 1")
    func waitMustReachOneReplica() throws {
        let server = try ScriptedRESPServer { index, command in
            let isWait = command.starts(with: Array("*3\r\n$4\r\nWAIT".utf8))
            guard isWait else { return Array("+OK\r\n".utf8) }
            return Array((index % 4 == 0 ? ":0\r\n" : ":1\r\n").utf8)
        }
        defer { server.stop() }
        let workload = Workload.setThenWait(keyspace: 100, valueBytes: 32, timeoutMilliseconds: 100)
        let result = try LoadGenerator.run(specification(server.address, workload, connections: 1, limit: 300))
        #expect(result.operations == 300)
        #expect(result.errors > 0)
        #expect(result.errorSamples.first?.hasPrefix("WAIT answered 0") == true)
    }

    @Test("pipelined operations keep their own latencies and all complete")
    func pipelining() throws {
        let server = try ScriptedRESPServer { _, _ in Array("+OK\r\n".utf8) }
        defer { server.stop() }
        let workload = Workload.set(keyspace: 1_000, valueBytes: 32)
        let result = try LoadGenerator.run(
            specification(server.address, workload, connections: 4, depth: 16, limit: 8_000))
        #expect(result.errors == 0)
        #expect(result.operations >= 8_000)
        #expect(result.histogram.count == result.operations)
    }

    @Test("each connection numbers its session's requests 1, 2, 3, ... in order, pipelined or not", arguments: [1, 16])
    func sessionRequestsAreNumberedInOrder(depth: Int) throws {
        let checker = SessionChecker()
        let server = try ScriptedRESPServer { _, command in checker.answer(command) }
        defer { server.stop() }
        let sessions: [Int64] = [11, 222, 3_333, 44_444]
        let result = try LoadGenerator.run(
            specification(
                server.address, .sessionSet(keyspace: 100, valueBytes: 32), connections: sessions.count, depth: depth,
                limit: 2_000, sessionIDs: sessions))
        #expect(result.errors == 0, "\(result.errorSamples)")
        #expect(result.operations >= 2_000)
        let answered = checker.nextNumbers()
        #expect(Set(answered.keys) == Set(sessions))
        // Every request the generator sent was answered (the drain waits for them), so the numbers run unbroken.
        #expect(answered.values.reduce(0) { $0 + $1 - 1 } == UInt64(server.commands))
    }

    @Test("a session error reply counts as an error")
    func sessionErrorsAreCounted() throws {
        let server = try ScriptedRESPServer { index, _ in
            Array((index % 5 == 0 ? "-SESSIONGAP expected 3\r\n" : "+OK\r\n").utf8)
        }
        defer { server.stop() }
        let result = try LoadGenerator.run(
            specification(
                server.address, .sessionSet(keyspace: 100, valueBytes: 32), connections: 2, limit: 500,
                sessionIDs: [1, 2]))
        #expect(result.errors >= 100)
        #expect(result.errorSamples == ["-SESSIONGAP expected 3"])
    }

    @Test("a server that never answers costs one error per outstanding operation, within the drain timeout")
    func silentServerIsBounded() throws {
        let server = try ScriptedRESPServer { _, _ in [] }
        defer { server.stop() }
        var spec = specification(server.address, .get(keyspace: 10), connections: 3, depth: 2, limit: .max)
        spec.durationNanoseconds = 100_000_000
        spec.drainTimeoutNanoseconds = 100_000_000
        let result = try LoadGenerator.run(spec)
        #expect(result.operations == 0)
        #expect(result.errors == 6)
    }
}

/// A server's view of sessions: accepts `SESSION EXEC id n SET key:<i> <value of i>` only with the next number of
/// its session (from 1), as a Lockstep node does; anything else gets an error reply naming what was wrong.
private final class SessionChecker: Sendable {
    private let expected = Mutex<[Int64: UInt64]>([:])

    func answer(_ command: [UInt8]) -> [UInt8] {
        guard let (value, _) = RESPValue.decode(command[...]), case .array(let elements?) = value,
            elements.count == 7
        else { return Array("-ERR not a 7-element array\r\n".utf8) }
        let texts = elements.map { $0.text ?? "" }
        guard texts[0] == "SESSION", texts[1] == "EXEC", let id = Int64(texts[2]), let number = UInt64(texts[3]),
            texts[4] == "SET", texts[5].hasPrefix("key:"), let key = Int(texts[5].dropFirst(4)),
            texts[6] == Workload.value(key, bytes: 32)
        else { return Array("-ERR malformed session request \(texts.prefix(6))\r\n".utf8) }
        return expected.withLock { next in
            let wanted = next[id, default: 1]
            guard number == wanted else { return Array("-SESSIONGAP expected \(wanted), got \(number)\r\n".utf8) }
            next[id] = wanted + 1
            return Array("+OK\r\n".utf8)
        }
    }

    /// Each session's next expected number.
    func nextNumbers() -> [Int64: UInt64] { expected.withLock { $0 } }
}
