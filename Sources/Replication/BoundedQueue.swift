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
    public mutating func append(_ element: Element) -> Bool {
        guard !isFull else { return false }
        storage.append(element)
        return true
    }

    /// Removes and returns the oldest element; nil when empty.
    public mutating func popFirst() -> Element? {
        guard head < storage.count else { return nil }
        let element = storage[head].take()
        head += 1
        if head >= 64 && head * 2 >= storage.count {   // compact once half is dead space
            storage.removeFirst(head)
            head = 0
        }
        return element
    }

    /// Drops every element and keeps the storage for reuse.
    public mutating func removeAll() {
        storage.removeAll(keepingCapacity: true)
        head = 0
    }
}
