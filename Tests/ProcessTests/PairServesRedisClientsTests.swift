import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// `lockstep pair` as a user meets it: the README's run command, driven by stock Redis tools.
    @Suite struct PairServesRedisClients {
        @Test("redis-cli SET, GET, INCR and MGET work on the primary")
        func redisCLIOnPrimary() async throws {
            let pair = try await RunningPair.start("redis-cli")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let cli = try RedisCLI(primary)

            #expect(try cli("SET", "greeting", "hello world") == "OK")
            #expect(try cli("GET", "greeting") == "hello world")
            #expect(try cli("INCR", "counter") == "1")
            #expect(try cli("INCR", "counter") == "2")
            #expect(try cli("MGET", "greeting", "counter", "missing") == "hello world\n2\n")
            #expect(try cli("PING") == "PONG")
        }

        @Test("the backup answers data commands with READONLY naming the primary")
        func backupNamesPrimary() async throws {
            let pair = try await RunningPair.start("readonly")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))
            let cli = try RedisCLI(backup)

            let reply = try cli("SET", "k", "v")
            #expect(reply.hasPrefix("READONLY"), "backup answered \(reply)")
            #expect(reply.contains(primary.description), "READONLY should name the primary \(primary): \(reply)")
            #expect(try cli("GET", "k").hasPrefix("READONLY"))
            #expect(try cli("PING") == "PONG")
            #expect(try cli("ROLE").hasPrefix("slave"))
        }

        @Test("redis-benchmark's default test list runs to the end against the primary, every test without an error")
        func redisBenchmarkDefaultList() async throws {
            let benchmark = try Harness.redisTool("redis-benchmark")
            let pair = try await RunningPair.start("benchmark")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))

            // No -t: the default list. An error reply makes redis-benchmark stop with exit code 1.
            let output = try Harness.run(
                benchmark, ["-h", primary.host, "-p", String(primary.port), "-n", "200", "-c", "8", "--csv"],
                timeout: .seconds(120))
            print("redis-benchmark against the primary:\n\(output.standardOutput)")
            #expect(output.status == .exited(code: 0), "\(output.standardError)\n\(pair.logTail())")
            let tests = output.standardOutput.split(separator: "\n").dropFirst().compactMap {
                $0.split(separator: ",").first.map { $0.filter { $0 != "\"" } }
            }
            let expected = [
                "PING_INLINE", "PING_MBULK", "SET", "GET", "INCR", "LPUSH", "RPUSH", "LPOP", "RPOP", "SADD", "HSET",
                "SPOP", "ZADD", "ZPOPMIN", "LPUSH (needed to benchmark LRANGE)", "LRANGE_100 (first 100 elements)",
                "LRANGE_300 (first 300 elements)", "LRANGE_500 (first 500 elements)",
                "LRANGE_600 (first 600 elements)", "MSET (10 keys)",
            ]
            #expect(tests == expected, "\(output.standardOutput)")
            #expect(!output.standardError.contains("Error"), "\(output.standardError)")
            _ = try await pair.waitForEqualDigests(deadline: .seconds(10))
        }

        @Test("lockstep status shows both nodes, as a table and as JSON")
        func statusShowsBothNodes() async throws {
            let lockstep = try Harness.lockstepPath()
            let pair = try await RunningPair.start("status")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))

            let table = try Harness.run(lockstep, ["status"] + pair.clients.map(\.description))
            print("lockstep status:\n\(table.standardOutput)")
            #expect(table.status == .exited(code: 0), "\(table.standardError)")
            let lines = table.standardOutput.split(separator: "\n")
            #expect(lines.first?.hasPrefix("NODE") == true)
            #expect(lines.contains { $0.hasPrefix(primary.description) && $0.contains(" primary ") })
            #expect(lines.contains { $0.hasPrefix(backup.description) && $0.contains(" backup ") })

            let json = try Harness.run(lockstep, ["status", "--json"] + pair.clients.map(\.description))
            #expect(json.status == .exited(code: 0))
            #expect(json.standardOutput.contains("\"role\": \"primary\""), "\(json.standardOutput)")
            #expect(json.standardOutput.contains("\"role\": \"backup\""), "\(json.standardOutput)")
            #expect(json.standardOutput.contains("\"epoch\": 1"), "\(json.standardOutput)")

            let unreachable = try Harness.run(lockstep, ["status", primary.description, "127.0.0.1:1"])
            #expect(unreachable.status == .exited(code: 1))
            #expect(unreachable.standardOutput.contains("unreachable"))
        }

        @Test("the pair prints its addresses and stops both nodes cleanly on SIGTERM")
        func stopsCleanly() async throws {
            let pair = try await RunningPair.start("sigterm")
            defer { pair.stop(); pair.removeDirectory() }
            let pids = try pair.clients.map { try pair.nodePID($0) }

            let banner = pair.standardOutput
            for address in pair.clients { #expect(banner.contains(address.description), "\(banner)") }
            #expect(banner.contains("127.0.0.1:\(pair.basePort + 1_000)"), "\(banner)")
            #expect(banner.contains("127.0.0.1:\(pair.basePort + 1_001)"), "\(banner)")
            #expect(banner.contains("redis-cli -p \(pair.basePort)"), "\(banner)")

            let clock = ContinuousClock()
            let started = clock.now
            let status = pair.stop(deadline: .seconds(8))
            print("lockstep pair stopped on SIGTERM after \(clock.now - started): \(status.map(\.description) ?? "?")")
            #expect(status == .exited(code: 0), "\(pair.logTail())")
            for pid in pids { #expect(!processExists(pid), "node pid \(pid) survived its pair") }
        }
    }
}

extension ProcessTests.PairServesRedisClients {
    @Test("a pair over the same directory comes back with its data; --fresh starts a new cluster at epoch 1")
    func dataStaysUnlessFresh() async throws {
        let first = try await RunningPair.start("restart")
        defer { first.removeDirectory() }
        let (primary, _) = try await first.waitForProtectedPrimary(deadline: .seconds(5))
        #expect(first.standardOutput.contains("a new cluster"), "\(first.standardOutput)")
        #expect(try RedisCLI(primary)("SET", "from-first-run", "1") == "OK")
        #expect(first.stop() == .exited(code: 0), "\(first.logTail())")

        let second = try await RunningPair.start("restart", directory: first.directory)
        let (again, _) = try await second.waitForProtectedPrimary(deadline: .seconds(10))
        #expect(second.standardOutput.contains("continues from its data"), "\(second.standardOutput)")
        #expect(try RedisCLI(again)("GET", "from-first-run") == "1", "\(second.logTail())")
        #expect(second.stop() == .exited(code: 0), "\(second.logTail())")

        let third = try await RunningPair.start("restart", directory: first.directory, arguments: ["--fresh"])
        defer { third.stop() }
        let (fresh, _) = try await third.waitForProtectedPrimary(deadline: .seconds(5))
        #expect(third.info(fresh)?["lockstep_epoch"] == "1", "\(third.statusText())")
        #expect(third.standardOutput.contains("a new cluster"), "\(third.standardOutput)")
        #expect(try RedisCLI(fresh)("GET", "from-first-run") == "", "--fresh starts empty")
    }
}
