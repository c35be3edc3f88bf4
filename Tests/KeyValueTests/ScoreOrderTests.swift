import Testing
@testable import KeyValue

/// The order of a large sorted set (many chunks, splitting and merging) against a plain sorted array as the model.
@Suite("a sorted set's order")
struct ScoreOrderTests {
    /// The model: (score, member) pairs sorted as Redis sorts them.
    static func sorted(_ scores: [String: Double]) -> [(member: String, score: Double)] {
        scores.map { ($0.key, $0.value) }.sorted {
            $0.1 != $1.1 ? $0.1 < $1.1 : CollectionValue.compare(Array($0.0.utf8)[...], Array($1.0.utf8)[...]) < 0
        }
    }

    @Test("inserts, score changes and removals over thousands of members keep ranks, ranges and the order exact")
    func matchesModel() {
        var set = CollectionValue(kind: .sortedSet)
        var model: [String: Double] = [:]
        var generator = SplitMix64(seed: 7)
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for step in 1...12_000 {
            let member = "member:\(pick(4_000))"
            if pick(4) == 0 {
                let removed = set.removeScored(Array(member.utf8)[...])
                #expect(removed == (model.removeValue(forKey: member) != nil))
            } else {
                let score = Double(pick(300)) / 4
                let added = set.setScore(score, of: Array(member.utf8)[...])
                #expect(added == (model[member] == nil))
                model[member] = score
            }
            guard step % 1_500 == 0 else { continue }
            let expected = Self.sorted(model)
            var actual: [(String, Double)] = []
            set.forEachScored(from: 0, count: set.count, isReversed: false) {
                actual.append((String(decoding: $0.member, as: UTF8.self), $0.score))
            }
            #expect(actual.map(\.0) == expected.map(\.member) && actual.map(\.1) == expected.map(\.score))
            for probe in 0..<50 {
                let member = "member:\(probe * 80)"
                let rank = expected.firstIndex { $0.member == member }
                #expect(set.rank(of: Array(member.utf8)[...], isReversed: false) == rank)
            }
            // Windows from every 7th rank, both ways: they start at chunk boundaries too.
            for first in stride(from: 0, to: expected.count, by: 7) {
                var window: [String] = [], reversedWindow: [String] = []
                let count = min(5, expected.count - first)
                set.forEachScored(from: first, count: count, isReversed: false) {
                    window.append(String(decoding: $0.member, as: UTF8.self))
                }
                set.forEachScored(from: first + count - 1, count: count, isReversed: true) {
                    reversedWindow.append(String(decoding: $0.member, as: UTF8.self))
                }
                #expect(window == expected[first..<(first + count)].map(\.member), "from rank \(first)")
                #expect(reversedWindow == window.reversed(), "down from rank \(first + count - 1)")
            }
            let low = Double(pick(300)) / 4, high = low + Double(pick(40)) / 4
            let range = SortedSetRange.score(
                min: .init(value: low, isExclusive: true), max: .init(value: high, isExclusive: false))
            #expect(range.ranks(in: set).count == expected.filter { $0.score > low && $0.score <= high }.count)
            set.checkInvariants()  // last: a broken order should fail the comparisons above first, not stop the run
        }
        #expect(set.count > 1_000, "the workload should have built many chunks")
    }

    @Test("long members end a chunk at its byte bound, and ranks and removals stay exact")
    func longMembers() {
        var set = CollectionValue(kind: .sortedSet)
        var model: [String: Double] = [:]
        var generator = SplitMix64(seed: 5)
        for index in 0..<600 {
            let member = String(repeating: "\(index % 10)", count: 1_000) + "\(index)"
            let score = Double(generator.next() % 50)
            set.setScore(score, of: Array(member.utf8)[...])
            model[member] = score
        }
        set.checkInvariants()
        let bytes = model.keys.reduce(0) { $0 + $1.utf8.count }
        #expect(set.order.chunkCount >= bytes / ScoreOrder.chunkBytesLimit, "chunks went past their byte bound")
        #expect(set.order.memberByteCount == bytes)
        for (member, _) in model where member.hasSuffix("7") {
            let removed = set.removeScored(Array(member.utf8)[...])
            #expect(removed)
            model[member] = nil
        }
        set.checkInvariants()
        var actual: [String] = []
        set.forEachScored(from: 0, count: set.count, isReversed: false) {
            actual.append(String(decoding: $0.member, as: UTF8.self))
        }
        #expect(actual == Self.sorted(model).map(\.member))
    }

    @Test("removing members empties the order and a later insertion starts a new one")
    func drainAndRefill() {
        var set = CollectionValue(kind: .sortedSet)
        for index in 0..<1_000 { set.setScore(Double(index % 7), of: Array("m\(index)".utf8)[...]) }
        for index in stride(from: 999, through: 0, by: -1) {
            let removed = set.removeScored(Array("m\(index)".utf8)[...])
            #expect(removed)
        }
        #expect(set.count == 0 && set.order.count == 0)
        set.setScore(1, of: Array("again".utf8)[...])
        set.checkInvariants()
        #expect(set.rank(of: Array("again".utf8)[...], isReversed: true) == 0)
    }
}
