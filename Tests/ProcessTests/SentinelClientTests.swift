import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Clients that find the primary through Sentinel follow a kill -9 failover by themselves: a raw subscriber hears
    /// `+switch-master`, and redis-py's real `Sentinel` moves its writes to the new primary.
    @Suite(.serialized) struct SentinelClientTests {
        static func bulk(_ text: String) -> RESPValue { .bulk(Array(text.utf8)) }

        @Test("a +switch-master subscriber on the backup hears the old and new primary when the primary is killed")
        func switchMasterOnKill() async throws {
            let pair = try await RunningPair.start("switch-master")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let primaryPID = try pair.nodePID(primary)

            // Given a connection to the backup subscribed to the channel and to a pattern matching it,
            let subscriber = try RESPClient(address: backup, timeout: .seconds(5))
            #expect(
                try subscriber.command(["SUBSCRIBE", "+switch-master"])
                    == .array([Self.bulk("subscribe"), Self.bulk("+switch-master"), .integer(1)]))
            #expect(
                try subscriber.command(["PSUBSCRIBE", "+switch*"])
                    == .array([Self.bulk("psubscribe"), Self.bulk("+switch*"), .integer(2)]))

            // when the primary's process is killed outright,
            let killedAt = monotonicNanoseconds()
            #expect(kill(primaryPID, SIGKILL) == 0)

            // then the backup, going live, tells it the old and the new master, on the channel and the pattern.
            let payload = "lockstep 127.0.0.1 \(primary.port) 127.0.0.1 \(backup.port)"
            let message = try subscriber.readReply()
            let heardAfter = Duration.nanoseconds(Int64(monotonicNanoseconds() - killedAt))
            #expect(
                message == .array([Self.bulk("message"), Self.bulk("+switch-master"), Self.bulk(payload)]),
                "\(pair.logTail())")
            let patternMessage = try subscriber.readReply()
            #expect(
                patternMessage
                    == .array([
                        Self.bulk("pmessage"), Self.bulk("+switch*"), Self.bulk("+switch-master"), Self.bulk(payload),
                    ]))
            print("+switch-master \"\(payload)\" reached the subscriber \(heardAfter) after kill -9 of the primary")
            #expect(heardAfter < .seconds(1))

            // The connection is still subscribed, and the node's Sentinel answer agrees with what it announced.
            #expect(try subscriber.command(["PING"]) == .array([Self.bulk("pong"), Self.bulk("")]))
            let asker = try RESPClient(address: backup, timeout: .seconds(2))
            #expect(
                try asker.command(["SENTINEL", "get-master-addr-by-name", "lockstep"])
                    == .array([Self.bulk("127.0.0.1"), Self.bulk(String(backup.port))]))
        }

        @Test("redis-py's Sentinel follows ten kill -9 failovers within a second each, losing no acked write")
        func redisPyFollowsFailovers() async throws {
            let python = try #require(Harness.onPath("python3"), "python3 is not installed; .ci/run installs it")
            let probe = try Harness.run(python, ["-c", "import redis.sentinel"], timeout: .seconds(30))
            try #require(
                probe.status == .exited(code: 0),
                "redis-py is not installed (python3 -m pip install redis; .ci/run does this): \(probe.standardError)")

            let pair = try await RunningPair.start("sentinel-client")
            defer { pair.stop(); pair.removeDirectory() }
            let script = pair.directory + "/sentinel_client.py"
            try writeFile(script, SentinelClientScript.source)
            let stopPath = pair.directory + "/stop-client"
            let output = ClientOutput(path: pair.directory + "/client.out")

            // Given redis-py writing through `master_for("lockstep")`, knowing only the two nodes as its sentinels,
            let client = try ChildProcess.spawn(
                python, arguments: [script, "lockstep", stopPath] + pair.clients.map(\.description),
                standardOutput: .file(path: output.path, append: false),
                standardError: .file(path: pair.directory + "/client.err", append: false))
            defer { _ = try? client.terminate(signal: SIGKILL, timeout: .seconds(5)) }
            let isWriting = try await Harness.waitUntil(.seconds(15)) { output.poll().acked.count >= 100 }
            try #require(isWriting, "redis-py acked \(output.acked.count) writes in 15 s\n\(clientLog(pair))")

            // when the primary is killed ten times (the pair's supervisor restarts each killed node, which rejoins),
            var followTimes: [Duration] = []
            for round in 1...10 {
                let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(15))
                let primaryPID = try pair.nodePID(primary)
                let killedAt = monotonicNanoseconds()
                #expect(kill(primaryPID, SIGKILL) == 0)

                // then the client's next acks come from the new primary, found without any help, within a second.
                var firstAck: ClientOutput.Write?
                _ = try await Harness.waitUntil(.seconds(5)) {
                    firstAck = output.poll().acked.first {
                        $0.answeredAt > killedAt && $0.primary == backup.description
                    }
                    return firstAck != nil
                }
                let ack = try #require(firstAck, "round \(round): no ack from \(backup) in 5 s\n\(clientLog(pair))")
                let followed = Duration.nanoseconds(Int64(ack.answeredAt - killedAt))
                let failedMeanwhile = output.failed.filter {
                    $0.answeredAt > killedAt && $0.answeredAt <= ack.answeredAt
                }
                print(
                    "kill \(round): redis-py's first ack from the new primary \(backup) came \(followed) after kill -9 "
                        + "of \(primary) (\(failedMeanwhile.count) writes reported failed meanwhile)")
                #expect(followed < .seconds(1), "round \(round)\n\(pair.logTail())")
                followTimes.append(followed)
            }

            // Every write has an outcome, and every acked one is on the primary.
            try writeFile(stopPath, "stop\n")
            let exit = try client.wait(timeout: .seconds(10))
            #expect(exit == .exited(code: 0), "the client ended with \(String(describing: exit))\n\(clientLog(pair))")
            _ = output.poll()
            let outcomes = (output.acked + output.failed).map(\.index).sorted()
            #expect(outcomes == Array(0..<outcomes.count), "a write without exactly one outcome line")
            #expect(
                output.stoppedAfter == outcomes.count,
                "the client wrote \(String(describing: output.stoppedAfter)) but reported \(outcomes.count)")
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(15))
            let reader = try RESPClient(address: primary, timeout: .seconds(5))
            let keys = output.acked.map { "sentinel:\($0.index)" }
            let values = try reader.values(of: keys)
            let lost = output.acked.filter { values["sentinel:\($0.index)"] != .some("v\($0.index)") }
            #expect(lost.isEmpty, "\(lost.count) acked writes lost, e.g. \(lost.prefix(5).map(\.index))")
            print(
                "redis-py: \(outcomes.count) writes, \(output.acked.count) acked, \(output.failed.count) reported "
                    + "failed, \(lost.count) acked lost; slowest follow \(followTimes.max() ?? .zero)")
            if let reason = output.failed.first?.detail { print("e.g. a failed write: \(reason)") }
        }

        @Test("--service-name and --announce-client: checked, passed on by pair, and a wildcard is never announced")
        func commandLineFlags() throws {
            func options(_ extra: [String], client: String = "127.0.0.1:7000") throws -> NodeOptions {
                let words = [
                    "--name", "a", "--client", client, "--channel", "127.0.0.1:8000", "--peer", "127.0.0.1:8001",
                    "--arbiter", "/tmp", "--cluster-secret-file", "/tmp/secret",
                ]
                return try NodeOptions(Arguments(words + extra, command: "node", valued: NodeOptions.valuedFlags))
            }
            let plain = try options([])
            #expect(plain.client.serviceName == "lockstep")
            #expect(plain.announcedClientAddress == plain.clientAddress)
            #expect(plain.client.nodeArguments.isEmpty)
            let named = try options(["--service-name", "orders"])
            #expect(named.client.serviceName == "orders")
            #expect(named.client.nodeArguments == ["--service-name", "orders"])  // what pair hands each node
            for bad in ["", "two words", String(repeating: "x", count: 129)] {
                #expect(throws: CommandError.self) { try options(["--service-name", bad]) }
            }

            // A node listening on every interface announces the address clients dial, and must be told it.
            #expect(throws: CommandError.self) { try options([], client: "0.0.0.0:7000") }
            let announced = try options(["--announce-client", "10.0.0.1:7000"], client: "0.0.0.0:7000")
            let configuration = try NodeCommand.configuration(announced)
            #expect(configuration.clientListenAddress == "0.0.0.0:7000")
            #expect(configuration.node.clientAddress == "10.0.0.1:7000")
            #expect(throws: CommandError.self) { try options(["--announce-client", "0.0.0.0:7000"]) }
        }

        private func clientLog(_ pair: RunningPair) -> String {
            let lines = Harness.readFile(pair.directory + "/client.out").split(separator: "\n").suffix(10)
            return "--- redis-py client ---\n" + lines.joined(separator: "\n") + "\n"
                + Harness.readFile(pair.directory + "/client.err") + "\n" + pair.logTail()
        }

        private func writeFile(_ path: String, _ text: String) throws {
            let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o644)
            defer { try? file.close() }  // written in full below, or the error is thrown
            try Array(text.utf8).withUnsafeBytes { try file.writeAll($0) }
        }
    }
}

/// What the redis-py client has printed so far (`SentinelClientScript`), read as it grows: only new bytes are read
/// on each poll, so following a long run costs what it adds.
final class ClientOutput {
    /// One write's outcome.
    struct Write {
        var index: Int
        var sentAt: UInt64
        var answeredAt: UInt64
        /// For an acked write, the primary the client's pool had discovered; for a failed one, the error.
        var primary: String
        var detail: String
    }

    let path: String
    private(set) var acked: [Write] = []
    private(set) var failed: [Write] = []
    private(set) var stoppedAfter: Int?
    private var offset = 0
    private var partialLine: [UInt8] = []

    init(path: String) {
        self.path = path
    }

    /// Reads what was appended since the last poll; returns self, for chaining.
    @discardableResult
    func poll() -> ClientOutput {
        guard let file = try? FileDescriptor.open(path, flags: O_RDONLY) else { return self }
        defer { try? file.close() }  // read-only
        guard lseek(file.rawValue, off_t(offset), SEEK_SET) >= 0 else { return self }
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { chunk.deallocate() }
        while let count = try? file.read(into: chunk), count > 0 {
            offset += count
            for byte in chunk.prefix(count) {
                if byte == UInt8(ascii: "\n") {
                    parse(String(decoding: partialLine, as: UTF8.self))
                    partialLine.removeAll(keepingCapacity: true)
                } else {
                    partialLine.append(byte)
                }
            }
        }
        return self
    }

    private func parse(_ line: String) {
        let words = line.split(separator: " ", maxSplits: 4).map(String.init)
        if words.count == 4, words[0] == "stopped", let count = Int(words[2]) {
            stoppedAfter = count
            return
        }
        guard words.count == 5, let index = Int(words[1]), let sent = UInt64(words[2]), let answered = UInt64(words[3])
        else { return }
        let write = Write(index: index, sentAt: sent, answeredAt: answered, primary: words[4], detail: words[4])
        if words[0] == "acked" { acked.append(write) } else if words[0] == "failed" { failed.append(write) }
    }
}
