import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// RESP3 against a real pair, read by redis-py's RESP3 parser: the types Redis 7.0 sends under `HELLO 3`.
    @Suite(.serialized) struct RESP3ClientTests {
        @Test("redis-py with protocol=3 reads maps, sets, doubles, nulls and pushes from a primary, as from Redis 7.0")
        func redisPyReadsRESP3() async throws {
            let pair = try await RunningPair.start("resp3")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let python = try #require(Harness.onPath("python3"), "python3 is not installed; .ci/run installs it")
            let script = pair.directory + "/resp3.py"
            try writeScript(script, RESP3ClientScript.source)
            let run = try Harness.run(python, [script, primary.host, String(primary.port)], timeout: .seconds(30))
            try #require(run.status == .exited(code: 0), "redis-py: \(run.standardOutput)\(run.standardError)")
            let expected = [
                "hello_proto=int:3",
                "strings_get_missing=NoneType:None",
                "strings_mget=list:['v', None]",
                "hashes_hgetall=dict:{'f': 'v', 'g': 'w'}",
                "hashes_hkeys=list:['f', 'g']",
                "sets_smembers=list:['a', 'b']",
                "sets_sunion=list:['a', 'b']",
                "zsets_zscore=float:1.5",
                "zsets_zrange_withscores=list:[['a', 1.5], ['b', 2.0]]",
                "zsets_zincrby=float:3.0",
                "zsets_zpopmin=list:['a', 1.5]",
                "config_get=dict:{'maxmemory': '0'}",
                "client_info_resp=bool:True",
                "exec=list:[3.0, {'f': 'v', 'g': 'w'}]",
                "reset=str:'RESET'",
                "after_reset_resp=bool:True",
                "api_hgetall=dict:{'f': 'v', 'g': 'w'}",
                "api_zscore=float:3.0",
                "api_info_version=str:'7.0.15'",
                "pubsub_subscribe=tuple:('subscribe', 'resp3:channel', 1)",
                "pubsub_get_while_subscribed=str:'v'",
            ]
            #expect(run.standardOutput.split(separator: "\n").map(String.init) == expected, "\(run.standardError)")
        }

        private func writeScript(_ path: String, _ text: String) throws {
            let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o644)
            defer { try? file.close() }  // written in full below, or the error is thrown
            try Array(text.utf8).withUnsafeBytes { try file.writeAll($0) }
        }
    }
}
