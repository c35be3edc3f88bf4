import Arbiter
import EtcdArbiter
import Glibc
import Posix
import Synchronization

/// A failure of the test harness itself (etcd missing, a server that never came up), saying what to do.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A real single-member etcd on 127.0.0.1, with ports the harness chose and checked free and a fresh data
/// directory; `stop()` kills it by PID, reaps it and removes the directory.
final class EtcdServer: Sendable {
    /// How long etcd may take to answer its first request; it is usually under a second.
    static let startDeadline: Duration = .seconds(20)
    /// Attempts on fresh ports, should a port be taken between the check and etcd's own bind.
    static let portAttemptsLimit = 3

    let process: ChildProcess
    let clientAddress: SocketAddress
    let directory: String

    private init(process: ChildProcess, clientAddress: SocketAddress, directory: String) {
        self.process = process
        self.clientAddress = clientAddress
        self.directory = directory
    }

    /// The etcd binary; a loud failure when it is not installed, never a skipped test.
    static func executable() throws -> String {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for directory in path.split(separator: ":") + ["/usr/bin", "/usr/local/bin"] {
            if access("\(directory)/etcd", X_OK) == 0 { return "\(directory)/etcd" }
        }
        throw HarnessError(
            "etcd is not installed: these tests run the arbiter against a real etcd server. Install Debian's "
                + "etcd-server (apt-get install -y etcd-server; .ci/run does this in CI)")
    }

    /// Starts etcd and waits, with a deadline, until it answers a range read.
    static func start() throws -> EtcdServer {
        let executable = try executable()
        var lastFailure = ""
        for _ in 0..<portAttemptsLimit {
            let ports = try TCP.FreePorts.distinct(2)
            let directory = try temporaryDirectory("etcd")
            let client = "http://127.0.0.1:\(ports[0])", peer = "http://127.0.0.1:\(ports[1])"
            let process = try ChildProcess.spawn(
                executable,
                arguments: [
                    "--name", "lockstep-test", "--data-dir", directory + "/data",
                    "--listen-client-urls", client, "--advertise-client-urls", client,
                    "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                    "--initial-cluster", "lockstep-test=\(peer)", "--initial-cluster-state", "new",
                ],
                standardOutput: .file(path: directory + "/etcd.log", append: true),
                standardError: .file(path: directory + "/etcd.log", append: true))
            let server = EtcdServer(process: process, clientAddress: .loopback(port: ports[0]), directory: directory)
            let probe = server.arbiter(prefix: "probe", requestTimeout: .milliseconds(500))
            let clock = ContinuousClock()
            let end = clock.now + startDeadline
            while clock.now < end {
                if (try? process.tryWait()) ?? nil != nil { break }  // exited: a port was taken, or etcd is broken
                do {
                    _ = try probe.current()
                    return server
                } catch {
                    lastFailure = error.description
                }
                Posix.sleep(for: .milliseconds(50))
            }
            lastFailure += "\netcd log:\n" + (FileDescriptor.readText(atPath: directory + "/etcd.log") ?? "")
            server.stop()
        }
        throw HarnessError("etcd did not come up within \(startDeadline): \(lastFailure)")
    }

    /// An arbiter on this server under `prefix`.
    func arbiter(prefix: String, requestTimeout: Duration = .seconds(2)) -> EtcdArbiter {
        EtcdArbiter(location: EtcdLocation(endpoints: [clientAddress], prefix: prefix), requestTimeout: requestTimeout)
    }

    /// SIGKILL by PID, reap, remove the data directory. Safe to call twice.
    func stop() {
        // Teardown: a failure to signal means the process is already gone, and reaping it is all that is left.
        _ = try? process.terminate(signal: SIGKILL, timeout: .seconds(10))
        removeTree(directory)
    }
}

/// A fresh directory under $TMPDIR (or /tmp).
func temporaryDirectory(_ label: String) throws -> String {
    let base = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(base)/lockstep-\(label)-XXXXXX".utf8CString)
    guard let made = mkdtemp(&template) else { throw HarnessError("mkdtemp failed under \(base)") }
    return String(cString: made)
}

/// Removes a tree the harness made, with the real `rm`; best effort, a leftover temporary directory is harmless.
func removeTree(_ path: String) {
    guard path.hasPrefix("/"), path.contains("/lockstep-") else { return }
    guard let remover = try? ChildProcess.spawn("/bin/rm", arguments: ["-rf", path]) else { return }
    _ = try? remover.wait(timeout: .seconds(10)) ?? remover.terminate(signal: SIGKILL)
}

/// A TCP server on loopback that answers every connection with `reply` (nonsense, or nothing) and closes.
final class FakeHTTPServer: Sendable {
    /// How often the accept loop checks whether it should stop.
    static let pollInterval: Int32 = 20

    let address: SocketAddress
    private let listener: FileDescriptor
    private let isStopping = StopFlag()
    private let thread: Mutex<PosixThread?> = Mutex(nil)

    /// Starts the server; `reply` nil means accept, read, and never answer (a hung endpoint).
    init(reply: [UInt8]?) throws {
        listener = try TCP.listen(on: .loopback(port: 0))
        address = try TCP.localAddress(of: listener)
        let listener = listener, isStopping = isStopping
        let spawned = try PosixThread.spawn {
            var held: [FileDescriptor] = []
            while !isStopping.value.load(ordering: .relaxed) {
                var descriptor = pollfd(fd: listener.rawValue, events: Int16(POLLIN), revents: 0)
                guard poll(&descriptor, 1, Self.pollInterval) > 0 else { continue }
                guard let connection = try? TCP.accept(from: listener) else { continue }
                if let reply {
                    FakeHTTPServer.sendWhole(reply, on: connection)
                    try? connection.close()
                } else {
                    held.append(connection)
                }
            }
            for connection in held { try? connection.close() }
        }
        thread.withLock { $0 = spawned }
    }

    /// Sends all of `reply`, blocking, so a reply larger than the socket buffer is not cut short; stops quietly
    /// when the client hangs up first (as the arbiter does past its response limit).
    private static func sendWhole(_ reply: [UInt8], on connection: FileDescriptor) {
        guard (try? connection.setNonBlocking(false)) != nil else { return }
        var offset = 0
        while offset < reply.count {
            let sent = reply.withUnsafeBytes { try? connection.send(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            guard let sent else { return }  // an error (the client left) or, never when blocking, would-block
            offset += sent
        }
    }

    /// Stops accepting, joins the thread, closes the listener.
    func stop() {
        isStopping.value.store(true, ordering: .relaxed)
        thread.withLock { $0?.join(); $0 = nil }
        try? listener.close()  // teardown
    }
}

/// A flag the accept thread and `stop()` share (an `Atomic` cannot be captured by itself, it is not copyable).
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// A claim for node `name`, with addresses that only need to be distinct.
func claim(_ name: String) -> Claim {
    Claim(nodeName: name, channelAddress: "10.0.0.1:7000", clientAddress: "10.0.0.1:6379")
}
