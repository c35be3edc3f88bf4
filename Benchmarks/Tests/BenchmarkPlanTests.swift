import Testing

@testable import BenchmarkKit

@Suite("Round order")
struct RoundOrderTests {
    static let groups = CaseGroup.allCases

    @Test("a round runs every case once, in ascending connection counts")
    func everyCaseOnceByConnections() {
        let plan = BenchmarkPlan.full
        for round in 0..<3 {
            let order = plan.roundOrder(of: Self.groups, round: round)
            #expect(order.map(\.key).sorted() == plan.allCases.map(\.key).sorted())
            #expect(order.map(\.connections) == order.map(\.connections).sorted())
        }
    }

    @Test("each ratio's two cases run with at most the other cases of their connection count between them")
    func ratioCasesRunClose() throws {
        let plan = BenchmarkPlan.full
        let order = plan.roundOrder(of: Self.groups, round: 0)
        for ratio in RatioDefinition.standard {
            let numerator = try #require(order.firstIndex { $0.key == ratio.numerator.caseKey })
            let denominator = try #require(order.firstIndex { $0.key == ratio.denominator.caseKey })
            let between = order[min(numerator, denominator)...max(numerator, denominator)]
            #expect(Set(between.map(\.connections)).count == 1, "\(ratio.title): \(between.map(\.key))")
        }
    }

    @Test("each exactly-once comparison's two cases run with only cases of their connection count between them")
    func sessionComparisonsRunClose() throws {
        for plan in [BenchmarkPlan.quick, .full] {
            let order = plan.roundOrder(of: Self.groups, round: 1)
            for comparison in plan.sessionComparisons {
                let baseline = try #require(order.firstIndex { $0.key == comparison.baselineKey })
                let session = try #require(order.firstIndex { $0.key == comparison.sessionKey })
                let between = order[min(baseline, session)...max(baseline, session)]
                #expect(Set(between.map(\.connections)).count == 1, "\(comparison.title): \(between.map(\.key))")
            }
        }
    }

    @Test("at each connection count the groups take turns going first")
    func groupsRotate() {
        let plan = BenchmarkPlan.full
        let firstAt64 = (0..<3).map { round in
            plan.roundOrder(of: Self.groups, round: round).first { $0.connections == 64 }?.group
        }
        #expect(firstAt64 == [.floors, .lockstep, .redis])
        let withoutFloors = plan.roundOrder(of: [.lockstep, .redis], round: 1)
        #expect(withoutFloors.first { $0.connections == 64 }?.group == .redis)
        #expect(!withoutFloors.contains { $0.group == .floors })
    }
}

@Suite("Sessions group")
struct SessionsPlanTests {
    @Test("both profiles set SESSION EXEC SET beside plain SET at 1 and 64 connections, and the library at 64 in flight")
    func casesBesideTheirTwins() throws {
        for plan in [BenchmarkPlan.quick, .full] {
            let cases = Dictionary(uniqueKeysWithValues: plan.cases(in: .sessions).map { ($0.key, $0) })
            for connections in [1, 64] {
                let plain = try #require(cases[BenchmarkPlan.plainSetCaseKey(connections: connections)])
                let session = try #require(cases[BenchmarkPlan.sessionSetCaseKey(connections: connections)])
                #expect(plan.workload(for: plain) == .set(keyspace: plan.keyspace, valueBytes: plan.valueBytes))
                #expect(plan.workload(for: session) == .sessionSet(keyspace: plan.keyspace, valueBytes: plan.valueBytes))
                #expect(plain.pipelineDepth == 1 && session.pipelineDepth == 1)
                #expect(plain.connections == connections && session.connections == connections)
            }
            let library = try #require(cases[BenchmarkPlan.clientLibraryCaseKey(tasks: 64)])
            #expect(BenchmarkPlan.isClientLibraryCase(library))
            #expect(library.connections == 1 && library.pipelineDepth == 64)
            let pipelined = try #require(cases[BenchmarkPlan.plainSetCaseKey(connections: 1, depth: 64)])
            #expect(pipelined.connections == 1 && pipelined.pipelineDepth == 64)
            #expect(plan.parts.contains(.sessions))
        }
    }

    @Test("every comparison names two cases of the group, the exactly-once one on top")
    func comparisonsNameRealCases() {
        let plan = BenchmarkPlan.full
        let keys = Set(plan.cases(in: .sessions).map(\.key))
        #expect(plan.sessionComparisons.count == 5)
        for comparison in plan.sessionComparisons {
            #expect(keys.contains(comparison.baselineKey) && keys.contains(comparison.sessionKey))
            let ratio = comparison.ratio(.p99)
            #expect(ratio.numerator.caseKey == comparison.sessionKey && ratio.target == nil)
        }
    }

    @Test("without in-flight requests the group has only the unpipelined pairs")
    func noInFlightCases() {
        var plan = BenchmarkPlan.quick
        plan.sessionRequestsInFlight = nil
        #expect(plan.cases(in: .sessions).allSatisfy { $0.pipelineDepth == 1 })
        #expect(plan.sessionComparisons.count == 2)
    }
}
