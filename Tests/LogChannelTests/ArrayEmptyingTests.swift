import Testing

@testable import LogChannel

@Suite("Array helpers for action lists")
struct ArrayEmptyingTests {
    final class Payload {
        let name: String
        init(_ name: String) { self.name = name }
    }

    @Test("take(at:leaving:) moves the element out and leaves the placeholder in its place")
    func takeMovesOut() {
        let placeholder = Payload("placeholder")
        var list = [Payload("a"), Payload("b"), Payload("c")]
        var taken = list.take(at: 1, leaving: placeholder)
        #expect(taken.name == "b")
        #expect(list.map(\.name) == ["a", "placeholder", "c"])
        // Moved, not copied: the list no longer holds it, so this is its only reference.
        #expect(isKnownUniquelyReferenced(&taken))
    }

    @Test("removeAllKeepingStorage empties the list and keeps its capacity")
    func emptyingKeepsStorage() {
        var list = Array(0..<100)
        let capacity = list.capacity
        list.removeAllKeepingStorage()
        #expect(list.isEmpty)
        #expect(list.capacity == capacity)
    }
}
