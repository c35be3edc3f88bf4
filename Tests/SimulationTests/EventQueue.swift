import LogChannel

/// The simulation's agenda: a binary min-heap ordered by time, ties by insertion number, so the
/// order of events (and therefore the trace) depends on the seed alone.
///
/// The keys live apart from the events so that comparing two entries reads two integers and copies no event.
struct EventQueue<Event> {
    private var keys: [(at: UInt64, order: UInt64)] = []
    private var events: [Event] = []
    private var inserted: UInt64 = 0

    var count: Int { events.count }

    mutating func push(_ event: Event, at time: Instant) {
        inserted += 1
        keys.append((time.nanoseconds, inserted))
        events.append(event)
        var child = keys.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard precedes(child, parent) else { break }
            swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest event if it is due no later than `end`.
    mutating func pop(notAfter end: Instant) -> (at: Instant, event: Event)? {
        guard let first = keys.first, first.at <= end.nanoseconds else { return nil }
        swapAt(0, keys.count - 1)
        keys.removeLast()
        let event = events.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < keys.count && precedes(left, smallest) { smallest = left }
            if right < keys.count && precedes(right, smallest) { smallest = right }
            if smallest == parent { break }
            swapAt(parent, smallest)
            parent = smallest
        }
        return (Instant(nanoseconds: first.at), event)
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        keys.swapAt(a, b)
        events.swapAt(a, b)
    }

    private func precedes(_ a: Int, _ b: Int) -> Bool {
        let left = keys[a], right = keys[b]
        return left.at < right.at || (left.at == right.at && left.order < right.order)
    }
}
