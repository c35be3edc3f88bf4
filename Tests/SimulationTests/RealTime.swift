import LogChannel

/// Sweeps over a history's instants, shared by the linearizability checkers. "Before" is strict: operations at the
/// same instant count as concurrent.
enum RealTime {
    /// For each query, the largest value among the events strictly before it (nil if none): one sort and a sweep.
    static func largestBefore(_ events: [(at: Instant, value: UInt64)], at queries: [Instant]) -> [UInt64?] {
        let sortedEvents = events.sorted { $0.at < $1.at }
        let order = queries.indices.sorted { queries[$0] < queries[$1] }
        var answers = [UInt64?](repeating: nil, count: queries.count)
        var next = 0
        var largest: UInt64?
        for query in order {
            while next < sortedEvents.count, sortedEvents[next].at < queries[query] {
                largest = max(largest ?? 0, sortedEvents[next].value)
                next += 1
            }
            answers[query] = largest
        }
        return answers
    }

    /// How many of `sorted` (ascending) are strictly before `instant`.
    static func count(_ sorted: [Instant], before instant: Instant) -> Int {
        var low = 0, high = sorted.count
        while low < high {
            let middle = (low + high) / 2
            if sorted[middle] < instant { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// How many of `sorted` (ascending) are at or before `instant`.
    static func count(_ sorted: [Instant], atOrBefore instant: Instant) -> Int {
        guard instant.nanoseconds < .max else { return sorted.count }
        return count(sorted, before: Instant(nanoseconds: instant.nanoseconds + 1))
    }

    /// After every instant of a run: where the final state stands in the history.
    static let end = Instant(nanoseconds: .max)
}
