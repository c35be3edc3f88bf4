/// A BY or GET pattern applied to one element, as Redis's `lookupKeyByPattern` reads it: `#` is the element itself;
/// otherwise the first `*` is replaced by the element, and a `->field` (non-empty) after that `*` names a hash field
/// of the key before it. A pattern without `*` names nothing.
enum SortPattern: Equatable {
    /// `#`: the element itself.
    case element
    /// No `*`: a constant names no value (GET answers nil).
    case nothing
    /// The value of a string key.
    case key([UInt8])
    /// The value of a field of a hash key.
    case field(key: [UInt8], field: [UInt8])

    /// What `pattern` names for `element`.
    init(_ pattern: [UInt8], element: [UInt8]) {
        if pattern == [UInt8(ascii: "#")] {
            self = .element
            return
        }
        guard let star = pattern.firstIndex(of: UInt8(ascii: "*")) else {
            self = .nothing
            return
        }
        var arrow: Int?
        var index = star + 1
        while index + 1 < pattern.count {
            if pattern[index] == UInt8(ascii: "-") && pattern[index + 1] == UInt8(ascii: ">") {
                arrow = index
                break
            }
            index += 1
        }
        // An arrow that ends the pattern names no field: it stays part of the key, as in Redis.
        if let found = arrow, found + 2 == pattern.count { arrow = nil }
        var key = Array(pattern[..<star])
        key.append(contentsOf: element)
        key.append(contentsOf: pattern[(star + 1)..<(arrow ?? pattern.count)])
        if let arrow {
            self = .field(key: key, field: Array(pattern[(arrow + 2)...]))
        } else {
            self = .key(key)
        }
    }
}
