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

    @Test("an order of many pages: ranks, cursors and the order stay exact as pages split, merge and go")
    func manyPages() {
        var order = ScoreOrder()
        var model: [Int: Double] = [:]
        var generator = SplitMix64(seed: 11)
        func shuffled(_ count: Int) -> [Int] {
            var numbers = Array(0..<count)
            for index in stride(from: count - 1, to: 0, by: -1) {
                numbers.swapAt(index, Int(generator.next() % UInt64(index + 1)))
            }
            return numbers
        }
        func key(_ number: Int) -> ArraySlice<UInt8> { Array("m\(number)".utf8)[...] }
        func precedes(_ score: Double, _ member: ArraySlice<UInt8>, _ otherScore: Double, _ other: ArraySlice<UInt8>)
            -> Bool
        { score != otherScore ? score < otherScore : CollectionValue.compare(member, other) < 0 }
        func cursor(of number: Int, _ score: Double) -> ScoreOrder.Cursor {
            order.firstCursor { precedes($0, $1(), score, key(number)) }
        }
        func check(_ stage: String) {
            order.checkInvariants(precedes)
            let expected = model.sorted { precedes($0.value, key($0.key), $1.value, key($1.key)) }.map(\.key)
            #expect(order.count == expected.count, "\(stage)")
            var position = order.count == 0 ? order.end : order.cursor(ofRank: 0), rank = 0
            while order.isEntry(position), rank < expected.count {
                if rank % 997 == 0 {
                    #expect(order.rank(of: position) == rank, "\(stage) \(rank)")
                    #expect(order.cursor(ofRank: rank) == position, "\(stage) \(rank)")
                    #expect(order.member(at: position) == key(expected[rank]), "\(stage) \(rank)")
                    #expect(order.rank(of: cursor(of: expected[rank], model[expected[rank]]!)) == rank, "\(stage)")
                }
                position = order.next(position)
                rank += 1
            }
            #expect(rank == expected.count && position == order.end, "\(stage): the walk ended at \(rank)")
            #expect(order.rank(of: order.end) == order.count)
        }
        // Given 150,000 members in random order (scores with many ties), the order spans many pages;
        for number in shuffled(150_000) {
            let score = Double(number % 1_000)
            order.insert(score: score, member: key(number), at: cursor(of: number, score))
            model[number] = score
        }
        #expect(order.pageCount >= 4, "\(order.pageCount) pages")
        check("filled")
        // removing most of them merges chunks and pages; removing the rest empties it.
        for number in shuffled(150_000) {
            guard let score = model.removeValue(forKey: number) else { continue }
            order.remove(at: cursor(of: number, score))
            if model.count == 20_000 { check("thinned") }
        }
        #expect(order.pageCount == 0 && order.count == 0)
        check("emptied")
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
