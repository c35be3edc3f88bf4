import Arbiter
import Glibc
import KeyValue
import Node
import Posix
import Replication
import Runtime
import Synchronization
import Testing

/// Why a test could not even set itself up.
struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Deadline-bounded polling: every wait in these tests goes through here.
enum Waiting {
    /// Polls `condition` every millisecond until it holds (`true`) or `deadline` passes (`false`).
    static func until(_ deadline: Duration, _ condition: () throws -> Bool) rethrows -> Bool {
        let end = monotonicNanoseconds() + UInt64(deadline.nanoseconds)
        while true {
            if try condition() { return true }
            if monotonicNanoseconds() >= end { return false }
            sleep(for: .milliseconds(1))
        }
    }
}

/// Milliseconds since `start` on the monotonic clock.
func millisecondsSince(_ start: UInt64) -> Double { Double(monotonicNanoseconds() - start) / 1e6 }

/// A fresh arbiter directory under /tmp, removed with its records by `remove()`.
final class TemporaryDirectory: Sendable {
    let path: String

    init() throws {
        var template = Array("/tmp/lockstep-runtime-test-XXXXXX".utf8CString)
        path = try template.withUnsafeMutableBufferPointer { buffer -> String in
            guard let created = mkdtemp(buffer.baseAddress!) else {
                throw TestSetupError("mkdtemp failed with errno \(errno)")
            }
            return String(cString: created)
        }
    }

    /// Removes the records and the directory (the arbiter writes plain files, no subdirectories).
    func remove() {
        if let stream = opendir(path) {
            var names: [String] = []
            while let entry = readdir(stream) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." { names.append(name) }
            }
            closedir(stream)
            for name in names { unlink(path + "/" + name) }
        }
        rmdir(path)
    }
}

/// One node runtime running on its own thread, as a test sees it: start, watch, stop or crash, read its log.
final class TestNode: Sendable {
    let name: String
    let runtime: NodeRuntime<KeyValueClientProtocol>
    private let recorded = RecordedEvents()
    private let exit = Mutex<Result<ExitReason, RuntimeError>?>(nil)
    private let thread = Mutex<PosixThread?>(nil)

    /// The cluster secret every test node holds, so any two of them can pair.
    static let clusterSecret = [UInt8](repeating: 0x42, count: 32)

    /// The configuration tests use: loopback, any free ports, the default (sub-second) timeouts, the test secret.
    static func configuration(name: String, peer: String? = nil) -> RuntimeConfiguration {
        let node = NodeConfiguration(
            nodeName: name, channelAddress: "127.0.0.1:0", clientAddress: "127.0.0.1:0", peerChannelAddress: peer)
        var configuration = RuntimeConfiguration(
            node: node, clientListenAddress: "127.0.0.1:0", channelListenAddress: "127.0.0.1:0")
        configuration.clusterSecret = clusterSecret
        return configuration
    }

    /// Makes a runtime (binding its ports) and runs it on a new thread; `configure` may change the defaults.
    static func start(
        name: String, arbiterDirectory: String, protocol clientProtocol: KeyValueClientProtocol = KeyValueClientProtocol(),
        configure: (inout RuntimeConfiguration) -> Void = { _ in }
    ) throws -> TestNode {
        var configuration = configuration(name: name)
        configure(&configuration)
        let node = try TestNode(
            configuration: configuration, arbiterDirectory: arbiterDirectory, protocol: clientProtocol)
        try node.run()
        return node
    }

    init(
        configuration: RuntimeConfiguration, arbiterDirectory: String,
        protocol clientProtocol: KeyValueClientProtocol = KeyValueClientProtocol()
    ) throws {
        name = configuration.node.nodeName
        let recorded = recorded
        let name = name
        runtime = try NodeRuntime(
            configuration: configuration, protocol: clientProtocol,
            // Sharing the protocol's settings as a node does, so that CONFIG SET reaches the store.
            emptyMachine: KeyValueStore(slowLog: clientProtocol.slowLog, keyspaceEvents: clientProtocol.keyspaceEvents),
            arbiter: DirectoryArbiter(directory: arbiterDirectory)
        ) { event in
            print("[\(name)] \(event)")
            recorded.append(event)
        }
    }

    func run() throws {
        let spawned = try PosixThread.spawn { [self] in
            do throws(RuntimeError) {
                let reason = try runtime.run()
                exit.withLock { $0 = .success(reason) }
            } catch {
                exit.withLock { $0 = .failure(error) }
            }
        }
        thread.withLock { $0 = spawned }
    }

    var status: NodeStatus { runtime.status }
    var role: NodeStatus.Role { runtime.status.role }
    var clientAddress: SocketAddress { runtime.clientAddress }
    /// Everything the node has told its operator so far.
    var events: [RuntimeEvent] { recorded.all }
    /// What `run()` returned, once it has.
    var outcome: Result<ExitReason, RuntimeError>? { exit.withLock { $0 } }
    /// The role changes the node reported, in order.
    var roleChanges: [RoleChangeReason] {
        events.compactMap { if case .roleChanged(_, _, _, let reason) = $0 { reason } else { nil } }
    }

    /// Waits for `run()` to return, up to `deadline`; false if it did not (the thread is then left to the crash
    /// in `shutDown`).
    func waitForExit(_ deadline: Duration) -> Bool {
        Waiting.until(deadline) { outcome != nil }
    }

    /// Teardown: crash the node if it still runs, then join its thread. Safe to call more than once.
    func shutDown() {
        if outcome == nil { runtime.crash() }
        let exited = waitForExit(.seconds(10))
        #expect(exited, "node \(name) did not stop within 10 s of a crash")
        guard exited else { return }
        let running = thread.withLock { thread -> PosixThread? in
            let taken = thread
            thread = nil
            return taken
        }
        running?.join()
    }

    /// Crashes the node like kill -9 and waits for its thread.
    func crash() {
        runtime.crash()
        shutDown()
    }
}

/// A node's log lines, shared between its loop thread and the test.
final class RecordedEvents: Sendable {
    private let events = Mutex<[RuntimeEvent]>([])
    func append(_ event: RuntimeEvent) { events.withLock { $0.append(event) } }
    var all: [RuntimeEvent] { events.withLock { $0 } }
}

/// Two nodes sharing an arbiter directory.
struct Pair {
    let directory: TemporaryDirectory
    var primary: TestNode
    var backup: TestNode

    /// Starts nodes "a" and "b" at once, neither knowing the other: the arbiter decides who serves, and the loser
    /// finds the winner through the arbiter's record. Returns once the backup protects the primary.
    static func start(configure: (inout RuntimeConfiguration) -> Void = { _ in }) throws -> Pair {
        let directory = try TemporaryDirectory()
        let a = try TestNode.start(name: "a", arbiterDirectory: directory.path, configure: configure)
        let b: TestNode
        do {
            b = try TestNode.start(name: "b", arbiterDirectory: directory.path, configure: configure)
        } catch {
            a.shutDown()
            directory.remove()
            throw error
        }
        let formed = Waiting.until(.seconds(10)) {
            Set([a.role, b.role]) == [.primary, .backup]
        }
        guard formed else {
            let roles = "a is \(a.role), b is \(b.role)"
            a.shutDown()
            b.shutDown()
            directory.remove()
            throw TestSetupError("the pair did not form within 10 s: \(roles)")
        }
        return a.role == .primary
            ? Pair(directory: directory, primary: a, backup: b) : Pair(directory: directory, primary: b, backup: a)
    }

    func shutDown() {
        primary.shutDown()
        backup.shutDown()
        directory.remove()
    }
}

/// A pair whose backup reaches the primary through a `FreezableProxy` (the channel address the primary advertises),
/// so a test can silence the logging channel both ways while every socket stays open. Node "a" goes live first.
struct ProxiedPair {
    let directory: TemporaryDirectory
    let proxy: FreezableProxy
    let primary: TestNode
    let backup: TestNode

    /// Starts the pair with these silence timeouts (nil: the node's default); returns once the backup protects.
    static func start(primarySilence: Duration, backupSilence: Duration? = nil) throws -> ProxiedPair {
        let directory = try TemporaryDirectory()
        let proxy = try FreezableProxy()
        var started: [TestNode] = []
        func abandon(_ reason: String) -> TestSetupError {
            for node in started { node.shutDown() }
            proxy.close()
            directory.remove()
            return TestSetupError(reason)
        }
        let primary = try TestNode.start(name: "a", arbiterDirectory: directory.path) {
            $0.node.channelAddress = proxy.address.description
            $0.silenceTimeout = primarySilence
        }
        started.append(primary)
        proxy.relay(to: primary.runtime.channelAddress)
        guard Waiting.until(.seconds(5), { primary.role == .solo }) else {
            throw abandon("the first node did not go live: \(primary.role)")
        }
        let backup = try TestNode.start(name: "b", arbiterDirectory: directory.path) {
            if let backupSilence { $0.silenceTimeout = backupSilence }
        }
        started.append(backup)
        guard Waiting.until(.seconds(10), { primary.role == .primary && backup.role == .backup }) else {
            throw abandon("the pair did not form: \(primary.role), \(backup.role)")
        }
        return ProxiedPair(directory: directory, proxy: proxy, primary: primary, backup: backup)
    }

    func shutDown() {
        primary.shutDown()
        backup.shutDown()
        proxy.close()
        directory.remove()
    }
}

/// A RESP2 reply as a test reads it.
enum RESPValue: Equatable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk(String?)
    case array([RESPValue]?)

    var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let text): text.map { "$\"\($0)\"" } ?? "$nil"
        case .array(let values): values.map { "\($0)" } ?? "*nil"
        }
    }

    var isOK: Bool { self == .simple("OK") }
}

/// A tiny blocking Redis client: one socket, send a command, read one reply; every read has a deadline.
final class RESPClient {
    enum Failure: Error, CustomStringConvertible {
        case system(String, CInt)
        case closed
        case protocolError(String)

        var description: String {
            switch self {
            case .system(let call, let code): "\(call) failed: \(String(cString: strerror(code)))"
            case .closed: "the server closed the connection"
            case .protocolError(let reason): "unexpected reply bytes: \(reason)"
            }
        }
    }

    private let descriptor: CInt
    private var buffer: [UInt8] = []
    /// Reused by every read.
    private var chunk = [UInt8](repeating: 0, count: 64 << 10)
    private var isClosed = false

    init(_ address: SocketAddress, timeout: Duration = .seconds(5)) throws {
        descriptor = try Self.connectSocket(address)
        var time = timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &time, socklen_t(MemoryLayout<timeval>.size))
    }

    /// A blocking TCP socket connected to `address`, with TCP_NODELAY.
    static func connectSocket(_ address: SocketAddress) throws -> CInt {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.system("socket", errno) }
        var one: CInt = 1
        setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<CInt>.size))
        var kernelAddress = sockaddr_in()
        kernelAddress.sin_family = sa_family_t(AF_INET)
        kernelAddress.sin_port = address.port.bigEndian
        kernelAddress.sin_addr = in_addr(s_addr: address.ipv4.bigEndian)
        let result = withUnsafePointer(to: &kernelAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw Failure.system("connect", code)
        }
        return descriptor
    }

    deinit {
        if !isClosed { Glibc.close(descriptor) }
    }

    func close() {
        guard !isClosed else { return }
        isClosed = true
        Glibc.close(descriptor)
    }

    /// Sends one command as a RESP array of bulk strings and reads its reply.
    func command(_ arguments: String...) throws -> RESPValue {
        try send(arguments)
        return try readReply()
    }

    func send(_ arguments: [String]) throws {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
        }
        try sendRaw(bytes)
    }

    func sendRaw(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL))
            }
            guard sent > 0 else { throw Failure.system("send", errno) }
            offset += sent
        }
    }

    /// Reads one reply; throws `.closed` at end of stream.
    func readReply() throws -> RESPValue {
        let line = try readLine()
        guard let kind = line.first else { throw Failure.protocolError("empty line") }
        let rest = String(decoding: line.dropFirst(), as: UTF8.self)
        switch kind {
        case UInt8(ascii: "+"): return .simple(rest)
        case UInt8(ascii: "-"): return .error(rest)
        case UInt8(ascii: ":"):
            guard let value = Int64(rest) else { throw Failure.protocolError("integer \(rest)") }
            return .integer(value)
        case UInt8(ascii: "$"):
            guard let length = Int(rest) else { throw Failure.protocolError("bulk length \(rest)") }
            if length < 0 { return .bulk(nil) }
            let body = try readExactly(length + 2)
            return .bulk(String(decoding: body.prefix(length), as: UTF8.self))
        case UInt8(ascii: "*"):
            guard let count = Int(rest) else { throw Failure.protocolError("array length \(rest)") }
            if count < 0 { return .array(nil) }
            var values: [RESPValue] = []
            for _ in 0..<count { values.append(try readReply()) }
            return .array(values)
        default:
            throw Failure.protocolError("type byte \(kind)")
        }
    }

    /// Whether the server closed the connection (end of stream before any further byte), within the timeout.
    func isClosedByServer() -> Bool {
        do {
            try fill()
            return false
        } catch Failure.closed {
            return true
        } catch {
            return false
        }
    }

    private func readLine() throws -> [UInt8] {
        while true {
            if let end = buffer.firstIndex(of: 10), end > 0, buffer[end - 1] == 13 {
                let line = Array(buffer[..<(end - 1)])
                buffer.removeSubrange(...end)
                return line
            }
            try fill()
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count { try fill() }
        let bytes = Array(buffer[..<count])
        buffer.removeSubrange(..<count)
        return bytes
    }

    private func fill() throws {
        let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count == 0 { throw Failure.closed }
        guard count > 0 else { throw Failure.system("recv", errno) }
        buffer += chunk[..<count]
    }
}

/// Writes `SET key:i value:i` in a loop on its own thread and remembers every write that got `+OK`.
final class Writer: Sendable {
    private final class State: Sendable {
        let acked = Mutex<[Int]>([])
        let isStopping = Atomic<Bool>(false)
        let isDone = Atomic<Bool>(false)
    }

    private let state = State()
    private let thread: PosixThread

    init(address: SocketAddress, prefix: String, from first: Int = 0) throws {
        let state = state
        thread = try PosixThread.spawn {
            defer { state.isDone.store(true, ordering: .releasing) }
            guard let client = try? RESPClient(address) else { return }  // nil: no writes, nothing acked
            var index = first
            while !state.isStopping.load(ordering: .acquiring) {
                // Any failure (a crash closing the connection) ends the stream: the outcome of that write is
                // unknown, so it is not recorded either way.
                guard let reply = try? client.command("SET", "\(prefix):\(index)", "value:\(index)"), reply.isOK
                else { return }
                state.acked.withLock { $0.append(index) }
                index += 1
            }
        }
    }

    var ackedCount: Int { state.acked.withLock { $0.count } }

    /// Stops writing and returns the indexes of every acked write.
    func stop() -> [Int] {
        state.isStopping.store(true, ordering: .releasing)
        let finished = Waiting.until(.seconds(10)) { state.isDone.load(ordering: .acquiring) }
        #expect(finished, "the writer did not stop within 10 s")
        if finished { thread.join() }
        return state.acked.withLock { $0 }
    }
}

/// A loopback TCP relay for the logging channel that can be frozen: bytes stop flowing both ways while every
/// socket stays open, as when the primary's machine hangs (SIGSTOP, a VM pause). Blocking sockets, a thread per
/// direction; every blocking call has a short timeout so `close()` is noticed.
final class FreezableProxy: Sendable {
    let address: SocketAddress
    private let listener: CInt
    private let target = Mutex<SocketAddress?>(nil)
    private let isFrozen = Atomic<Bool>(false)
    private let isClosed = Atomic<Bool>(false)
    private let threads = Mutex<[PosixThread]>([])
    private let sockets = Mutex<[CInt]>([])

    private static let pollTimeout = timeval(tv_sec: 0, tv_usec: 20_000)

    init() throws {
        let holder = try TCP.listen(on: .loopback(port: 0))
        try holder.setNonBlocking(false)
        listener = holder.rawValue
        address = try TCP.localAddress(of: holder)
        var timeout = Self.pollTimeout
        setsockopt(listener, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let acceptor = try PosixThread.spawn { [self] in acceptLoop() }
        threads.withLock { $0.append(acceptor) }
    }

    /// Where accepted connections are relayed to; set before anything dials the proxy.
    func relay(to address: SocketAddress) { target.withLock { $0 = address } }

    func freeze() { isFrozen.store(true, ordering: .releasing) }

    /// Lets bytes flow again, from where they stopped.
    func thaw() { isFrozen.store(false, ordering: .releasing) }

    /// Stops relaying, closes every socket and joins every thread.
    func close() {
        guard !isClosed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let running = threads.withLock { $0 }
        for thread in running { thread.join() }
        for socket in sockets.withLock({ $0 }) { Glibc.close(socket) }
        Glibc.close(listener)
    }

    private func acceptLoop() {
        while !isClosed.load(ordering: .acquiring) {
            let accepted = accept(listener, nil, nil)
            guard accepted >= 0 else { continue }  // the timeout: look at isClosed again
            guard let destination = target.withLock({ $0 }), let outbound = try? RESPClient.connectSocket(destination)
            else {
                Glibc.close(accepted)
                continue
            }
            for socket in [accepted, outbound] {
                var timeout = Self.pollTimeout
                setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            }
            sockets.withLock { $0 += [accepted, outbound] }
            guard let forward = try? PosixThread.spawn({ [self] in pump(from: accepted, to: outbound) }),
                let backward = try? PosixThread.spawn({ [self] in pump(from: outbound, to: accepted) })
            else { continue }  // a thread that did not start leaves its direction silent, which tests notice
            threads.withLock { $0 += [forward, backward] }
        }
    }

    private func pump(from source: CInt, to destination: CInt) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !isClosed.load(ordering: .acquiring) {
            if isFrozen.load(ordering: .acquiring) {
                sleep(for: .milliseconds(10))
                continue
            }
            let count = buffer.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) { continue }
            guard count > 0 else {
                shutdown(destination, CInt(SHUT_WR))  // pass the end of stream (or a reset) on
                return
            }
            var offset = 0
            while offset < count {
                let sent = buffer[offset..<count].withUnsafeBytes {
                    send(destination, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL))
                }
                if sent < 0 && (errno == EAGAIN || errno == EINTR) { continue }
                guard sent > 0 else { return }
                offset += sent
            }
        }
    }
}
