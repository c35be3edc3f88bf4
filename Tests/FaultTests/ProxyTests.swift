import Glibc
@testable import LockstepCLI
import Posix
import Testing

/// The fault proxy does what each mode says, against a local echo server.
@Suite("fault proxy")
struct ProxyTests {
    /// A one-connection echo server on its own thread.
    private func echoServer() throws -> (address: SocketAddress, thread: PosixThread) {
        let listener = try TCP.listen(on: .loopback(port: 0))
        let address = try TCP.localAddress(of: listener)
        let thread = try PosixThread.spawn {
            defer { try? listener.close() }  // test teardown
            var accepted: FileDescriptor?
            let deadline = FaultProxy.deadline(after: .seconds(10))
            while accepted == nil, FaultProxy.waitFor(Int16(POLLIN), on: listener, until: deadline) {
                accepted = try? TCP.accept(from: listener)
            }
            guard let connection = accepted else { return }
            defer { try? connection.close() }  // test teardown
            var buffer = [UInt8](repeating: 0, count: 4096)
            while FaultProxy.waitFor(Int16(POLLIN), on: connection, until: deadline) {
                let result = buffer.withUnsafeMutableBytes { raw in
                    Result { () throws(SystemError) in try connection.read(into: raw) }
                }
                guard case .success(let read) = result else { return }
                guard let count = read else { continue }
                guard count > 0 else { return }
                _ = buffer[..<count].withUnsafeBytes { try? connection.send($0) }
            }
        }
        return (address, thread)
    }

    /// Waits for the echo at most the client's timeout.
    private func roundTrip(_ connection: RESPClient, _ text: String) -> String? {
        try? connection.sendRaw(Array(text.utf8))
        // Reuse the RESP reader: send a simple-string line and read it back as a reply.
        return (try? connection.readReply())?.text
    }

    @Test("pass relays both ways; blackhole drops silently; delay holds; flipping corrupts; reset closes")
    func modes() throws {
        let (server, thread) = try echoServer()
        let proxy = try FaultProxy(target: server)
        defer { proxy.stop(); thread.join() }
        let client = try RESPClient(address: proxy.address, timeout: .seconds(2))

        #expect(roundTrip(client, "+hello\r\n") == "hello")

        proxy.set(.blackhole)
        sleep(for: .milliseconds(50))
        #expect(roundTrip(client, "+lost\r\n") == nil)
        #expect(proxy.totals.bytesDropped >= 7)

        proxy.set(.pass)  // heal: the tainted connection is closed, as a timed-out one would be
        #expect(try client.waitForClose(within: .seconds(2)))
        thread.join()

        let (server2, thread2) = try echoServer()
        let delayed = try FaultProxy(target: server2)
        defer { delayed.stop(); thread2.join() }
        delayed.set(.delay(.milliseconds(200)))
        let slow = try RESPClient(address: delayed.address, timeout: .seconds(2))
        let sentAt = ContinuousClock.now
        #expect(roundTrip(slow, "+late\r\n") == "late")
        #expect(ContinuousClock.now - sentAt >= .milliseconds(400))  // held once each way

        delayed.set(.flipBits(everyBytes: 3))
        sleep(for: .milliseconds(50))
        let echoed = roundTrip(slow, "+abcdefghijkl\r\n")
        #expect(echoed != "abcdefghijkl")
        #expect(delayed.totals.bitsFlipped > 0)

        delayed.set(.reset)
        #expect(try slow.waitForClose(within: .seconds(2)))
        #expect(try (try? RESPClient(address: delayed.address, timeout: .seconds(1)))
            .map { try $0.waitForClose(within: .seconds(1)) } ?? true)
    }
}
