import Glibc
import Posix
import Testing

/// A backup that answers slowly: the primary must follow it down, keep its memory bounded, and give no
/// client an error (issue 7, "a slow backup").
@Suite("slow backup", .serialized)
struct SlowBackupTests {
    /// How long the channel holds every chunk each way while the backup is "slow".
    static let slowness = Duration.milliseconds(30)
    /// The primary's RSS may grow by at most this over the run: the unacked log is capped at 64 KiB here,
    /// so anything near this would be a leak or an unbounded queue, not the log.
    static let rssGrowthLimitBytes = 16 << 20

    @Test("a slow backup slows the primary down, its memory stays bounded, and no client sees an error")
    func slowBackup() throws {
        let cluster = try Cluster(
            label: "slow-backup",
            extraArguments: ["--unacked-entries", "256", "--unacked-bytes", "65536", "--replay-lag", "128"])
        defer { cluster.shutDown() }
        let (primary, _) = try cluster.waitForProtected(deadline: .seconds(15))
        guard let pid = cluster.nodes[primary].current?.pid else { throw HarnessError("no primary process") }
        let epochBefore = cluster.info(primary)?["lockstep_epoch"]

        // Given a pair under load at full speed,
        let run = try LoadRun("slow backup: channel delayed \(Self.slowness) each way for 2 s", cluster: cluster)
        try run.requireProgress(200)
        let rssBefore = Self.residentBytes(pid)
        let fastStart = run.workload.acknowledgedCount
        Posix.sleep(for: .seconds(1))
        let fast = run.workload.acknowledgedCount - fastStart

        // when the backup's acks come back slowly,
        for node in cluster.nodes { node.proxy.set(.delay(Self.slowness)) }
        let slowStart = run.workload.acknowledgedCount
        var peakRSS = rssBefore
        let end = Stopwatch.now + .seconds(2)
        while Stopwatch.now < end {
            peakRSS = max(peakRSS, Self.residentBytes(pid))
            Posix.sleep(for: .milliseconds(50))
        }
        let slow = (run.workload.acknowledgedCount - slowStart) / 2
        for node in cluster.nodes { node.proxy.set(.pass) }
        try run.requireProgress(100)
        let (report, _) = try run.finish()

        // then throughput follows the backup, memory stays bounded, no failover, no client error.
        print("slow backup: \(fast) acked/s at full speed, \(slow) acked/s with a \(Self.slowness) channel; primary RSS "
            + "\(rssBefore >> 10) KiB before, peak \(peakRSS >> 10) KiB")
        #expect(slow > 0, "the primary stopped instead of slowing down")
        #expect(slow < fast, "throughput did not follow the slow backup")
        #expect(peakRSS - rssBefore < Self.rssGrowthLimitBytes, "primary RSS grew by \((peakRSS - rssBefore) >> 10) KiB")
        #expect(report.failed == 0 && report.unknown == 0, "clients saw errors: \(report.failureReasons)")
        #expect(cluster.info(primary)?["lockstep_epoch"] == epochBefore, "a slow backup caused a failover")
    }

    /// VmRSS of `pid` in bytes, 0 if it cannot be read.
    static func residentBytes(_ pid: pid_t) -> Int {
        let status = FaultHarness.readFile("/proc/\(pid)/status")
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return kibibytes << 10
    }
}
