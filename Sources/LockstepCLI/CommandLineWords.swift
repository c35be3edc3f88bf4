/// Splits a typed command line into words as redis-cli does: spaces separate, "double quotes" allow `\n`, `\t`,
/// `\"`, `\\` and `\xHH` escapes, 'single quotes' only `\'`, and a closing quote must end its word.
enum CommandLineWords {
    /// A line that cannot be split.
    struct SyntaxError: Error, CustomStringConvertible {
        var description: String
    }

    static func split(_ line: String) throws(SyntaxError) -> [String] {
        var words: [String] = []
        var characters = Array(line.unicodeScalars)[...]
        while true {
            while let first = characters.first, first == " " || first == "\t" { characters.removeFirst() }
            guard let first = characters.first else { return words }
            var word = String.UnicodeScalarView()
            if first == "\"" || first == "'" {
                characters.removeFirst()
                var isClosed = false
                while let next = characters.popFirst() {
                    if next == first {
                        isClosed = true
                        break
                    }
                    guard next == "\\", let escaped = characters.popFirst() else {
                        word.append(next)
                        continue
                    }
                    if first == "'" {
                        if escaped != "'" { word.append("\\") }
                        word.append(escaped)
                        continue
                    }
                    switch escaped {
                    case "n": word.append("\n")
                    case "r": word.append("\r")
                    case "t": word.append("\t")
                    case "x":
                        let digits = String(String.UnicodeScalarView(characters.prefix(2)))
                        guard digits.count == 2, let value = UInt8(digits, radix: 16) else {
                            throw SyntaxError(description: "invalid \\x escape in \(line)")
                        }
                        characters.removeFirst(2)
                        word.append(Unicode.Scalar(value))
                    default: word.append(escaped)
                    }
                }
                guard isClosed else { throw SyntaxError(description: "unbalanced quotes in request") }
                if let after = characters.first, after != " ", after != "\t" {
                    throw SyntaxError(description: "a closing quote must be followed by a space")
                }
            } else {
                while let next = characters.first, next != " ", next != "\t" {
                    word.append(next)
                    characters.removeFirst()
                }
            }
            words.append(String(word))
        }
    }
}
