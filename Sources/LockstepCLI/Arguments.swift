import Posix

/// A subcommand's command line, split into flag values, switches and positional words, checked against what the
/// subcommand accepts.
///
/// Hand-written on purpose (the package has no dependencies). Accepts `--flag value` and `--flag=value`; `--`
/// ends the flags. Unknown flags, repeated flags and missing values are usage errors that name the flag, so a
/// typo never silently falls back to a default.
struct Arguments {
    /// The subcommand, for error messages (`"node"`, `"arbiter reset"`).
    let command: String
    private(set) var values: [String: String] = [:]
    private(set) var switches: Set<String> = []
    private(set) var positionals: [String] = []

    /// Parses `words`. `valued` are the flags that take a value, `switches` those that do not; `--help` and `-h`
    /// are always switches (`"--help"`).
    init(
        _ words: [String], command: String, valued: Set<String>, switches allowedSwitches: Set<String> = [],
        allowsPositionals: Bool = false
    ) throws(CommandError) {
        self.command = command
        var index = 0
        var isPastFlags = false
        while index < words.count {
            let word = words[index]
            index += 1
            if isPastFlags || !word.hasPrefix("-") || word == "-" {
                guard allowsPositionals else {
                    throw .usage("unexpected argument \"\(word)\"; flags start with --")
                }
                positionals.append(word)
                continue
            }
            if word == "--" {
                isPastFlags = true
                continue
            }
            if word == "-h" || word == "--help" {
                switches.insert("--help")
                continue
            }
            var name = word
            var inlineValue: String?
            if let equals = word.firstIndex(of: "=") {
                name = String(word[..<equals])
                inlineValue = String(word[word.index(after: equals)...])
            }
            if valued.contains(name) {
                guard values[name] == nil else { throw .usage("\(name) is given twice") }
                if let inlineValue {
                    values[name] = inlineValue
                } else {
                    guard index < words.count, !words[index].hasPrefix("--") else {
                        throw .usage("\(name) needs a value")
                    }
                    values[name] = words[index]
                    index += 1
                }
            } else if allowedSwitches.contains(name) {
                guard inlineValue == nil else { throw .usage("\(name) takes no value") }
                guard !switches.contains(name) else { throw .usage("\(name) is given twice") }
                switches.insert(name)
            } else {
                throw .usage("unknown flag \(name)")
            }
        }
    }

    /// Whether `--help` (or `-h`) was given: the caller prints help and ignores everything else.
    var wantsHelp: Bool { switches.contains("--help") }

    func contains(_ flag: String) -> Bool { switches.contains(flag) || values[flag] != nil }

    func string(_ flag: String) -> String? { values[flag] }

    func required(_ flag: String) throws(CommandError) -> String {
        guard let value = values[flag] else { throw .usage("\(flag) is required") }
        guard !value.isEmpty else { throw .usage("\(flag) must not be empty") }
        return value
    }

    /// A `HOST:PORT` value, or nil when the flag is absent.
    func address(_ flag: String) throws(CommandError) -> SocketAddress? {
        guard let text = values[flag] else { return nil }
        return try Self.address(text, flag: flag)
    }

    static func address(_ text: String, flag: String) throws(CommandError) -> SocketAddress {
        do {
            return try SocketAddress(parsing: text)
        } catch {
            throw .usage("\(flag): \(error)")
        }
    }

    /// A whole number in `range`, or `defaultValue` when the flag is absent.
    func integer(_ flag: String, default defaultValue: Int, in range: ClosedRange<Int>) throws(CommandError) -> Int {
        guard let text = values[flag] else { return defaultValue }
        guard let value = Int(text), range.contains(value) else {
            throw .usage(
                "\(flag) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text)\"")
        }
        return value
    }

    /// A duration written in whole milliseconds, or `defaultValue` when the flag is absent.
    func milliseconds(
        _ flag: String, default defaultValue: Duration, in range: ClosedRange<Int>
    ) throws(CommandError) -> Duration {
        guard values[flag] != nil else { return defaultValue }
        return .milliseconds(try integer(flag, default: 0, in: range))
    }
}

extension Duration {
    /// Whole milliseconds, for help texts and flags that are written in milliseconds.
    var wholeMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// Whole microseconds, for flags that are written in microseconds.
    var wholeMicroseconds: Int64 {
        components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000
    }
}
