import Glibc
import Posix
import Replication
@testable import Runtime
import Testing

/// A blocking HTTP/1.1 exchange over a plain socket, every read with a deadline: what a scraper does, and what
/// a misbehaving client does.
final class HTTPConnection {
    let descriptor: CInt

    init(_ address: SocketAddress, timeout: Duration = .seconds(5)) throws {
        descriptor = try RESPClient.connectSocket(address)
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { Glibc.close(descriptor) }

    /// Sends the bytes; false if the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) } == bytes.count
    }

    /// Whether the server has sent something (or closed) that is waiting to be read.
    var hasPendingInput: Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) > 0
    }

    /// Everything the server sends until it closes (or the read deadline passes, or it resets).
    func readToEnd() -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 << 10)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// One request, the whole response.
    static func exchange(_ address: SocketAddress, _ request: String) throws -> String {
        let connection = try HTTPConnection(address)
        connection.send(request)
        return connection.readToEnd()
    }

    /// The status code of a response's first line.
    static func statusCode(_ response: String) -> Int? {
        response.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) }
    }

    /// The body after the head.
    static func body(_ response: String) -> String {
        guard let end = response.firstRange(of: "\r\n\r\n") else { return "" }
        return String(response[end.upperBound...])
    }
}

/// The metrics port of a real runtime on its own loop, in process: served, bounded, and authenticated.
@Suite(.serialized) struct MetricsPortTests {
    static let scrape = "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n"

    static func startSolo(
        _ directory: TemporaryDirectory, configure: (inout RuntimeConfiguration) -> Void = { _ in }
    ) throws -> (TestNode, SocketAddress) {
        let node = try TestNode.start(name: "solo", arbiterDirectory: directory.path) { configuration in
            configuration.metricsListenAddress = "127.0.0.1:0"
            configure(&configuration)
        }
        #expect(Waiting.until(.seconds(5)) { node.role == .solo }, "the lone node did not go live")
        let address = try #require(node.runtime.metricsAddress, "no metrics address with metricsListenAddress set")
        return (node, address)
    }

    @Test("a scrape shows the node's own status and counters, parsed by a strict reader")
    func scrapeShowsStatus() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (node, metrics) = try Self.startSolo(directory)
        defer { node.shutDown() }
        let client = try RESPClient(node.clientAddress)
        for index in 0..<5 { #expect(try client.command("SET", "k\(index)", "v").isOK) }
        // Published status lags the loop by at most a millisecond; an idle node's stays put.
        #expect(Waiting.until(.seconds(2)) { node.status.counters["client_commands"] == 5 })

        let response = try HTTPConnection.exchange(metrics, Self.scrape)
        #expect(HTTPConnection.statusCode(response) == 200, "\(response)")
        let families = try MetricsExpositionTests.read(HTTPConnection.body(response))
        let value = { (name: String, labels: [String: String]) in
            families.first { $0.name == name }?.value(labels)
        }
        let status = node.status
        #expect(value("lockstep_role", ["role": "solo"]) == "1")
        #expect(value("lockstep_role", ["role": "primary"]) == "0")
        #expect(value("lockstep_epoch", [:]) == String(status.epoch))
        #expect(value("lockstep_log_sequence", [:]) == String(status.logSequence))
        #expect(status.logSequence >= 5)
        #expect(value("lockstep_client_commands_total", [:]) == "5")
        #expect(value("lockstep_client_connections", [:]) == "1")
        #expect(value("lockstep_role_changes_total", ["reason": "new_cluster"]) == "1")
        #expect(value("lockstep_node_info", ["name": "solo", "client_address": node.clientAddress.description]) == "1")
    }

    @Test("a client that shuts its sending side after the request still gets the whole response")
    func halfClosedClientGetsWholeResponse() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (node, metrics) = try Self.startSolo(directory)
        defer { node.shutDown() }
        let connection = try HTTPConnection(metrics)
        connection.send(Self.scrape)
        #expect(shutdown(connection.descriptor, CInt(SHUT_WR)) == 0)
        let response = connection.readToEnd()
        #expect(HTTPConnection.statusCode(response) == 200, "\(response)")
        let body = HTTPConnection.body(response)
        #expect(response.contains("Content-Length: \(body.utf8.count)\r\n"), "the body is not the length announced")
        #expect(body.hasSuffix("\n") && body.contains("lockstep_metrics_refusals_total"))
    }

    @Test("a client sending its request a byte at a time is closed at the deadline, while others are served")
    func slowlorisClosedAtDeadline() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let deadline = Duration.milliseconds(600)
        let (node, metrics) = try Self.startSolo(directory) { $0.metricsRequestDeadline = deadline }
        defer { node.shutDown() }

        let slow = try HTTPConnection(metrics)
        let start = monotonicNanoseconds()
        var sent = 0
        for byte in Self.scrape.dropLast() {
            // Sending on after the server closed would draw a reset, which may discard its answer unread.
            guard !slow.hasPendingInput, slow.send(String(byte)) else { break }
            sent += 1
            // A well-behaved scrape on another connection is answered meanwhile.
            if sent == 3 { #expect(HTTPConnection.statusCode(try HTTPConnection.exchange(metrics, Self.scrape)) == 200) }
            if millisecondsSince(start) > 3_000 { break }
            sleep(for: .milliseconds(50))
        }
        let response = slow.readToEnd()
        let closedAfter = millisecondsSince(start)
        print("a byte-a-time client was closed after \(Int(closedAfter)) ms, having sent \(sent) bytes; it heard: "
            + "\(response.split(separator: "\r\n").first ?? "nothing")")
        #expect(closedAfter >= 600 && closedAfter < 2_000, "closed after \(closedAfter) ms, deadline \(deadline)")
        #expect(HTTPConnection.statusCode(response) == 408, "\(response)")
        #expect(node.status.counters["metrics_refusals_deadline_passed"] == 1)
        #expect(node.events.contains { if case .metricsRefused(.deadlinePassed, 1) = $0 { true } else { false } })
    }

    @Test("past the connection limit a connection is answered 503 and closed; freed places serve again")
    func connectionLimit() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (node, metrics) = try Self.startSolo(directory)
        defer { node.shutDown() }
        var held: [HTTPConnection] = []
        for _ in 0..<RuntimeConfiguration.metricsConnectionsLimit { held.append(try HTTPConnection(metrics)) }
        // The kernel queues connections in order, so the loop accepts every held one before the next.
        #expect(held[0].send("GET /metrics HTTP/1.1\r\n") == true)
        let refused = try HTTPConnection.exchange(metrics, Self.scrape)
        #expect(HTTPConnection.statusCode(refused) == 503, "\(refused)")
        #expect(Waiting.until(.seconds(2)) { node.status.counters["metrics_refusals_too_many_connections"] == 1 })
        held[0].send("\r\n")
        #expect(HTTPConnection.statusCode(held[0].readToEnd()) == 200)
        held.removeAll()
        #expect(Waiting.until(.seconds(2)) {
            HTTPConnection.statusCode((try? HTTPConnection.exchange(metrics, Self.scrape)) ?? "") == 200
        })
    }

    @Test("with a password only Bearer or Basic credentials carrying it get the metrics")
    func password() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let (node, metrics) = try Self.startSolo(directory) { $0.metricsPassword = Array("hunter2".utf8) }
        defer { node.shutDown() }
        let refused = try HTTPConnection.exchange(metrics, Self.scrape)
        #expect(HTTPConnection.statusCode(refused) == 401)
        #expect(refused.contains("WWW-Authenticate: Basic realm=\"lockstep\""))
        #expect(!HTTPConnection.body(refused).contains("lockstep_epoch"))
        let bearer = "GET /metrics HTTP/1.1\r\nAuthorization: Bearer hunter2\r\n\r\n"
        #expect(HTTPConnection.statusCode(try HTTPConnection.exchange(metrics, bearer)) == 200)
        let basic = "GET /metrics HTTP/1.1\r\nAuthorization: Basic \(MetricsRequestTests.base64("p:hunter2"))\r\n\r\n"
        #expect(HTTPConnection.statusCode(try HTTPConnection.exchange(metrics, basic)) == 200)
    }
}
