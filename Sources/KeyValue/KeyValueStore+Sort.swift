/// SORT and SORT_RO: the elements of a list, set or sorted set sorted (numerically, or as bytes with ALPHA), by
/// themselves or by the values a BY pattern names, limited, mapped through GET patterns, and returned or stored as a
/// list (Redis 7.0's `sort.c`).
///
/// A SORT costs O(N log N) in its collection's size N, plus a lookup per element for BY and per element and GET
/// pattern: the command's own cost, as LRANGE 0 -1 is, never the whole store's. Its arrays hold each element (and
/// each GET value) once, bounded by the collection and the request as LRANGE's reply is.
///
/// Both nodes sort alike: the elements are loaded in the collection's replicated order (a set's is its insertion
/// order with swap-remove, the same on every node), and the comparison is total. Equal weights fall back to
/// comparing the elements, as Redis does; equal ALPHA BY values, which Redis leaves to `qsort`, keep the loaded
/// order, as glibc's merge sort keeps them for Redis.
extension KeyValueStore {
    /// `SORT key ...` (`isReadOnly` false) or `SORT_RO key ...`: an array of elements (or of GET's values, nil for
    /// what is missing), or with STORE the stored list's length.
    mutating func sort(_ arguments: CommandArguments, isReadOnly: Bool, clock: Clock) -> [UInt8] {
        var request: SortRequest
        do {
            request = try SortRequest(arguments, isReadOnly: isReadOnly)
        } catch {
            return error.reply
        }
        guard let loaded = sortedElements(arguments.key(at: 1), clock: clock) else { return Replies.wrongType }
        var elements = loaded.elements
        let kind = loaded.kind
        var isUnsorted = request.isUnsorted
        // Redis sorts a set even under a constant BY when the result is stored, so that what the log replays (and a
        // replica stores) does not hang on a set's iteration order.
        if isUnsorted && kind == .set && request.destination != nil {
            (isUnsorted, request.isAlpha, request.weightPattern) = (false, true, nil)
        }
        // A constant BY keeps a list's or sorted set's own order, read from the tail with DESC; a set's is kept as is.
        if isUnsorted && kind != .set && request.isDescending { elements.reverse() }
        if !isUnsorted {
            guard let sorted = sortByWeight(elements, request, clock: clock) else { return Self.notDouble }
            elements = sorted
        }
        let selected = elements[request.range(count: elements.count)]
        guard let destination = request.destination else {
            var writer = RESPWriter()
            writer.appendArrayHeader(count: selected.count * max(1, request.getPatterns.count))
            for element in selected {
                guard !request.getPatterns.isEmpty else {
                    writer.appendBulk(element)
                    continue
                }
                for pattern in request.getPatterns {
                    if let value = patternValue(pattern, element, clock: clock) {
                        writer.appendBulk(value)
                    } else {
                        writer.appendNullBulk()
                    }
                }
            }
            return writer.bytes
        }
        var list = CollectionValue(kind: .list)
        for element in selected {
            guard !request.getPatterns.isEmpty else {
                list.elements.pushBack(element)
                continue
            }
            // A missing value is stored as an empty string, as Redis does.
            for pattern in request.getPatterns {
                list.elements.pushBack(patternValue(pattern, element, clock: clock) ?? [])
            }
        }
        // Overwrites whatever the destination held, TTL included; an empty result deletes it. Through the storage
        // primitives, so a watch on the destination is spoiled and its blocked pops are served.
        let existed = replace(destination, with: list)
        if list.count > 0 {
            notify(.list, "sortstore", destination)
        } else if existed {
            notify(.generic, "del", destination)
        }
        return RESPWriter.integer(Int64(list.count))
    }

    /// The elements of the list, set or sorted set at `key` in its own order (a missing key is an empty list), with
    /// its kind; nil for a string or hash.
    private mutating func sortedElements(_ key: StoreKey, clock: Clock) -> (elements: [[UInt8]], kind: ValueKind)? {
        guard let kind = liveKind(key, clock: clock) else { return ([], .list) }
        guard kind == .list || kind == .set || kind == .sortedSet,
            case .found(let collection) = liveCollection(key, kind, clock: clock)
        else { return nil }
        switch kind {
        case .list: return (collection.elements.elements(0..<collection.count), kind)
        case .set:
            return (collection.members.map { Array($0.field) }, kind)
        default:
            var members: [[UInt8]] = []
            members.reserveCapacity(collection.count)
            var cursor = collection.order.cursor(ofRank: 0)
            while collection.order.isEntry(cursor) {
                members.append(Array(collection.scored(at: cursor).member))
                cursor = collection.order.next(cursor)
            }
            return (members, kind)
        }
    }

    /// `elements` sorted as `request` says (by themselves or BY's values, as doubles or with ALPHA as bytes, DESC
    /// reversing), or nil when a numeric weight is not a double. Every BY lookup is made before answering, as in
    /// Redis, so the keys it finds expired are deleted on both nodes alike.
    private mutating func sortByWeight(_ elements: [[UInt8]], _ request: SortRequest, clock: Clock) -> [[UInt8]]? {
        // The weight of each element: what BY names (nil when missing), or the element itself.
        var weights: [[UInt8]?] = elements
        if let pattern = request.weightPattern {
            for index in elements.indices { weights[index] = patternValue(pattern, elements[index], clock: clock) }
        }
        let sign = request.isDescending ? -1 : 1
        var order = Array(elements.indices)
        if request.isAlpha {
            let byPattern = request.weightPattern != nil
            order.sort { left, right in
                // Without BY the elements are compared; with BY their values, a missing one first.
                let comparison =
                    switch (weights[left], weights[right]) {
                    case (nil, nil): 0
                    case (nil, _): -1
                    case (_, nil): 1
                    case (let leftWeight?, let rightWeight?): Self.compareBytes(leftWeight, rightWeight)
                    }
                if comparison != 0 { return comparison * sign < 0 }
                return byPattern ? left < right : false
            }
            return order.map { elements[$0] }
        }
        var scores: [Double] = []
        scores.reserveCapacity(elements.count)
        var isConvertible = true
        for weight in weights {
            // A missing BY value weighs 0.
            guard let weight else {
                scores.append(0)
                continue
            }
            guard let score = Score.parseWeight(weight[...]) else {
                isConvertible = false
                scores.append(0)
                continue
            }
            scores.append(score)
        }
        guard isConvertible else { return nil }
        order.sort { left, right in
            let comparison =
                scores[left] > scores[right]
                ? 1 : scores[left] < scores[right] ? -1 : Self.compareBytes(elements[left], elements[right])
            return comparison * sign < 0
        }
        return order.map { elements[$0] }
    }

    /// What `pattern` names for `element` (`SortPattern`): the element, a string key's value or a hash field's value;
    /// nil for a missing key or field, a key of another kind, or a pattern without `*`.
    private mutating func patternValue(_ pattern: [UInt8], _ element: [UInt8], clock: Clock) -> [UInt8]? {
        switch SortPattern(pattern, element: element) {
        case .element: return element
        case .nothing: return nil
        case .key(let key):
            guard case .value(let value) = liveValue(StoreKey(key), clock: clock) else { return nil }
            return Array(value)
        case .field(let key, let field):
            guard case .found(let hash) = liveCollection(StoreKey(key), .hash, clock: clock) else { return nil }
            return hash.members.value(ofMember: field[...]).map(Array.init)
        }
    }

    /// Redis's `compareStringObjects`: bytewise, a prefix first; -1, 0 or 1.
    private static func compareBytes(_ left: [UInt8], _ right: [UInt8]) -> Int {
        left == right ? 0 : left.lexicographicallyPrecedes(right) ? -1 : 1
    }

    private static let notDouble = RESPWriter.error("ERR One or more scores can't be converted into double")
}
