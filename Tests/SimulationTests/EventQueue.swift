import LogChannel

/// The simulation's agenda: a binary min-heap ordered by time, ties by insertion number, so the
/// order of events (and therefore the trace) depends on the seed alone.
struct EventQueue<Event> {
    private var heap: [(at: Instant, order: UInt64, event: Event)] = []
    private var inserted: UInt64 = 0

    var count: Int { heap.count }

    mutating func push(_ event: Event, at time: Instant) {
        inserted += 1
        heap.append((time, inserted, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest event if it is due no later than `end`.
    mutating func pop(notAfter end: Instant) -> (at: Instant, event: Event)? {
        guard let first = heap.first, first.at <= end else { return nil }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count && precedes(left, smallest) { smallest = left }
            if right < heap.count && precedes(right, smallest) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.at, first.event)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        (heap[a].at, heap[a].order) < (heap[b].at, heap[b].order)
    }
}
