import Glibc
import LockstepClient
import Posix
import Testing

@Suite("LockstepClient with no node answering", .serialized)
struct UnreachableTests {
    static func configuration(reconnect: Duration) -> LockstepClientConfiguration {
        var configuration = LockstepClientConfiguration()
        configuration.reconnectTimeout = reconnect
        configuration.connectTimeout = .milliseconds(200)
        return configuration
    }

    @Test("nothing listening at any address: a typed error once the reconnect deadline passes, the request never sent")
    func nothingListening() async throws {
        let ports = try TCP.FreePorts.distinct(2)
        let client = try LockstepClient(
            addresses: ports.map { "127.0.0.1:\($0)" }, configuration: Self.configuration(reconnect: .milliseconds(500)))
        let clock = ContinuousClock()
        let started = clock.now
        var caught: LockstepClientError?
        do {
            _ = try await client.send(["INCR", "counter"])
        } catch {
            caught = error
        }
        let took = clock.now - started
        guard case .noPrimary(.connectFailed(let address, _)?)? = caught else {
            Issue.record("expected noPrimary after a refused connect, got \(String(describing: caught))")
            return
        }
        #expect(ports.map { "127.0.0.1:\($0)" }.contains(address))
        #expect(caught?.mayHaveBeenApplied == false)
        // No upper bound: beside other suites the test's task may wait minutes for a thread to resume on. The error
        // itself says it was the reconnect deadline (`noPrimary`), not the request timeout (`timedOutUnsent`).
        #expect(took >= .milliseconds(400), "gave up after \(took), before the reconnect deadline")
        await client.close()
    }

    @Test("a node that accepts and never answers: the attempt times out, then the request fails typed")
    func silentListener() async throws {
        let listener = try TCP.listen(on: .loopback(port: 0))
        defer { try? listener.close() }  // the test's own socket; nothing to report
        let address = try TCP.localAddress(of: listener)
        let client = try LockstepClient(
            addresses: [address.description], configuration: Self.configuration(reconnect: .milliseconds(700)))
        var caught: LockstepClientError?
        do {
            _ = try await client.send(["GET", "k"])
        } catch {
            caught = error
        }
        #expect(caught == .noPrimary(lastFailure: .timedOut(address: address.description)), "\(String(describing: caught))")
        await client.close()
    }

    @Test("sending after close is refused at once")
    func sendAfterClose() async throws {
        let ports = try TCP.FreePorts.distinct(1)
        let client = try LockstepClient(addresses: ["127.0.0.1:\(ports[0])"])
        await client.close()
        await #expect(throws: LockstepClientError.closed) { try await client.send(["GET", "k"]) }
    }

    @Test("unusable addresses are refused when the client is made")
    func badAddresses() {
        #expect(throws: LockstepClientError.self) { try LockstepClient(addresses: []) }
        #expect(throws: LockstepClientError.self) { try LockstepClient(addresses: ["db.example:7000"]) }
        var configuration = LockstepClientConfiguration()
        configuration.requestsInFlightLimit = 0
        #expect(throws: LockstepClientError.self) {
            try LockstepClient(addresses: ["127.0.0.1:7000"], configuration: configuration)
        }
    }
}
