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
    _ address: SocketAddress, _ workload: Workload, connections: Int = 4, depth: Int = 1, limit: UInt64 = 2_000
) -> LoadSpecification {
    LoadSpecification(
        target: address, connections: connections, pipelineDepth: depth, workload: workload, warmupNanoseconds: 0,
        durationNanoseconds: 5_000_000_000, operationLimit: limit, drainTimeoutNanoseconds: 1_000_000_000)
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
