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

    @Test("unknown flags and groups are usage errors")
    func usageErrors() {
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--fast"]) }
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--only", "disk"]) }
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
