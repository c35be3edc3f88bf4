import Testing

@testable import BenchmarkKit

@Suite("Command line")
struct CommandLineTests {
    @Test("--quick selects the quick plan and flags override it")
    func quickWithOverrides() throws {
        let parsed = try BenchmarkCommandLine.parse(
            ["--quick", "--rounds", "2", "--only", "floors,redis", "--json", "x"])
        guard case .run(let options, let isStrict) = parsed else {
            Issue.record("expected a run")
            return
        }
        #expect(options.plan.name == "quick")
        #expect(options.plan.rounds == 2)
        #expect(options.plan.parts == [.floors, .redis])
        #expect(options.jsonPath == "x")
        #expect(!isStrict)
    }

    @Test("the scale group loads the key counts given, and none in the quick profile unless asked")
    func scaleKeys() throws {
        guard case .run(let asked, _) = try BenchmarkCommandLine.parse(["--only", "scale", "--scale-keys", "1000,20"]),
            case .run(let quick, _) = try BenchmarkCommandLine.parse(["--quick"]),
            case .run(let full, _) = try BenchmarkCommandLine.parse([])
        else {
            Issue.record("expected runs")
            return
        }
        #expect(asked.plan.parts == [.scale])
        #expect(asked.plan.scaleKeyCounts == [1000, 20])
        #expect(quick.plan.scaleKeyCounts.isEmpty)
        #expect(full.plan.scaleKeyCounts == [1_000_000, 10_000_000])
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--scale-keys", "0"]) }
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--scale-keys", "x"]) }
    }

    @Test("unknown flags and groups are usage errors")
    func usageErrors() {
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--fast"]) }
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--only", "disk"]) }
        guard case .run(let sessions, _) = try? BenchmarkCommandLine.parse(["--only", "sessions"]) else {
            Issue.record("--only sessions is a group")
            return
        }
        #expect(sessions.plan.parts == [.sessions])
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--rounds", "0"]) }
    }

    @Test("the node's default timeout is read from its help text")
    func defaultTimeoutFromHelp() {
        let help = """
            Options:
              --heartbeat MS        heartbeat interval on an idle logging channel (default 50)
              --timeout MS          silence after which the peer is presumed dead and the arbiter is asked
                                    (default 300); must exceed --heartbeat
              --unacked-bytes N     the same bound in bytes (default 33554432)
              --replay-lag N        entries the backup may have received
            """
        #expect(NodeHelp.defaultValue(of: "--timeout", in: help) == "300 ms")
        #expect(NodeHelp.defaultValue(of: "--heartbeat", in: help) == "50 ms")
        #expect(NodeHelp.defaultValue(of: "--unacked-bytes", in: help) == "33554432")
        #expect(NodeHelp.defaultValue(of: "--replay-lag", in: help) == nil)
    }
}

@Suite("Strict mode")
struct StrictModeTests {
    @Test("a planned case that failed in a round is a problem for --strict, not only a note")
    func failedCaseIsAProblem() {
        let runner = BenchmarkRunner(options: BenchmarkOptions(plan: .quick)) { _ in }
        let definition = CaseDefinition(
            key: "sessions-exec-set@1", group: .sessions, title: "Lockstep SESSION EXEC … SET", connections: 1)
        runner.measureAndRecord(definition, round: 0) { () throws(BenchmarkError) in
            throw .unexpectedReply("malformed reply")
        }
        #expect(runner.problems.contains { $0.hasPrefix("sessions-exec-set@1 round 1 produced no figures") })
    }
}
