/// One of Redis's blocking pops (BLPOP, BRPOP, BRPOPLPUSH, BLMOVE, BZPOPMIN, BZPOPMAX, BLMPOP, BZMPOP), parsed far
/// enough to know its keys, its timeout and the command that does its work without blocking.
///
/// A blocking pop is its non-blocking counterpart (LPOP of the first list holding elements, LMOVE, LMPOP, ZMPOP...)
/// tried at once, and again for each key that gets elements while it waits (`KeyValueStore+Blocking`). Everything
/// but the timeout is validated by that counterpart, which answers Redis's errors, so the two cannot disagree.
///
/// `DEBUG SLEEP seconds` waits the same way, for its time alone: it names no key, so no entry serves it, and the
/// unblock entry its timeout brings answers it +OK (`KeyValueStore+Blocking`). So one connection's reply is delayed
/// without stopping the event loop, and, unlike Redis, other clients are not paused meanwhile.
struct BlockingCommand: Equatable {
    enum Name: String, CaseIterable {
        case blpop, brpop, brpoplpush, blmove, bzpopmin, bzpopmax, blmpop, bzmpop
        /// `DEBUG SLEEP`: named by its command, as no data command is called `debug`.
        case debugSleep = "debug"
    }

    /// Longest DEBUG SLEEP, 100 Julian years in microseconds: a longer one is cut to it, so that its timer's
    /// nanoseconds fit 64 bits.
    static let sleepMicrosecondsLimit: Int64 = 100 * 31_557_600 * 1_000_000

    let name: Name
    /// The command as sent, its name first.
    let arguments: [[UInt8]]
    /// The keys it waits on, in the order given (a key named twice waits once).
    let keys: [[UInt8]]
    /// How long it may wait; nil for ever (a timeout of 0).
    let timeout: Duration?

    /// The kind of value it pops from.
    var valueKind: ValueKind {
        switch name {
        case .bzpopmin, .bzpopmax, .bzmpop: .sortedSet
        default: .list
        }
    }

    /// The command in `arguments`, or Redis's error reply for a timeout it refuses (and for a wrong arity or a bad
    /// key count, which the frontend refuses before an entry exists). Nil arguments name no blocking pop.
    static func parse(_ arguments: [[UInt8]]) -> Result<BlockingCommand, ErrorReply>? {
        if arguments.count == 3, ASCII.equals(arguments[0], "debug"), ASCII.equals(arguments[1], "sleep") {
            let timeout = Duration.microseconds(sleepMicroseconds(arguments[2][...]))
            return .success(BlockingCommand(name: .debugSleep, arguments: arguments, keys: [], timeout: timeout))
        }
        guard let first = arguments.first, let command = CommandName(first).flatMap(DataCommand.init(name:)),
            let name = Name(rawValue: command.rawValue)
        else { return nil }
        guard arguments.count >= name.minimumArgumentCount, name != .brpoplpush || arguments.count == 4,
            name != .blmove || arguments.count == 6
        else { return .failure(ErrorReply(reply: Replies.wrongArity(name.rawValue))) }
        let keys: [[UInt8]]
        let timeoutArgument: [UInt8]
        switch name {
        case .blmpop, .bzmpop:
            timeoutArgument = arguments[1]
            guard let keyCount = DecimalInteger.parse(arguments[2][...]), keyCount >= 1 else {
                return .failure(ErrorReply(reply: RESPWriter.error("ERR numkeys should be greater than 0")))
            }
            guard keyCount < arguments.count - 3 else { return .failure(ErrorReply(reply: Replies.syntaxError)) }
            keys = Array(arguments[3..<(3 + Int(keyCount))])
        case .brpoplpush, .blmove:
            timeoutArgument = arguments[arguments.count - 1]
            keys = [arguments[1]]
        default:
            timeoutArgument = arguments[arguments.count - 1]
            keys = Array(arguments[1..<(arguments.count - 1)])
        }
        switch Self.timeout(timeoutArgument[...]) {
        case .failure(let error): return .failure(error)
        case .success(let timeout):
            var distinct: [[UInt8]] = []
            for key in keys where !distinct.contains(key) { distinct.append(key) }
            return .success(BlockingCommand(name: name, arguments: arguments, keys: distinct, timeout: timeout))
        }
    }

    /// Redis's `getTimeoutFromObjectOrReply` in seconds: a float, at least 0, whose milliseconds (rounded up) fit
    /// 64 bits; 0 waits for ever.
    static func timeout(_ argument: ArraySlice<UInt8>) -> Result<Duration?, ErrorReply> {
        guard let seconds = LongDouble.parse(argument), !seconds.isInfinite else {
            return .failure(ErrorReply(reply: RESPWriter.error("ERR timeout is not a float or out of range")))
        }
        let milliseconds = (seconds * 1000).rounded(.up)
        guard milliseconds <= LongDouble.Value(Int64.max / 2) else {
            return .failure(ErrorReply(reply: RESPWriter.error("ERR timeout is out of range")))
        }
        guard milliseconds >= 0 else { return .failure(ErrorReply(reply: RESPWriter.error("ERR timeout is negative"))) }
        return .success(milliseconds == 0 ? nil : .milliseconds(Int64(milliseconds)))
    }

    /// DEBUG SLEEP's time in whole microseconds, read as Redis reads it (`strtod`, then truncated): the longest
    /// prefix that is a decimal number, after blanks; 0 for none, for a negative time and for under a microsecond.
    static func sleepMicroseconds(_ argument: ArraySlice<UInt8>) -> Int64 {
        let numeric = Array("+-.0123456789eE".utf8)
        let text = argument.drop { $0 == UInt8(ascii: " ") || ($0 >= 9 && $0 <= 13) }.prefix(64).prefix {
            numeric.contains($0)
        }
        var length = text.count
        while length > 0 {
            if let seconds = Double(String(decoding: text.prefix(length), as: UTF8.self)) {
                let microseconds = seconds * 1_000_000
                guard microseconds >= 1 else { return 0 }
                return microseconds >= Double(sleepMicrosecondsLimit) ? sleepMicrosecondsLimit : Int64(microseconds)
            }
            length -= 1
        }
        return 0
    }

    /// The non-blocking command that does this one's work on the keys it names, or on `key` alone (a key that got
    /// elements while it waited). BLPOP, BRPOP and BZPOP* have no such command with their reply's shape: nil, and
    /// the store pops for them itself (`KeyValueStore.popFirst`).
    func counterpart(onlyKey key: [UInt8]? = nil) -> [[UInt8]]? {
        switch name {
        case .blpop, .brpop, .bzpopmin, .bzpopmax, .debugSleep: return nil
        case .brpoplpush: return [Array("RPOPLPUSH".utf8), arguments[1], arguments[2]]
        case .blmove: return [Array("LMOVE".utf8)] + arguments[1...4]
        case .blmpop, .bzmpop:
            let counterpartName = Array((name == .blmpop ? "LMPOP" : "ZMPOP").utf8)
            guard let key else { return [counterpartName] + arguments[2...] }
            // numkeys was checked by `parse`: the keys end where it says.
            let end = 3 + Int(DecimalInteger.parse(arguments[2][...]) ?? 1)
            return [counterpartName, Array("1".utf8), key] + arguments[end...]
        }
    }
}

extension BlockingCommand.Name {
    /// The fewest arguments the command takes, its name included.
    var minimumArgumentCount: Int {
        switch self {
        case .blpop, .brpop, .bzpopmin, .bzpopmax: 3
        case .brpoplpush: 4
        case .blmove: 6
        case .blmpop, .bzmpop: 5
        case .debugSleep: 3
        }
    }
}
