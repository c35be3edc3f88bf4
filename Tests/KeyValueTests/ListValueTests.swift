@testable import KeyValue
import Testing

/// `ListValue`: a ring of chunks that behaves as one deque, whose digest depends only on the elements in order, and
/// whose copies share every chunk a write does not touch.
@Suite("list values")
struct ListValueTests {
    private static func element(_ number: Int) -> [UInt8] { Array("e\(number)".utf8) }

    @Test("pushes, pops and replacements at both ends match a plain array across chunk boundaries and back")
    func matchesAnArray() {
        var list = ListValue(), model: [[UInt8]] = []
        var state: UInt64 = 0x1234_5678
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        var number = 0, sawChunks = 1
        // Phases that grow (to several chunks), shrink (back to one) and grow again, so the head wraps everywhere.
        for (steps, growth) in [(6_000, 3), (7_000, -3), (5_000, 2), (4_000, -2)] {
            for _ in 0..<steps {
                let roll = next(10)
                if !model.isEmpty && roll < 4 - growth / 2 {
                    if next(2) == 0 { #expect(list.popFront() == model.removeFirst()) } else {
                        #expect(list.popBack() == model.removeLast())
                    }
                } else if !model.isEmpty && roll == 9 {
                    let position = next(model.count)
                    number += 1
                    list.replace(at: position, with: Self.element(number))
                    model[position] = Self.element(number)
                } else {
                    number += 1
                    if next(2) == 0 {
                        list.pushFront(Self.element(number))
                        model.insert(Self.element(number), at: 0)
                    } else {
                        list.pushBack(Self.element(number))
                        model.append(Self.element(number))
                    }
                }
                sawChunks = max(sawChunks, list.chunkCount)
                if number % 97 == 0 { list.checkInvariants() }
            }
            list.checkInvariants()
            #expect(list.count == model.count)
            #expect(list.elements(0..<list.count) == model)
            #expect(list.digest == ListValue(model).digest, "the digest depends on the layout")
            #expect(list.byteCount == model.reduce(0) { $0 + $1.count })
        }
        #expect(sawChunks >= 4, "the list never grew past a few chunks")
        while model.count > 200 {
            #expect(list.popBack() == model.removeLast())
            #expect(list.popFront() == model.removeFirst())
        }
        list.checkInvariants()
        #expect(list.elements(0..<list.count) == model)
        #expect(list.chunkCount == 1, "a short list did not return to one chunk")
    }

    @Test("a write to a copy of a long list copies one chunk and the references, and leaves the original as it was")
    func copiesOneChunk() {
        var original = ListValue()
        for number in 0..<100_000 {
            if number % 3 == 0 {
                original.pushFront(Self.element(number))
            } else {
                original.pushBack(Self.element(number))
            }
        }
        let before = original.elements(0..<original.count)
        let chunksWithSlots = original.chunksShared(with: original)
        #expect(chunksWithSlots >= 98)
        var copy = original
        copy.pushFront(Self.element(-1))
        #expect(copy.chunksShared(with: original) == chunksWithSlots - 1)
        _ = copy.popBack()
        copy.replace(at: 50_000, with: Self.element(-2))
        #expect(copy.chunksShared(with: original) >= chunksWithSlots - 3)
        #expect(original.elements(0..<original.count) == before)
        copy.checkInvariants()
        original.checkInvariants()
    }

    @Test("a list holding more elements than a chunk holds grows by chunks of the limit's size")
    func growsByChunks() {
        var list = ListValue()
        for number in 0..<(ListValue.chunkSlotsLimit * 5) { list.pushBack(Self.element(number)) }
        #expect(list.chunkCount == 8)
        for _ in 0..<(ListValue.chunkSlotsLimit * 5 - 100) { _ = list.popFront() }
        #expect(list.chunkCount == 1)
        list.checkInvariants()
        #expect(list[0] == Self.element(ListValue.chunkSlotsLimit * 5 - 100))
    }
}
