extension Array {
    /// Removes every element and keeps the storage, for a list refilled again and again on a hot path.
    ///
    /// For the few elements such a list holds, popping them costs a fraction of `removeAll(keepingCapacity: true)`,
    /// which goes through general range replacement (measured in Benchmarks/README.md).
    @inlinable
    public mutating func removeAllKeepingStorage() {
        while popLast() != nil {}
    }

    /// The element at `index`, moved out and replaced by `placeholder`.
    ///
    /// For a list of actions performed once and then emptied. Iterating copies each element, retaining every
    /// reference it holds, and emptying releases them again; taken, an element is neither copied nor released twice,
    /// and the emptying destroys only placeholders. A copy of an enum with a payload also goes through the runtime's
    /// generic tuple copy, which taking avoids on every frame sent (measured in Benchmarks/README.md).
    @inlinable
    public mutating func take(at index: Int, leaving placeholder: Element) -> Element {
        var element = placeholder
        swap(&element, &self[index])
        return element
    }
}
