/// The requests waiting to be sent, oldest first, with cancellation by id.
///
/// Bounded by `pendingRequestsLimit` at submission (the core refuses more). Deadlines are the submission time plus
/// one fixed timeout, so the oldest request always expires first. A cancelled request leaves a tombstone that is
/// skipped when reached; tombstones are swept once they outnumber the live requests.
struct PendingRequests {
    private var entries: [PendingRequest] = []
    private var head = 0
    private var liveIDs: Set<RequestID> = []

    /// Live requests waiting.
    var count: Int { liveIDs.count }
    var isEmpty: Bool { liveIDs.isEmpty }

    /// The oldest live request, left in place.
    mutating func first() -> PendingRequest? {
        skipTombstones()
        return head < entries.count ? entries[head] : nil
    }

    mutating func append(_ request: PendingRequest) {
        entries.append(request)
        liveIDs.insert(request.id)
    }

    /// Removes and returns the oldest live request.
    mutating func popFirst() -> PendingRequest? {
        skipTombstones()
        guard head < entries.count else { return nil }
        let request = entries[head]
        head += 1
        liveIDs.remove(request.id)
        if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return request
    }

    /// Puts requests back before every waiting one, in the given order: those a lost session never applied, which
    /// were submitted before anything still waiting.
    mutating func prepend(_ requests: [PendingRequest]) {
        entries = requests + entries[head...].filter { liveIDs.contains($0.id) }
        head = 0
        for request in requests { liveIDs.insert(request.id) }
    }

    /// Removes request `id`; whether it was waiting.
    mutating func remove(_ id: RequestID) -> Bool {
        guard liveIDs.remove(id) != nil else { return false }
        if entries.count - head > 2 * liveIDs.count + 64 {
            entries = entries[head...].filter { liveIDs.contains($0.id) }
            head = 0
        }
        return true
    }

    /// Removes and returns every live request, oldest first.
    mutating func removeAll() -> [PendingRequest] {
        let live = entries[head...].filter { liveIDs.contains($0.id) }
        entries = []
        head = 0
        liveIDs = []
        return live
    }

    private mutating func skipTombstones() {
        while head < entries.count, !liveIDs.contains(entries[head].id) { head += 1 }
    }
}
