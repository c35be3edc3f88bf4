extension Array {
    /// Removes every element and keeps the storage, for a list refilled again and again on a hot path.
    ///
    /// For the few elements such a list holds, this costs a fraction of `removeAll(keepingCapacity: true)`, whose
    /// general range replacement took about 450 instructions per call on an array of enums (Benchmarks/README.md).
    @inlinable
    public mutating func removeAllKeepingStorage() {
        while popLast() != nil {}
    }

    /// The element at `index`, moved out and replaced by `placeholder`: for a list of actions performed once and then
    /// emptied. Iterating copies each element, retaining every reference it holds, and emptying releases them again;
    /// taken, an element is neither copied nor released twice, and the emptying destroys only placeholders. A copy of
    /// an enum with a payload also goes through the runtime's generic tuple copy, about 150 instructions per frame
    /// sent (Benchmarks/README.md).
    @inlinable
    public mutating func take(at index: Int, leaving placeholder: Element) -> Element {
        var element = placeholder
        swap(&element, &self[index])
        return element
    }
}
