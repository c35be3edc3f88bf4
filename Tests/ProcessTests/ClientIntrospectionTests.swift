import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// What tools and libraries read about a connection and the server: a name kept per connection, HELLO 2, INFO's
    /// sections as `redis-cli --stat` and redis-py parse them.
    @Suite(.serialized) struct ClientIntrospectionTests {
        @Test("redis-cli --stat prints numeric rows, a name set on a connection is read back on it, and redis-py agrees")
        func toolsReadIntrospection() async throws {
            let pair = try await RunningPair.start("introspection")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let cli = try RedisCLI(primary)
            #expect(try cli("SET", "stat:k", "v") == "OK")

            // One connection: the name set on it is the one it reads back, and its CLIENT INFO line shows it.
            let connection = try RESPClient(address: primary, timeout: .seconds(5))
            #expect(try connection.command(["CLIENT", "SETNAME", "x"]) == .simpleString("OK"))
            #expect(try connection.command(["CLIENT", "GETNAME"]) == .bulk(Array("x".utf8)))
            guard case .bulk(let line?) = try connection.command(["CLIENT", "INFO"]) else {
                Issue.record("CLIENT INFO answered no bulk string")
                return
            }
            #expect(String(decoding: line, as: UTF8.self).contains(" name=x age="))
            // Another connection has no name.
            #expect(try cli("CLIENT", "GETNAME") == "")

            // redis-cli --stat: every row after the two header lines is numbers in their columns. It runs until killed,
            // so its stdout is line-buffered (stdbuf) to keep the rows the kill would otherwise leave unflushed.
            let stdbuf = try #require(Harness.onPath("stdbuf"), "coreutils' stdbuf is not installed")
            let stat = try Harness.run(
                stdbuf,
                ["-oL", try Harness.redisTool("redis-cli"), "-h", primary.host, "-p", String(primary.port), "--stat",
                 "-i", "0.2"],
                timeout: .milliseconds(1_500))
            print("redis-cli --stat against the primary:\n\(stat.standardOutput)")
            let rows = stat.standardOutput.split(separator: "\n").filter { !$0.hasPrefix("-") && !$0.hasPrefix("keys") }
            #expect(rows.count >= 3, "redis-cli --stat printed:\n\(stat.standardOutput)\(stat.standardError)")
            for row in rows {
                let columns = row.split(separator: " ")
                #expect(columns.count >= 7, "row: \(row)")
                guard columns.count >= 7 else { continue }
                #expect(Int(columns[0]) == 1, "keys in: \(row)")
                // A missing used_memory prints as 0B: the process holds more than nothing.
                #expect(
                    columns[1].last.map { "BKMGT".contains($0) } == true
                        && Double(columns[1].dropLast()).map { $0 > 0 } == true, "mem in: \(row)")
                #expect(Int(columns[2]).map { $0 >= 1 } == true, "clients in: \(row)")
                #expect(Int(columns[3]) == 0, "blocked in: \(row)")
                #expect(Int(columns[4]).map { $0 > 0 } == true, "requests in: \(row)")
                #expect(columns[5].hasPrefix("(+") && columns[5].hasSuffix(")"), "requests delta in: \(row)")
                #expect(Int(columns[6]).map { $0 >= 2 } == true, "connections in: \(row)")
            }

            // redis-py: HELLO 2, its name, INFO parsed into numbers, and a RESP3 client served in RESP3.
            let python = try #require(Harness.onPath("python3"), "python3 is not installed; .ci/run installs it")
            let script = pair.directory + "/introspection.py"
            try writeScript(script, ClientIntrospectionScript.source)
            let run = try Harness.run(python, [script, primary.host, String(primary.port)], timeout: .seconds(30))
            try #require(run.status == .exited(code: 0), "redis-py: \(run.standardOutput)\(run.standardError)")
            let expected = [
                "hello_proto=2", "hello_server=redis", "hello_role=master", "setname=True", "getname=py-worker",
                "client_info_name=py-worker", "client_list_names=py-worker,x", "redis_version=7.0.15",
                "connected_clients_positive=True", "used_memory_positive=True",
                "db0={'keys': 3, 'expires': 1, 'avg_ttl': 0}", "keyspace_only=['db0']", "default_ping=True",
                "default_fell_back=False",
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
