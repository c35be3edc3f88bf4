import Testing

@testable import Replication

@Suite("bounded queue")
struct BoundedQueueTests {
    final class Payload {}

    @Test("first in, first out, and append refuses past the capacity")
    func fifoWithinCapacity() {
        var queue = BoundedQueue<Int>(capacity: 3)
        for value in 1...3 {
            let appended = queue.append(value)
            #expect(appended)
        }
        let appendedPastCapacity = queue.append(4)
        #expect(!appendedPastCapacity)
        #expect(queue.isFull)
        let first = queue.popFirst()
        #expect(first == 1)
        let appendedAfterPop = queue.append(4)
        #expect(appendedAfterPop)
        let rest = [queue.popFirst(), queue.popFirst(), queue.popFirst(), queue.popFirst()]
        #expect(rest == [2, 3, 4, nil])
        #expect(queue.isEmpty)
    }

    @Test("a popped element is not kept alive by the queue")
    func poppedElementIsReleased() {
        var queue = BoundedQueue<Payload>(capacity: 4)
        weak var popped: Payload?
        do {
            let payload = Payload()
            popped = payload
            queue.append(payload)
        }
        queue.append(Payload())
        _ = queue.popFirst()
        #expect(popped == nil)
        #expect(queue.count == 1)
    }

    @Test("order survives compaction of the dead space before the head")
    func orderSurvivesCompaction() {
        var queue = BoundedQueue<Int>(capacity: 1_000)
        var next = 0, expected = 0
        for _ in 0..<50 {
            for _ in 0..<30 {
                let appended = queue.append(next)
                #expect(appended)
                next += 1
            }
            for _ in 0..<25 {
                let value = queue.popFirst()
                #expect(value == expected)
                expected += 1
            }
        }
        while let value = queue.popFirst() {
            #expect(value == expected)
            expected += 1
        }
        #expect(expected == next)
    }
}
