import Glibc
import Posix
import Testing

/// A cluster under the workload with the role monitor watching: start, inject faults (recording each), then
/// `finish` stops the load, reads the final state, checks it and prints the summary table.
final class LoadRun: @unchecked Sendable {
    let title: String
    let cluster: Cluster
    let shape: WorkloadShape
    let workload: Workload
    let monitor: RoleMonitor
    private(set) var faults: [FaultMark] = []

    init(_ title: String, cluster: Cluster, shape: WorkloadShape = WorkloadShape()) throws {
        self.title = title
        self.cluster = cluster
        self.shape = shape
        monitor = try RoleMonitor(addresses: cluster.clients)
        workload = try Workload(addresses: cluster.clients, shape: shape)
    }

    /// Notes a failover the test is about to cause (call just before the fault).
    func markFault(_ label: String, formerPrimary: Int?) {
        faults.append(FaultMark(label: label, at: Stopwatch.now, formerPrimary: formerPrimary))
    }

    /// Waits until the workload has an acknowledged write that was sent after the last fault to a node other
    /// than the former primary: the failover is over. Throws with the evidence otherwise.
    func waitForRecovery(deadline: Duration) throws {
        guard let fault = faults.last else { return }
        let isRecovered = FaultHarness.waitUntil(deadline) {
            workload.history().contains {
                $0.outcome == .acknowledged && $0.sentAt >= fault.at && $0.node != fault.formerPrimary
            }
        }
        guard isRecovered else {
            throw HarnessError("no write acknowledged within \(deadline) after \(fault.label)\n"
                + "\(cluster.statusText())\n\(cluster.logTails())")
        }
    }

    /// Requires `count` more acknowledged writes within `deadline`.
    func requireProgress(_ count: Int, deadline: Duration = .seconds(15)) throws {
        guard workload.waitForProgress(count, deadline: deadline) else {
            throw HarnessError("fewer than \(count) writes acknowledged in \(deadline)\n\(cluster.statusText())\n"
                + "\(cluster.logTails())")
        }
    }

    /// Stops the load, waits for a quiet protected pair, checks history and state, prints the table and records
    /// every violation as a test issue. Returns the report for test-specific checks.
    @discardableResult
    func finish(sourceLocation: SourceLocation = #_sourceLocation) throws -> (CheckReport, [Operation]) {
        let history = workload.stop()
        let samples = monitor.stop()
        _ = try? cluster.waitForProtected(deadline: .seconds(15))  // the digest check reports a missing backup
        let final = try cluster.finalState(shape: shape)
        let report = Checker.check(history: history, final: final, samples: samples, faults: faults)
        print("=== \(title) ===\n\(report)\n")
        #expect(report.violations.isEmpty,
            "\(title): \(report.violations.joined(separator: "\n"))\n\(cluster.statusText())\n\(cluster.logTails())",
            sourceLocation: sourceLocation)
        return (report, history)
    }
}
