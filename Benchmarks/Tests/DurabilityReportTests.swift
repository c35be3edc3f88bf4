import Glibc
import Testing

@testable import BenchmarkKit

/// A measurement whose every operation took `p50Microseconds`, at `opsPerSecond` over one second.
private func measurement(p50Microseconds: UInt64, opsPerSecond: UInt64) -> CaseMeasurement {
    var histogram = LatencyHistogram()
    for _ in 0..<100 { histogram.record(p50Microseconds * 1_000) }
    return CaseMeasurement(operations: opsPerSecond, elapsedNanoseconds: 1_000_000_000, histogram: histogram)
}

@Suite("Durability report")
struct DurabilityReportTests {
    /// A report of the `always` cases: per round, each system's SET p50 @1 in µs and ops/s @64.
    func report(lockstep: [(p50: UInt64, ops: UInt64)], redis: [(p50: UInt64, ops: UInt64)]) -> Report {
        var report = Report(
            machine: MachineInfo(cores: 2, kernel: "Linux", architecture: "x86_64", cpuModel: nil), commit: nil,
            date: "today", profile: "test")
        for (system, rounds) in [(ScaleResult.System.lockstep, lockstep), (.redis, redis)] {
            for (round, figures) in rounds.enumerated() {
                for connections in BenchmarkPlan.durabilityConnections {
                    let figure = connections == 1 ? measurement(p50Microseconds: figures.p50, opsPerSecond: 1)
                        : measurement(p50Microseconds: 1, opsPerSecond: figures.ops)
                    let definition = BenchmarkPlan.durabilityCase(system, .always, connections: connections)
                    report.record(figure, for: definition, round: round)
                }
            }
        }
        report.durability = DurabilityResult(policies: [.always], fileSystem: "ext4")
        return report
    }

    func lines(_ report: Report) -> [String] { report.markdown().split(separator: "\n").map(String.init) }

    @Test("each policy's row puts Lockstep's p50 @1 and ops/s @64 beside Redis's, each with its ratio")
    func sideBySide() {
        let text = lines(report(lockstep: [(300, 6_000)], redis: [(200, 8_000)]))
        let heading = text.first { $0.hasPrefix("### Durability: SET with a durable log") }
        #expect(heading?.hasSuffix("(data on ext4)") == true)
        let row = text.first { $0.hasPrefix("| always |") }
        #expect(row == "| always | 300 | 200 | 1.5 | 6.0k | 8.0k | 0.75 |")
    }

    @Test("ratios are taken within each round, then summarised: not a ratio of the medians")
    func ratiosPerRound() {
        // Per round: p50 300/100 = 3, 200/400 = 0.5, 400/200 = 2 → median 2; the medians' ratio would be 300/200.
        let row = lines(report(lockstep: [(300, 6_000), (200, 6_000), (400, 6_000)],
            redis: [(100, 6_000), (400, 6_000), (200, 6_000)])).first { $0.hasPrefix("| always |") }
        #expect(row?.hasPrefix("| always | 300 [200–400] | 200 [100–400] | 2 [0.5–3] |") == true)
    }

    @Test("without Redis the Lockstep figures stay and the ratios say n/a")
    func withoutRedis() {
        let row = lines(report(lockstep: [(300, 6_000)], redis: [])).first { $0.hasPrefix("| always |") }
        #expect(row == "| always | 300 | n/a | n/a | 6.0k | n/a | n/a |")
    }

    @Test("on tmpfs the report says that fsync measured no disk")
    func tmpfsWarning() {
        var report = report(lockstep: [(300, 6_000)], redis: [(200, 8_000)])
        #expect(!report.markdown().contains("tmpfs"))
        report.durability?.fileSystem = "tmpfs"
        #expect(report.markdown().contains("the data lived on tmpfs, where an fsync costs nothing"))
    }

    @Test("the restart after kill -9 shows both times with their ratio, the keys back, and any problem")
    func comeback() {
        var report = report(lockstep: [], redis: [])
        var lockstep = ComebackResult(system: .lockstep, keys: 1_000, policy: .everysec)
        lockstep.loadNanoseconds = 2_000_000_000
        lockstep.diskBytesAtKill = 3 << 20
        lockstep.comebackNanoseconds = 300_000_000
        lockstep.protectedNanoseconds = 1_500_000_000
        lockstep.keysAfter = 1_000
        var redis = ComebackResult(system: .redis, keys: 1_000, policy: .everysec)
        redis.loadNanoseconds = 1_000_000_000
        redis.diskBytesAtKill = 2 << 20
        redis.comebackNanoseconds = 200_000_000
        redis.keysAfter = 998
        redis.problem = "2 keys missing"
        report.durability?.comeback = [lockstep, redis]
        let text = lines(report)
        #expect(text.contains("### Durability: back after kill -9 of every process (1000 keys, fsync everysec)"))
        #expect(text.contains("| **restart → first SET acknowledged** | 300.0 ms | 200.0 ms | 1.5 |"))
        #expect(text.contains("| load, one client with 1000 SETs in flight | 2 s | 1 s | 2 |"))
        #expect(text.contains("| data files at the kill (Lockstep: both nodes) | 3.0 MiB | 2.0 MiB | 1.5 |"))
        #expect(text.contains("| restart → protected again (a primary with a caught-up backup) | 1.5 s | – | – |"))
        #expect(text.contains("| keys back (DBSIZE after the restart) | 1000 of 1000 | 998 of 1000 | – |"))
        #expect(text.contains("- redis: 2 keys missing"))
        #expect(lockstep.isComplete && !redis.isComplete)
    }

    @Test("the JSON carries each policy's figures and ratios and the restart")
    func json() {
        var report = report(lockstep: [(300, 6_000)], redis: [(200, 8_000)])
        var redis = ComebackResult(system: .redis, keys: 10, policy: .everysec)
        redis.comebackNanoseconds = 250_000_000
        report.durability?.comeback = [redis]
        let text = report.json().rendered()
        #expect(text.contains("\"durability\":{\"fileSystem\":\"ext4\",\"policies\":[{\"policy\":\"always\""))
        #expect(text.contains("\"p50Ratio\":{\"median\":1.5,"))
        #expect(text.contains("\"opsPerSecondRatio\":{\"median\":0.75,"))
        #expect(text.contains("\"system\":\"redis\",\"policy\":\"everysec\",\"keys\":10"))
        #expect(text.contains("\"comebackSeconds\":0.25"))
        let without = Report(machine: .current(), commit: nil, date: "today", profile: "test").json().rendered()
        #expect(without.contains("\"durability\":null"))
    }
}

@Suite("Durability plan")
struct DurabilityPlanTests {
    @Test("a round runs Lockstep and Redis at 1 connection, then at 64, the first system alternating by round")
    func order() {
        let plan = BenchmarkPlan.full
        #expect(plan.durabilityCases(.no, round: 0).map(\.key) == [
            "lockstep-durable-no-set@1", "redis-aof-no-set@1", "lockstep-durable-no-set@64", "redis-aof-no-set@64",
        ])
        #expect(plan.durabilityCases(.no, round: 1).map(\.key) == [
            "redis-aof-no-set@1", "lockstep-durable-no-set@1", "redis-aof-no-set@64", "lockstep-durable-no-set@64",
        ])
    }

    @Test("durability cases are SETs under keys of their own, never colliding with the other groups' cases")
    func distinctKeys() {
        let plan = BenchmarkPlan.full
        let cases = FsyncPolicy.allCases.flatMap { plan.durabilityCases($0, round: 0) }
        #expect(Set(cases.map(\.key)).count == 12)
        #expect(Set(cases.map(\.key)).isDisjoint(with: plan.allCases.map(\.key)))
        for definition in cases {
            #expect(plan.workload(for: definition) == .set(keyspace: plan.keyspace, valueBytes: plan.valueBytes))
        }
    }

    @Test("the full profile measures every policy and a million keys; quick only always and a few thousand keys")
    func profiles() {
        #expect(BenchmarkPlan.full.durabilityPolicies == [.no, .everysec, .always])
        #expect(BenchmarkPlan.full.comebackKeys == 1_000_000)
        #expect(BenchmarkPlan.quick.durabilityPolicies == [.always])
        #expect(BenchmarkPlan.quick.comebackKeys == 2_000)
        #expect(BenchmarkPlan.quick.parts.contains(.durability))
    }

    @Test("--fsync picks the policies, --durability-keys the keys; unknown or empty policies are usage errors")
    func commandLine() throws {
        guard case .run(let options, _) = try BenchmarkCommandLine.parse(
            ["--quick", "--only", "durability", "--fsync", "no,always,no", "--durability-keys", "500"])
        else {
            Issue.record("expected a run")
            return
        }
        #expect(options.plan.parts == [.durability])
        #expect(options.plan.durabilityPolicies == [.no, .always])
        #expect(options.plan.comebackKeys == 500)
        #expect(throws: BenchmarkCommandLine.UsageError.self) {
            try BenchmarkCommandLine.parse(["--fsync", "sometimes"])
        }
        #expect(throws: BenchmarkCommandLine.UsageError.self) { try BenchmarkCommandLine.parse(["--fsync", ","]) }
        #expect(throws: BenchmarkCommandLine.UsageError.self) {
            try BenchmarkCommandLine.parse(["--durability-keys", "0"])
        }
    }
}

@Suite("Data directories")
struct DataDirectoryTests {
    @Test("the file system is the one mounted at the longest leading part of the path, the later mount of a point")
    func fileSystemFromMounts() {
        let mounts = """
            /dev/vda / ext4 rw,relatime 0 0
            tmpfs /tmp tmpfs rw 0 0
            /dev/vdb /tmpdata xfs rw 0 0
            overlay / overlay rw 0 0
            /dev/vdc /mnt/my\\040disk btrfs rw 0 0
            """
        #expect(TextFile.fileSystemType(of: "/tmp/x/y", mounts: mounts) == "tmpfs")
        #expect(TextFile.fileSystemType(of: "/tmp", mounts: mounts) == "tmpfs")
        #expect(TextFile.fileSystemType(of: "/tmpdata/a", mounts: mounts) == "xfs")
        #expect(TextFile.fileSystemType(of: "/tmpx", mounts: mounts) == "overlay")
        #expect(TextFile.fileSystemType(of: "/mnt/my disk/f", mounts: mounts) == "btrfs")
        #expect(TextFile.fileSystemType(of: "/x", mounts: "") == nil)
    }

    @Test("a tree's bytes are the sizes of its regular files, in every subdirectory")
    func treeBytes() throws {
        let directory = try TextFile.makeTemporaryDirectory(prefix: "lockstep-bench-test")
        defer { TextFile.removeTree(directory) }
        #expect(mkdir("\(directory)/sub", 0o755) == 0)
        try TextFile.write(String(repeating: "a", count: 1_000), to: "\(directory)/one")
        try TextFile.write(String(repeating: "b", count: 234), to: "\(directory)/sub/two")
        #expect(symlink("\(directory)/one", "\(directory)/link") == 0)
        #expect(TextFile.treeBytes(directory) == 1_234)
        #expect(TextFile.treeBytes("\(directory)/missing") == 0)
    }
}
