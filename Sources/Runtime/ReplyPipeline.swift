import LogChannel

/// One client connection's replies in request order: a slot per request, filled in any order, leaving in order.
///
/// A client that pipelines `SET` then `PING` must read the `SET`'s reply first, although the `PING` is answered
/// at once and the `SET` only when the backup acks its entry (the output rule). So every request takes a slot when
/// it is parsed; local answers fill theirs immediately, replicated ones when the core releases (or rejects) their
/// tag, and `drainFilled` hands over the filled prefix. At most `capacity` slots: a client with that many requests
/// in flight is not read until replies drain.
struct ReplyPipeline {
    private struct Slot {
        /// The core's tag for a replicated request; 0 for a request answered locally.
        var tag: UInt64
        var reply: ArraySlice<UInt8>?
    }

    let capacity: Int
    private var slots: [Slot] = []
    private var head = 0
    /// Where the search for the next tag to fill starts: the core releases in log order, which for one connection
    /// is request order, so a fill normally lands exactly here and the search is O(1).
    private var fillCursor = 0
    /// Replicated requests handed to the core whose reply has not come back.
    private(set) var awaitingCount = 0

    init(capacity: Int) {
        precondition(capacity > 0, "a connection must be allowed at least one request in flight")
        self.capacity = capacity
    }

    var count: Int { slots.count - head }
    var isEmpty: Bool { count == 0 }
    var isFull: Bool { count >= capacity }

    /// Takes a slot already holding its reply.
    mutating func appendFilled(_ reply: [UInt8]) {
        precondition(!isFull, "a slot past the pipeline's capacity: the caller checks isFull first")
        slots.append(Slot(tag: 0, reply: reply[...]))
    }

    /// Takes a slot to be filled later by `fill(tag:with:)`; `tag` must not be 0.
    mutating func appendAwaiting(tag: UInt64) {
        precondition(!isFull, "a slot past the pipeline's capacity: the caller checks isFull first")
        precondition(tag != 0, "tag 0 marks local replies")
        slots.append(Slot(tag: tag, reply: nil))
        awaitingCount += 1
    }

    /// Fills the slot waiting for `tag`; false if no slot waits for it (its connection was replaced, say).
    @discardableResult
    mutating func fill(tag: UInt64, with reply: consuming ArraySlice<UInt8>) -> Bool {
        guard let index = index(awaiting: tag) else { return false }
        slots[index].reply = reply
        awaitingCount -= 1
        fillCursor = index + 1
        return true
    }

    /// Passes each reply of the filled prefix to `body`, in order, and frees those slots.
    mutating func drainFilled(_ body: (ArraySlice<UInt8>) -> Void) {
        // Each reply is moved out of its slot, so emptying the slots releases nothing.
        while head < slots.count, let reply = slots[head].reply.take() {
            body(reply)
            head += 1
        }
        if head == slots.count {
            // Popped rather than `removeAll(keepingCapacity:)`, whose general path destroys each slot through run-time
            // type information.
            if slots.capacity <= 2 * capacity { slots.removeAllKeepingStorage() } else { slots = [] }
            head = 0
            fillCursor = 0
        } else if head >= 64, head * 2 >= slots.count {
            slots.removeSubrange(0..<head)
            fillCursor = max(0, fillCursor - head)
            head = 0
        }
    }

    private func index(awaiting tag: UInt64) -> Int? {
        let start = max(head, min(fillCursor, slots.count))
        for index in start..<slots.count where slots[index].tag == tag && slots[index].reply == nil {
            return index
        }
        for index in head..<start where slots[index].tag == tag && slots[index].reply == nil {
            return index
        }
        return nil
    }
}
