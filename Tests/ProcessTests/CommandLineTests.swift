@testable import LockstepCLI
import Posix
import Runtime
import Testing

extension ProcessTests {
    /// The CLI's pure parts, without processes: argument parsing, log lines, INFO parsing, RESP replies.
    @Suite struct CommandLineParts {
        @Test("a log line is an ISO-8601 UTC timestamp with milliseconds, the node name, and one line of message")
        func logLineFormat() {
            let line = LogLine.format(
                source: "a", message: "backup -> primary at epoch 4:\nprimary silent",
                wallClockNanoseconds: 1_795_454_401_123_456_789)
            #expect(line == "2026-11-23T17:20:01.123Z [a] backup -> primary at epoch 4: primary silent\n")
            #expect(LogLine.isoTimestamp(wallClockNanoseconds: 0) == "1970-01-01T00:00:00.000Z")
        }

        @Test("flags take values as --flag value or --flag=value; unknown, repeated and valueless flags are refused")
        func argumentParsing() throws {
            let parsed = try Arguments(
                ["--name", "a", "--port=7000", "--json", "x"], command: "t", valued: ["--name", "--port"],
                switches: ["--json"], allowsPositionals: true)
            #expect(parsed.string("--name") == "a")
            #expect(try parsed.integer("--port", default: 1, in: 1...65_535) == 7_000)
            #expect(parsed.contains("--json"))
            #expect(parsed.positionals == ["x"])

            #expect(throws: CommandError.usage("unknown flag --nmae")) {
                try Arguments(["--nmae", "a"], command: "t", valued: ["--name"])
            }
            #expect(throws: CommandError.usage("--name is given twice")) {
                try Arguments(["--name", "a", "--name", "b"], command: "t", valued: ["--name"])
            }
            #expect(throws: CommandError.usage("--name needs a value")) {
                try Arguments(["--name", "--port", "1"], command: "t", valued: ["--name", "--port"])
            }
            #expect(throws: CommandError.self) {
                try Arguments(["--port", "seven"], command: "t", valued: ["--port"])
                    .integer("--port", default: 1, in: 1...65_535)
            }
        }

        @Test("node options default --advertise to --channel and refuse a peer that is the node itself")
        func nodeOptions() throws {
            let words = [
                "--name", "a", "--client", "127.0.0.1:7000", "--channel", "127.0.0.1:8000", "--peer",
                "127.0.0.1:8001", "--arbiter", "/tmp", "--cluster-secret-file", "/tmp/secret",
            ]
            let options = try NodeOptions(Arguments(words, command: "node", valued: NodeOptions.valuedFlags))
            #expect(options.clusterSecretFile == "/tmp/secret")
            // The secret is required: without it, a usage error before anything starts.
            #expect(throws: CommandError.usage("--cluster-secret-file is required")) {
                try NodeOptions(Arguments(Array(words.dropLast(2)), command: "node", valued: NodeOptions.valuedFlags))
            }
            #expect(options.advertiseAddress == options.channelAddress)
            #expect(options.heartbeatInterval == nil)

            let selfPeer = words.map { $0 == "127.0.0.1:8001" ? "127.0.0.1:8000" : $0 }
            #expect(throws: CommandError.self) {
                try NodeOptions(Arguments(selfPeer, command: "node", valued: NodeOptions.valuedFlags))
            }
            let slowHeartbeat = try NodeOptions(
                Arguments(words + ["--heartbeat", "500", "--timeout", "300"], command: "node",
                    valued: NodeOptions.valuedFlags))
            #expect(throws: CommandError.self) { try NodeCommand.configuration(slowHeartbeat) }

            #expect(try NodeCommand.configuration(options).pollBeforeSleep == .microseconds(50))
            // A larger unacked log needs a backup that can buffer it while a checkpoint installs: the flag raises both.
            let bigLog = try NodeCommand.configuration(
                NodeOptions(Arguments(words + ["--unacked-entries", "1000000"], command: "node",
                    valued: NodeOptions.valuedFlags)))
            #expect(bigLog.node.backupLimits.pendingEntriesLimit > bigLog.node.primaryLimits.unackedEntriesCapacity)
            let sleepy = try NodeOptions(
                Arguments(words + ["--poll-us", "0"], command: "node", valued: NodeOptions.valuedFlags))
            #expect(try NodeCommand.configuration(sleepy).pollBeforeSleep == .zero)
            let overlong = try Arguments(
                words + ["--poll-us", "1001"], command: "node", valued: NodeOptions.valuedFlags)
            #expect(throws: CommandError.self) { try NodeOptions(overlong) }
        }

        @Test("--service-address and --service-device go together and are checked; --on-role-change takes a time limit")
        func takeoverOptions() throws {
            let words = [
                "--name", "a", "--client", "0.0.0.0:7000", "--announce-client", "10.0.0.1:7000", "--channel",
                "127.0.0.1:8000", "--peer", "127.0.0.1:8001", "--arbiter", "/tmp", "--cluster-secret-file", "/tmp/secret",
            ]
            func options(_ extra: [String]) throws -> NodeOptions {
                try NodeOptions(Arguments(words + extra, command: "node", valued: NodeOptions.valuedFlags))
            }
            let plain = try NodeCommand.configuration(try options([]))
            #expect(plain.serviceAddress == nil && plain.roleChangeHook == nil)

            let both = try NodeCommand.configuration(
                try options(["--service-address", "10.0.0.100/24", "--service-device", "eth0"]))
            #expect(both.serviceAddress?.prefix == IPv4Prefix(address: 0x0A00_0064, prefixLength: 24))
            #expect(both.serviceAddress?.device == "eth0")
            #expect(throws: CommandError.usage(
                "--service-address and --service-device go together: the address, and the device it goes on")) {
                try options(["--service-address", "10.0.0.100/24"])
            }
            #expect(throws: CommandError.self) { try options(["--service-device", "eth0"]) }
            for bad in ["10.0.0.100", "10.0.0.100/33", "10.0.0.100/0", "127.0.0.1/8", "224.0.0.1/4", "0.0.0.0/0",
                "10.0.0/24", "10.0.0.100/x"] {
                #expect(throws: CommandError.self, "\(bad)") {
                    try options(["--service-address", bad, "--service-device", "eth0"])
                }
            }
            for bad in ["", "a/b", "sixteen-chars-xx", "has space"] {
                #expect(throws: CommandError.self, "\(bad)") {
                    try options(["--service-address", "10.0.0.100/24", "--service-device", bad])
                }
            }

            let hook = try NodeCommand.configuration(try options(["--on-role-change", "logger moved"]))
            #expect(hook.roleChangeHook == RoleChangeHook(command: "logger moved", timeout: .seconds(10)))
            let quick = try NodeCommand.configuration(
                try options(["--on-role-change", "true", "--on-role-change-timeout", "250"]))
            #expect(quick.roleChangeHook?.timeout == .milliseconds(250))
            #expect(throws: CommandError.usage("--on-role-change-timeout needs --on-role-change")) {
                try options(["--on-role-change-timeout", "250"])
            }
            #expect(throws: CommandError.self) { try options(["--on-role-change", "true", "--on-role-change-timeout", "0"]) }
        }

        @Test("INFO fields parse into name:value pairs; status shows unknown fields as - and JSON escapes text")
        func statusRendering() {
            let fields = StatusCommand.parseInfo(
                "# Replication\r\nrole:master\r\nlockstep_role:primary\r\nlockstep_reason:a: b\r\n\r\n")
            #expect(fields == ["role": "master", "lockstep_role": "primary", "lockstep_reason": "a: b"])
            let report = StatusCommand.Report(address: "127.0.0.1:7000", fields: fields, failure: nil)
            let table = StatusCommand.table([report])
            #expect(table.contains("127.0.0.1:7000  -     primary  -"), "\(table)")
            #expect(StatusCommand.jsonString("a\"b\\\n\u{1}") == "\"a\\\"b\\\\\\n\\u0001\"")
        }

        @Test("RESP replies parse whole or wait for more bytes")
        func respParsing() throws {
            let reply = Array("*3\r\n$5\r\nhello\r\n:42\r\n*-1\r\n".utf8)
            for cut in 0..<reply.count {
                var cursor = 0
                #expect(try RESPClient.parse(Array(reply[..<cut]), at: &cursor, depth: 0) == nil)
                #expect(cursor == 0)
            }
            var cursor = 0
            let value = try RESPClient.parse(reply, at: &cursor, depth: 0)
            #expect(value == .array([.bulk(Array("hello".utf8)), .integer(42), .array(nil)]))
            #expect(cursor == reply.count)
            var errorCursor = 0
            #expect(throws: RESPClient.ParseError.self) {
                try RESPClient.parse(Array("?x\r\n".utf8), at: &errorCursor, depth: 0)
            }
        }
    }
}
