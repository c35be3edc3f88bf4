import Posix
import Testing

/// The checker must be able to fail: each test feeds it a synthetic history with one planted violation.
@Suite("fault checker")
struct CheckerTests {
    private static let start = ContinuousClock.now

    private func append(_ connection: Int, _ sequence: Int, key: Int, _ outcome: Operation.Outcome = .acknowledged,
                        node: Int = 0, at offset: Int = 0) -> Operation {
        let at = Self.start + .milliseconds(offset)
        return Operation(
            connection: connection, sequence: sequence, kind: .append(key: key, token: "\(connection)-\(sequence)"),
            node: node, sentAt: at, finishedAt: at + .milliseconds(1), outcome: outcome)
    }

    private func increment(_ connection: Int, _ sequence: Int, _ outcome: Operation.Outcome) -> Operation {
        Operation(
            connection: connection, sequence: sequence, kind: .increment(counter: 0), node: 0, sentAt: Self.start,
            finishedAt: Self.start, outcome: outcome)
    }

    private func state(_ key0: String?, counter: Int64? = nil) -> FinalState {
        FinalState(keys: [key0], counters: [counter], digests: [("a", "d1"), ("b", "d1")])
    }

    @Test("a clean history with an unknown write present or absent passes")
    func cleanHistoryPasses() {
        let history = [append(0, 1, key: 0), append(0, 2, key: 0, .unknown("closed")), append(1, 1, key: 0),
                       increment(1, 2, .acknowledged), increment(1, 3, .unknown("timeout"))]
        #expect(Checker.check(history: history, final: state("0-1,1-1,", counter: 1)).violations.isEmpty)
        #expect(Checker.check(history: history, final: state("0-1,0-2,1-1,", counter: 2)).violations.isEmpty)
    }

    @Test("a lost acknowledged write is reported")
    func lostAckIsReported() {
        let report = Checker.check(history: [append(0, 1, key: 0), append(0, 2, key: 0)], final: state("0-1,"))
        #expect(report.lostAcknowledged.count == 1)
        #expect(report.violations.first?.contains("0-2") == true)
    }

    @Test("a duplicate, a token never sent, a failed write present and a reordering are each reported")
    func corruptionsAreReported() {
        let history = [append(0, 1, key: 0), append(0, 2, key: 0), append(0, 3, key: 0, .failed("READONLY"))]
        #expect(Checker.check(history: history, final: state("0-1,0-2,0-2,")).duplicates.count == 1)
        #expect(Checker.check(history: history, final: state("0-1,0-2,9-9,")).neverSent.count == 1)
        #expect(Checker.check(history: history, final: state("0-1,0-2,0-3,")).neverSent.count == 1)
        #expect(Checker.check(history: history, final: state("0-2,0-1,")).orderViolations.count == 1)
    }

    @Test("counters outside [acknowledged, attempted] and differing digests are reported")
    func countersAndDigests() {
        let history = [increment(0, 1, .acknowledged), increment(0, 2, .unknown("closed")),
                       increment(0, 3, .failed("TRYAGAIN"))]
        #expect(Checker.check(history: history, final: state(nil, counter: 0)).counterViolations.count == 1)
        #expect(Checker.check(history: history, final: state(nil, counter: 3)).counterViolations.count == 1)
        #expect(Checker.check(history: history, final: state(nil, counter: 2)).violations.isEmpty)
        var differing = state(nil, counter: 1)
        differing.digests = [("a", "d1"), ("b", "d2")]
        #expect(Checker.check(history: history, final: differing).digestViolations.count == 1)
    }

    @Test("a lower-epoch master acking a write sent after the higher epoch took over is split brain")
    func splitBrainIsReported() {
        let view = { (epoch: Int, offset: Int) in
            RoleView(isMaster: true, epoch: epoch, role: "primary", answeredAt: Self.start + .milliseconds(offset))
        }
        let samples = [RoleSample(startedAt: Self.start, views: [view(1, 1), view(2, 2)]),
                       RoleSample(startedAt: Self.start + .milliseconds(40), views: [view(1, 41), view(2, 42)])]
        let late = append(0, 1, key: 0, node: 0, at: 10)
        let report = Checker.check(history: [late], final: state("0-1,"), samples: samples)
        #expect(report.splitBrain.count >= 1)
        let early = append(0, 1, key: 0, node: 0, at: -10)
        #expect(Checker.check(history: [early], final: state("0-1,"), samples: samples).splitBrain.isEmpty)
    }

    @Test("the unavailability window runs from the fault to the first ack on another node")
    func unavailabilityWindow() {
        let history = [append(0, 1, key: 0, node: 0, at: 0), append(0, 2, key: 0, node: 0, at: 10),
                       append(0, 3, key: 0, node: 1, at: 300)]
        let fault = FaultMark(label: "kill", at: Self.start + .milliseconds(5), formerPrimary: 0)
        let report = Checker.check(history: history, final: state("0-1,0-2,0-3,"), faults: [fault])
        #expect(report.unavailability.first?.window == .milliseconds(296))
        print(report)
    }
}
