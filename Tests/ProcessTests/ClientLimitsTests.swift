import Glibc
@testable import LockstepCLI
import Posix
import Testing

/// One `lockstep node` alone over a fresh arbiter directory: it takes epoch 1 and serves solo. Enough for what the
/// client port does by itself; stopped (SIGTERM, then SIGKILL) by its PID.
final class SoloNode {
    let process: ChildProcess
    let directory: String
    let client: SocketAddress

    private init(process: ChildProcess, directory: String, client: SocketAddress) {
        self.process = process
        self.directory = directory
        self.client = client
    }

    /// Starts the node with `flags` added and waits until it answers `SET` (after AUTH with `password`, if given).
    static func start(_ label: String, flags: [String] = [], password: String? = nil) async throws -> SoloNode {
        let directory = try Harness.temporaryDirectory(label)
        for attempt in 1...Harness.portAttemptsLimit {
            let ports = try TCP.FreePorts.distinct(3).map(Int.init)
            let client = SocketAddress.loopback(port: UInt16(ports[0]))
            let process = try ChildProcess.spawn(
                try Harness.lockstepPath(),
                arguments: [
                    "node", "--name", "a", "--client", client.description, "--channel", "127.0.0.1:\(ports[1])",
                    "--peer", "127.0.0.1:\(ports[2])", "--arbiter", directory, "--parent-pid", String(getpid()),
                    "--cluster-secret-file", try Harness.writeClusterSecret(directory + "/cluster-secret"),
                ] + flags,
                standardOutput: .file(path: directory + "/node.out", append: false),
                standardError: .file(path: directory + "/node.err", append: false))
            let node = SoloNode(process: process, directory: directory, client: client)
            let isServing = try await Harness.waitUntil(.seconds(15)) {
                guard let connection = try? RESPClient(address: client, timeout: .milliseconds(500)) else { return false }
                if let password, (try? connection.command(["AUTH", password])) != .simpleString("OK") { return false }
                return (try? connection.command(["SET", "ready", "1"])) == .simpleString("OK")
            }
            if isServing { return node }
            node.stop()
            guard node.log.contains("EADDRINUSE"), attempt < Harness.portAttemptsLimit else {
                throw HarnessError("the node never served\n\(node.log)")
            }
        }
        throw HarnessError("unreachable: the last attempt returns or throws")
    }

    var log: String { Harness.readFile(directory + "/node.err") }

    /// The node's resident set (VmRSS), in bytes.
    func residentBytes() -> Int {
        let status = Harness.readFile("/proc/\(process.pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return kibibytes << 10
    }

    func stop() {
        _ = try? process.terminate(signal: SIGTERM, timeout: .seconds(5))  // SIGKILLs and reaps if need be
    }

    func remove() {
        Harness.removeTree(directory)
    }
}

extension ProcessTests {
    /// Redis's client bounds on a real node: `--requirepass-file`, `--max-clients`, `--client-timeout`, and the
    /// memory a connection's query buffer may hold.
    @Suite struct ClientLimits {
        /// `bytes` in MiB with one decimal, e.g. "14.2 MiB".
        static func mebibytes(_ bytes: Int) -> String {
            let tenths = bytes * 10 / (1 << 20)
            return "\(tenths / 10).\(abs(tenths % 10)) MiB"
        }

        @Test("a slowloris past --max-clients locks new clients out only until --client-timeout closes it")
        func slowlorisIsTimedOut() async throws {
            // A 3 s timeout leaves the 150 connections time to open even on a loaded machine before the first of
            // them is idle long enough to go.
            let node = try await SoloNode.start("slowloris", flags: ["--max-clients", "100", "--client-timeout", "3"])
            defer {
                node.stop()
                node.remove()
            }
            // 150 connections that never send a byte: 100 take every slot, 50 are refused.
            let clock = ContinuousClock()
            let start = clock.now
            var idle: [RESPClient] = []
            for _ in 0..<150 { idle.append(try RESPClient(address: node.client, timeout: .seconds(2))) }
            let lockedOut = try RESPClient(address: node.client, timeout: .seconds(2))
            #expect(try lockedOut.readReply() == .error("ERR max number of clients reached"))

            var admitted = false
            while !admitted, clock.now - start < .seconds(20) {
                let fresh = try RESPClient(address: node.client, timeout: .seconds(2))
                admitted = (try? fresh.command(["PING"])) == .simpleString("PONG")
                if !admitted { try await Task.sleep(for: .milliseconds(100)) }
            }
            print("slowloris of 150 idle connections, --max-clients 100 --client-timeout 3: a new client got in "
                + "\(clock.now - start) after the attack began")
            #expect(admitted, "no new client got in within 20 s\n\(node.log)")
            #expect(try idle[0].waitForClose(within: .seconds(5)), "an idle connection was left open")
            // Each sweep (once a second) closes the connections idle past the timeout by then: all 100 within two.
            var closedIdle = 0
            let counted = try await Harness.waitUntil(.seconds(5)) {
                closedIdle = StatusCommand.query(node.client, timeout: .seconds(2))
                    .fields["lockstep_client_connections_idle_closed"].flatMap { Int($0) } ?? 0
                return closedIdle >= 100
            }
            #expect(counted, "the node counted \(closedIdle) idle connections closed\n\(node.log)")
        }

        @Test("400 half-sent 1 MB requests: memory stays bounded, and goes back when they close")
        func halfSentRequestsMemory() async throws {
            let node = try await SoloNode.start("query-buffers")
            defer {
                node.stop()
                node.remove()
            }
            let connections = 400, valueBytes = 1_000_000, sentValueBytes = 999_000
            let before = node.residentBytes()
            let header = Array("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$\(valueBytes)\r\n".utf8)
            let partial = header + [UInt8](repeating: UInt8(ascii: "x"), count: sentValueBytes)
            var clients: [RESPClient] = []
            for _ in 0..<connections {
                let client = try RESPClient(address: node.client, timeout: .seconds(10))
                try client.sendRaw(partial)
                clients.append(client)
            }
            // The node reads what the sockets hold within moments; the peak is where the resident set stops growing.
            var peak = node.residentBytes(), steadyPolls = 0
            let clock = ContinuousClock()
            let start = clock.now
            while steadyPolls < 5, clock.now - start < .seconds(20) {
                try await Task.sleep(for: .milliseconds(200))
                let now = node.residentBytes()
                steadyPolls = now > peak + (1 << 20) ? 0 : steadyPolls + 1
                peak = max(peak, now)
            }
            for client in clients { client.close() }
            var after = node.residentBytes()
            // Closed connections free their buffers at once; the memory goes back to the system within a second.
            _ = try await Harness.waitUntil(.seconds(10)) {
                after = node.residentBytes()
                return after < before + (48 << 20)
            }
            let perConnection = (peak - before) / connections
            print("RSS with \(connections) half-sent 1 MB requests: before \(Self.mebibytes(before)), peak "
                + "\(Self.mebibytes(peak)) (\(Self.mebibytes(perConnection)) per connection), after they closed "
                + "\(Self.mebibytes(after))")
            // Each connection holds its partial request (1 MB) in a parser buffer whose capacity at most doubles
            // past what it holds: 2 MiB a connection, plus 64 MiB for everything else, bounds the peak.
            #expect(peak <= before + connections * (2 << 20) + (64 << 20), "the peak exceeded its bound")
            #expect(peak >= before + connections * sentValueBytes / 2, "the node never held the requests")
            #expect(after < before + (48 << 20), "memory was not given back after the connections closed")
            let other = try RESPClient(address: node.client)
            #expect(try other.command(["GET", "big"]) == .bulk(nil), "a half-sent request was executed")
        }

        @Test("--requirepass-file: NOAUTH before AUTH, WRONGPASS for a wrong password, redis-cli -a and AUTH work")
        func authenticationWithRedisCLI() async throws {
            let password = "s3cret-\(getpid())"
            let directory = try Harness.temporaryDirectory("requirepass")
            defer { Harness.removeTree(directory) }
            let file = directory + "/password"
            let fd = try FileDescriptor.open(file, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
            try Array((password + "\n").utf8).withUnsafeBytes { try fd.writeAll($0) }
            try fd.close()

            let node = try await SoloNode.start(
                "auth", flags: ["--requirepass-file", file], password: password)
            defer {
                node.stop()
                node.remove()
            }
            let cli = try Harness.redisTool("redis-cli")
            let host = ["-h", node.client.host, "-p", String(node.client.port)]
            func redisCLI(_ arguments: String...) throws -> String {
                let output = try Harness.run(cli, host + arguments, timeout: .seconds(10))
                return (output.standardOutput + output.standardError).trimmingNewlines
            }
            #expect(try redisCLI("SET", "k", "v") == "NOAUTH Authentication required.")
            #expect(try redisCLI("PING") == "NOAUTH Authentication required.")
            #expect(try redisCLI("--no-auth-warning", "-a", password, "SET", "k", "v") == "OK")
            #expect(try redisCLI("--no-auth-warning", "-a", password, "GET", "k") == "v")
            #expect(try redisCLI("--no-auth-warning", "--user", "default", "--pass", password, "GET", "k") == "v")
            let wrong = try redisCLI("--no-auth-warning", "-a", "wrong", "GET", "k")
            print("redis-cli -a wrong GET k: \(wrong)")
            #expect(wrong.contains("WRONGPASS invalid username-password pair or user is disabled."))
            #expect(wrong.contains("NOAUTH Authentication required."))
            #expect(try redisCLI("AUTH", password) == "OK")

            // One connection: AUTH changes what it may do, and a failed AUTH changes nothing.
            let client = try RESPClient(address: node.client)
            #expect(try client.command(["GET", "k"]) == .error("NOAUTH Authentication required."))
            #expect(try client.command(["AUTH", "nope"])
                == .error("WRONGPASS invalid username-password pair or user is disabled."))
            #expect(try client.command(["AUTH", "default", password]) == .simpleString("OK"))
            #expect(try client.command(["GET", "k"]) == .bulk(Array("v".utf8)))
            #expect(try client.command(["AUTH", "nope"])
                == .error("WRONGPASS invalid username-password pair or user is disabled."))
            #expect(try client.command(["INCR", "n"]) == .integer(1))
            #expect(!node.log.contains(password), "the password appeared in the node's log")
        }

        @Test("client flags are checked at start: a bad value is a usage error, a missing password file a failure")
        func badClientFlags() throws {
            let lockstep = try Harness.lockstepPath()
            let zero = try Harness.run(lockstep, ["pair", "--max-clients", "0"])
            #expect(zero.status == .exited(code: 2), "\(zero.standardError)")
            let negative = try Harness.run(lockstep, ["pair", "--client-timeout", "-1"])
            #expect(negative.status == .exited(code: 2), "\(negative.standardError)")
            let missing = try Harness.run(lockstep, ["pair", "--requirepass-file", "/nonexistent/lockstep-password"])
            #expect(missing.status == .exited(code: 1), "\(missing.standardError)")
            #expect(missing.standardError.contains("--requirepass-file"), "\(missing.standardError)")
            let help = try Harness.run(lockstep, ["node", "--help"])
            for flag in ["--requirepass-file PATH", "--max-clients N", "--client-timeout S"] {
                #expect(help.standardOutput.contains(flag), "\(flag) is not in node --help")
            }
        }
    }
}

extension String {
    /// Without trailing newlines: a tool's output as one compares it.
    fileprivate var trimmingNewlines: String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
