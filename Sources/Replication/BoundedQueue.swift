/// A first-in, first-out queue with a fixed capacity.
///
/// Every queue in Lockstep has a named bound (STYLE 6); `append` reports whether the item fit and
/// the caller decides what "full" means (backpressure, rejection, disconnect). Amortised O(1).
public struct BoundedQueue<Element> {
    /// The most elements the queue holds at once; at least 1.
    public let capacity: Int
    /// Popped elements leave nil behind until compaction: moved out, not copied, so a popped log entry is neither
    /// retained again on its way out nor kept alive here.
    private var storage: [Element?] = []
    private var head = 0

    /// An empty queue holding at most `capacity` elements.
    public init(capacity: Int) {
        precondition(capacity > 0, "a queue that can hold nothing is a configuration bug")
        self.capacity = capacity
    }

    /// The elements queued.
    public var count: Int { storage.count - head }
    /// Whether nothing is queued.
    public var isEmpty: Bool { count == 0 }
    /// Whether `append` would refuse.
    public var isFull: Bool { count >= capacity }
    /// The oldest element, left in place; nil when empty.
    public var first: Element? { head < storage.count ? storage[head] : nil }

    /// Appends `element` unless the queue is full; returns whether it did.
    @discardableResult
    public mutating func append(_ element: consuming Element) -> Bool {
        guard !isFull else { return false }
        // Compacted here rather than in `popFirst`: a queue drained whole (a batch of replies released by one ack)
        // then has only dead places to drop, and no live element is moved twice.
        if head >= 64 && head * 2 >= storage.count { compact() }
        storage.append(element)
        return true
    }

    /// Removes and returns the oldest element; nil when empty.
    public mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head].take()
        head += 1
        return element
    }

    /// Drops the dead places before `head`, once at least half the storage is dead (so at most twice the elements
    /// queued plus a few are kept): the live elements are swapped to the front and the dead (nil) places popped off
    /// the end, where `removeFirst` would destroy each dead place through run-time type information.
    private mutating func compact() {
        let live = storage.count - head
        if live > 0 {
            storage.withUnsafeMutableBufferPointer { places in
                for index in 0..<live { places.swapAt(index, head + index) }
            }
        }
        while storage.count > live { _ = storage.popLast() }
        head = 0
    }

    /// Drops every element and keeps the storage for reuse.
    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}
