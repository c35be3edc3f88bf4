/// `BITOP`: bitwise AND, OR, XOR and NOT of string values, stored at a destination key.
extension KeyValueStore {
    /// `BITOP AND|OR|XOR|NOT destkey key...`: the length of the result, stored at `destkey` without a TTL; a missing
    /// source reads as empty, a shorter one as padded with zero bytes. An empty result deletes `destkey`. O(the
    /// sources' bytes), as in Redis.
    mutating func bitOperation(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let operation = arguments.bytes(at: 1)
        let combine: (UInt8, UInt8) -> UInt8
        let isNot = ASCII.equals(operation, "not")
        if ASCII.equals(operation, "and") {
            combine = { $0 & $1 }
        } else if ASCII.equals(operation, "or") {
            combine = { $0 | $1 }
        } else if ASCII.equals(operation, "xor") {
            combine = { $0 ^ $1 }
        } else if isNot {
            combine = { first, _ in first }
        } else {
            return Replies.syntaxError
        }
        if isNot && arguments.count != 4 { return Self.notNeedsOneSource }
        // Copied out: a later lookup may delete an expired key, which would otherwise copy the shard a value views.
        var sources: [[UInt8]] = []
        for position in 3..<arguments.count {
            switch liveValue(arguments.key(at: position), clock: clock) {
            case .value(let value): sources.append(Array(value))
            case .missing: sources.append([])
            case .wrongType: return Replies.wrongType
            }
        }
        let length = sources.map(\.count).max() ?? 0
        let destination = arguments.key(at: 2)
        guard length > 0 else {
            if remove(destination) { notify(.generic, "del", destination) }
            return Replies.zero
        }
        var result = [UInt8](repeating: 0, count: length)
        for index in 0..<length {
            var output = index < sources[0].count ? sources[0][index] : 0
            if isNot { output = ~output }
            for source in sources.dropFirst() { output = combine(output, index < source.count ? source[index] : 0) }
            result[index] = output
        }
        store(result[...], for: destination, expiresAtMilliseconds: nil)
        notify(.string, "set", destination)
        return RESPWriter.integer(Int64(length))
    }

    private static let notNeedsOneSource = RESPWriter.error("ERR BITOP NOT must be called with a single source key.")
}
