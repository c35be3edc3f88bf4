/// A command a caller sent, encoded once as RESP bulk strings, ready to follow a `SESSION EXEC` header.
///
/// Encoded when the caller hands it over, so a resend after a failover copies bytes rather than re-encoding, and
/// so a command the client would refuse (empty, oversized, not allowed in a session) is refused before it queues.
struct RESPCommand: Sendable, Equatable {
    /// How many arguments, the command's name included.
    let argumentCount: Int
    /// Every argument as `$<length>\r\n<bytes>\r\n`, without the array header.
    let encodedArguments: [UInt8]

    /// Commands that act on the connection or span several requests, which a session cannot carry: the server would
    /// answer them with an error (using up a number); refused here instead, with a typed error, before they queue.
    static let notAllowedInSession: Set<String> = [
        "AUTH", "CLIENT", "DISCARD", "EXEC", "HELLO", "MONITOR", "MULTI", "PING", "PSUBSCRIBE", "PUNSUBSCRIBE",
        "QUIT", "RESET", "SELECT", "SESSION", "SSUBSCRIBE", "SUBSCRIBE", "SUNSUBSCRIBE", "UNSUBSCRIBE", "UNWATCH",
        "WATCH",
    ]

    /// Encodes `arguments`, refusing an empty command, one of `notAllowedInSession`, or one over `bytesLimit`.
    init(_ arguments: [[UInt8]], bytesLimit: Int) throws(LockstepClientError) {
        guard let name = arguments.first else { throw .commandRefused(.empty) }
        let upper = String(decoding: name, as: UTF8.self).uppercased()
        guard !Self.notAllowedInSession.contains(upper) else { throw .commandRefused(.notAllowedInSession(upper)) }
        let size = arguments.reduce(0) { $0 + $1.count + 16 }
        guard size <= bytesLimit else { throw .commandRefused(.tooLarge(bytes: size, limit: bytesLimit)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)
        for argument in arguments { Self.appendBulk(argument, to: &bytes) }
        argumentCount = arguments.count
        encodedArguments = bytes
    }

    /// `SESSION EXEC <session> <number> <command...>` as one RESP array.
    func sessionExecution(session: Int64, number: UInt64, into bytes: inout [UInt8]) {
        Self.appendArrayHeader(argumentCount + 4, to: &bytes)
        Self.appendBulk(Self.session, to: &bytes)
        Self.appendBulk(Self.exec, to: &bytes)
        Self.appendBulk(Array(String(session).utf8), to: &bytes)
        Self.appendBulk(Array(String(number).utf8), to: &bytes)
        bytes += encodedArguments
    }

    /// A whole command as a RESP array of bulk strings: what every Redis client sends.
    static func encode(_ arguments: [[UInt8]], into bytes: inout [UInt8]) {
        appendArrayHeader(arguments.count, to: &bytes)
        for argument in arguments { appendBulk(argument, to: &bytes) }
    }

    /// `encode(_:into:)` for text arguments.
    static func encode(_ arguments: [String], into bytes: inout [UInt8]) {
        encode(arguments.map { Array($0.utf8) }, into: &bytes)
    }

    private static let session = Array("SESSION".utf8)
    private static let exec = Array("EXEC".utf8)

    private static func appendArrayHeader(_ count: Int, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "*"))
        bytes += String(count).utf8
        bytes += [13, 10]
    }

    private static func appendBulk(_ argument: [UInt8], to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "$"))
        bytes += String(argument.count).utf8
        bytes += [13, 10]
        bytes += argument
        bytes += [13, 10]
    }
}
