import Testing

@testable import BenchmarkKit

@Suite("Round order")
struct RoundOrderTests {
    static let groups: [CaseGroup] = [.floors, .lockstep, .redis]

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
