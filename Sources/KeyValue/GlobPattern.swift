/// A Redis glob-style pattern, as `KEYS` and `CONFIG GET` take it: `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
///
/// Follows Redis's `stringmatchlen`, but matches with the classic single-backtrack loop instead of recursion,
/// so a hostile pattern such as `*a*a*a*a*b` costs O(pattern × string) rather than exponential time.
struct GlobPattern: Sendable {
    private enum Token: Sendable, Equatable {
        case literal(UInt8)
        case anyByte
        case anyBytes
        case set(ranges: [ClosedRange<UInt8>], isNegated: Bool)

        func matches(_ byte: UInt8) -> Bool {
            switch self {
            case .literal(let literal): literal == byte
            case .anyByte: true
            case .anyBytes: true
            case .set(let ranges, let isNegated): ranges.contains { $0.contains(byte) } != isNegated
            }
        }
    }

    private let tokens: [Token]

    init(_ pattern: [UInt8]) {
        var tokens: [Token] = []
        var index = 0
        while index < pattern.count {
            let byte = pattern[index]
            switch byte {
            case UInt8(ascii: "*"):
                if tokens.last != .anyBytes { tokens.append(.anyBytes) }
            case UInt8(ascii: "?"):
                tokens.append(.anyByte)
            case UInt8(ascii: "["):
                index += 1
                let isNegated = index < pattern.count && pattern[index] == UInt8(ascii: "^")
                if isNegated { index += 1 }
                var ranges: [ClosedRange<UInt8>] = []
                // An unterminated class runs to the end of the pattern, as in Redis.
                while index < pattern.count && pattern[index] != UInt8(ascii: "]") {
                    let current = pattern[index]
                    if current == UInt8(ascii: "\\") && index + 1 < pattern.count {
                        index += 1
                        ranges.append(pattern[index]...pattern[index])
                    } else if index + 2 < pattern.count && pattern[index + 1] == UInt8(ascii: "-") {
                        let (low, high) = (current, pattern[index + 2])
                        ranges.append(min(low, high)...max(low, high))
                        index += 2
                    } else {
                        ranges.append(current...current)
                    }
                    index += 1
                }
                tokens.append(.set(ranges: ranges, isNegated: isNegated))
            case UInt8(ascii: "\\") where index + 1 < pattern.count:
                index += 1
                tokens.append(.literal(pattern[index]))
            default:
                tokens.append(.literal(byte))
            }
            index += 1
        }
        self.tokens = tokens
    }

    /// Whether `string` matches the whole pattern.
    func matches(_ string: [UInt8]) -> Bool {
        matches(string[...])
    }

    /// Whether `string` (a stored key, say) matches the whole pattern.
    func matches(_ string: ArraySlice<UInt8>) -> Bool {
        let start = string.startIndex
        var token = 0, position = 0
        // Where the last `*` was and how much of the string it has swallowed so far.
        var starToken = -1, starPosition = 0
        while position < string.count {
            if token < tokens.count && tokens[token] == .anyBytes {
                starToken = token
                starPosition = position
                token += 1
            } else if token < tokens.count && tokens[token].matches(string[start + position]) {
                token += 1
                position += 1
            } else if starToken >= 0 {
                token = starToken + 1
                starPosition += 1
                position = starPosition
            } else {
                return false
            }
        }
        while token < tokens.count && tokens[token] == .anyBytes { token += 1 }
        return token == tokens.count
    }
}
