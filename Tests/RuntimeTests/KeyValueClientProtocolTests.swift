import Arbiter
import KeyValue
import Node
import Replication
import Runtime
import Testing

/// The key-value store's client protocol as the runtime uses it: cutting requests out of bytes, and the replies
/// the runtime itself must word.
struct KeyValueClientProtocolTests {
    let wire = KeyValueClientProtocol()

    static let primary = NodeStatus(
        role: .primary, nodeName: "a", epoch: 3, peerClientAddress: "10.0.0.2:7000", clientAddress: "10.0.0.1:7000")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7000")
    static let joining = NodeStatus(role: .joining, nodeName: "b")

    /// Every request in `text`, parsed against `status`.
    func requests(_ text: String, status: NodeStatus, digest: UInt64? = 7) -> [ClientRequest] {
        var session = wire.makeSession(clientID: 1)
        Array(text.utf8).withUnsafeBytes { wire.append($0, to: &session) }
        var requests: [ClientRequest] = []
        while let request = wire.nextRequest(from: &session, status: status, digest: { digest }) {
            requests.append(request)
            if case .malformed = request { break }
        }
        return requests
    }

    @Test("data commands are replicated on a serving node and refused locally, naming the primary, on a backup")
    func routing() {
        let text = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n"
        let onPrimary = requests(text, status: Self.primary)
        #expect(onPrimary.count == 2)
        if case .replicated(let bytes) = onPrimary.first {
            #expect(bytes == KeyValueCommand.encode([Array("SET".utf8), Array("k".utf8), Array("v".utf8)]))
        } else {
            Issue.record("SET was not replicated: \(onPrimary)")
        }
        #expect(onPrimary.last == .local(reply: Array("+PONG\r\n".utf8)))
        guard case .local(let refusal) = requests(text, status: Self.backup).first else {
            Issue.record("SET on a backup was not answered locally")
            return
        }
        #expect(String(decoding: refusal, as: UTF8.self).hasPrefix("-READONLY"))
        #expect(String(decoding: refusal, as: UTF8.self).contains("10.0.0.1:7000"))
    }

    @Test("a request split across reads comes out once, whole")
    func splitRequest() {
        var session = wire.makeSession(clientID: 1)
        let bytes = Array("*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n".utf8)
        var found: [ClientRequest] = []
        for byte in bytes {
            [byte].withUnsafeBytes { wire.append($0, to: &session) }
            if let request = wire.nextRequest(from: &session, status: Self.primary, digest: { 0 }) {
                found.append(request)
            }
        }
        #expect(found == [.replicated(KeyValueCommand.encode([Array("GET".utf8), Array("key".utf8)]))])
    }

    @Test("a protocol error is malformed: its reply is Redis's error, and nothing after it is parsed")
    func malformed() {
        let found = requests("*1\r\n$x\r\nPING\r\n", status: Self.primary)
        #expect(found == [.malformed(reply: Array("-ERR Protocol error: invalid bulk length\r\n".utf8))])
    }

    @Test("QUIT answers OK and asks for the connection to close")
    func quit() {
        #expect(requests("QUIT\r\n", status: Self.backup) == [.quit(reply: Array("+OK\r\n".utf8))])
    }

    @Test("DEBUG DIGEST on a node without state says so instead of showing an empty store's digest")
    func digestWithoutState() {
        guard case .local(let reply) = requests("DEBUG DIGEST\r\n", status: Self.joining, digest: nil).first else {
            Issue.record("DEBUG DIGEST was not answered locally")
            return
        }
        #expect(String(decoding: reply, as: UTF8.self).hasPrefix("-ERR this node holds no replicated state"))
        let withState = requests("DEBUG DIGEST\r\n", status: Self.backup, digest: 0xABC)
        #expect(withState == [.local(reply: Array("$16\r\n0000000000000abc\r\n".utf8))])
    }

    @Test("a refusal names the primary when known, and says TRYAGAIN otherwise")
    func rejection() {
        let readOnly = String(decoding: wire.rejectionReply(reason: "not primary", status: Self.backup), as: UTF8.self)
        #expect(readOnly.hasPrefix("-READONLY") && readOnly.contains("10.0.0.1:7000"), "\(readOnly)")
        let stopping = String(
            decoding: wire.rejectionReply(reason: "stopping\r\nnow", status: Self.primary), as: UTF8.self)
        #expect(stopping == "-TRYAGAIN stopping  now; the command was not executed\r\n")
        let unknown = String(decoding: wire.rejectionReply(reason: "joining", status: Self.joining), as: UTF8.self)
        #expect(unknown.hasPrefix("-TRYAGAIN joining"))
    }

    @Test("a stopped node refuses data commands with TRYAGAIN naming its successor, and still answers PING")
    func stoppedNodeRefusesWithTryAgain() {
        let stopped = NodeStatus(
            role: .stopped, nodeName: "a", epoch: 3, peerClientAddress: "10.0.0.2:7000", clientAddress: "10.0.0.1:7000",
            reason: "handed over: b has every entry through 9")
        let found = requests("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\nPING\r\n", status: stopped, digest: nil)
        guard found.count == 2, case .local(let refusal) = found[0] else {
            Issue.record("SET on a stopped node was not refused locally: \(found)")
            return
        }
        let text = String(decoding: refusal, as: UTF8.self)
        #expect(text.hasPrefix("-TRYAGAIN this node has stopped (handed over"), "\(text)")
        #expect(text.hasSuffix("the command was not executed; the primary is at 10.0.0.2:7000\r\n"), "\(text)")
        #expect(found[1] == .local(reply: Array("+PONG\r\n".utf8)))
    }

    @Test("the default limits are Redis's 512 MiB per argument, and the largest command fits the default query buffer")
    func defaultLimits() {
        let node = NodeConfiguration(
            nodeName: "a", channelAddress: "127.0.0.1:0", clientAddress: "127.0.0.1:0", peerChannelAddress: nil)
        let configuration = RuntimeConfiguration(
            node: node, clientListenAddress: "127.0.0.1:0", channelListenAddress: "127.0.0.1:0")
        #expect(wire.replicatedBytesLimit + configuration.clientReadBufferBytes <= configuration.clientQueryBufferBytesLimit)
        #expect(wire.replicatedBytesLimit + RuntimeConfiguration.entryOverheadBytesLimit
            <= configuration.durabilityLimits.recordBytesLimit)
        // A bulk of exactly the limit is announced without complaint; one byte more is refused from its header.
        let largest = requests("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$\(512 << 20)\r\n", status: Self.primary)
        #expect(largest.isEmpty, "\(largest)")
        let oversized = requests("*2\r\n$3\r\nGET\r\n$\(512 << 20 + 1)\r\n", status: Self.primary)
        guard case .malformed(let reply) = oversized.first else {
            Issue.record("an oversized argument was not refused: \(oversized)")
            return
        }
        #expect(String(decoding: reply, as: UTF8.self).contains("invalid bulk length"))
    }

    /// A configuration that cannot work, and the words its refusal must contain.
    struct Misconfiguration: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let change: @Sendable (inout RuntimeConfiguration) -> Void
        let reasonContains: String
    }

    @Test(
        "a configuration that cannot work is refused at startup, saying why",
        arguments: [
            Misconfiguration(
                testDescription: "no cluster secret", change: { $0.clusterSecret = [] },
                reasonContains: "no cluster secret"),
            Misconfiguration(
                testDescription: "a cluster secret shorter than 32 bytes",
                change: { $0.clusterSecret = [UInt8](repeating: 1, count: 31) }, reasonContains: "fewer than the 32"),
            Misconfiguration(
                testDescription: "frames too small for an entry's part", change: { $0.frameBodyBytesLimit = 64 << 10 },
                reasonContains: "an entry's part must fit"),
            Misconfiguration(
                testDescription: "a durable log whose records cannot hold the largest command",
                change: {
                    $0.dataDirectory = "/nonexistent/lockstep"
                    $0.durabilityLimits.recordBytesLimit = 16 << 20
                },
                reasonContains: "record limit"),
            Misconfiguration(
                testDescription: "polling before sleep past the loop's limit",
                change: { $0.pollBeforeSleep = .milliseconds(2) }, reasonContains: "polling before sleep"),
            Misconfiguration(
                testDescription: "a backup that cannot buffer the log written while a checkpoint installs",
                change: { $0.node.backupLimits.pendingEntriesLimit = 1_000 }, reasonContains: "pending limit"),
        ])
    func misconfigurationIsRefused(_ misconfiguration: Misconfiguration) throws {
        let node = NodeConfiguration(
            nodeName: "a", channelAddress: "127.0.0.1:0", clientAddress: "127.0.0.1:0", peerChannelAddress: nil)
        var configuration = RuntimeConfiguration(
            node: node, clientListenAddress: "127.0.0.1:0", channelListenAddress: "127.0.0.1:0")
        configuration.clusterSecret = TestNode.clusterSecret
        misconfiguration.change(&configuration)
        #expect {
            _ = try NodeRuntime(
                configuration: configuration, protocol: wire, emptyMachine: KeyValueStore(),
                arbiter: DirectoryArbiter(directory: "/nonexistent"), log: { _ in })
        } throws: { error in
            guard case RuntimeError.invalidConfiguration(let reason) = error else { return false }
            return reason.contains(misconfiguration.reasonContains)
        }
    }

    @Test("INFO renders the runtime's counters as lockstep_ lines sorted by name")
    func infoCounters() {
        var status = Self.primary
        status.counters = ["zeta": 1, "acks_received": 5, "channel_writes": 2]
        var session = wire.makeSession(clientID: 1)
        Array("INFO replication\r\n".utf8).withUnsafeBytes { wire.append($0, to: &session) }
        guard case .local(let reply)? = wire.nextRequest(from: &session, status: status, digest: { 0 }) else {
            Issue.record("INFO was not answered locally")
            return
        }
        let lines = String(decoding: reply, as: UTF8.self).split(separator: "\r\n").map(String.init)
        let counterLines = lines.filter {
            $0 == "lockstep_zeta:1" || $0 == "lockstep_acks_received:5" || $0 == "lockstep_channel_writes:2"
        }
        #expect(counterLines == ["lockstep_acks_received:5", "lockstep_channel_writes:2", "lockstep_zeta:1"])
    }

    @Test("INFO renders a checkpoint in progress as lockstep_checkpoint lines")
    func infoCheckpoint() {
        var status = Self.primary
        status.checkpoint = CheckpointProgress(
            direction: .sending, sequence: 7, bytes: 3_000_000, chunks: 12, estimatedBytes: 9_000_000,
            elapsed: .seconds(1))
        var session = wire.makeSession(clientID: 1)
        Array("INFO replication\r\n".utf8).withUnsafeBytes { wire.append($0, to: &session) }
        guard case .local(let reply)? = wire.nextRequest(from: &session, status: status, digest: { 0 }) else {
            Issue.record("INFO was not answered locally")
            return
        }
        let lines = String(decoding: reply, as: UTF8.self).split(separator: "\r\n").map(String.init)
        let checkpointLines = lines.filter { $0.hasPrefix("lockstep_checkpoint") }
        #expect(checkpointLines == [
            "lockstep_checkpoint:sent 3.0 MB of ~9.0 MB in 12 chunks in 1.0 s (3.0 MB/s, ~2.0 s left)",
            "lockstep_checkpoint_direction:sending", "lockstep_checkpoint_sequence:7",
            "lockstep_checkpoint_bytes:3000000", "lockstep_checkpoint_chunks:12",
            "lockstep_checkpoint_estimated_bytes:9000000", "lockstep_checkpoint_bytes_per_second:3000000",
            "lockstep_checkpoint_milliseconds_left:2000",
        ])
    }
}
