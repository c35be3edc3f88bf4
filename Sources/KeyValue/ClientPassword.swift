/// The password every client connection must give (`AUTH`) before anything else: Redis's `requirepass`.
///
/// It is configuration, handed to `KeyValueClientProtocol` at start; it never enters the replicated state, a log
/// entry or a log line. Its description hides it, so printing a protocol or a configuration cannot leak it.
public struct ClientPassword: Sendable, CustomStringConvertible {
    /// The password's bytes, compared as they are (Redis compares bytes too: no trimming, no letter case).
    let bytes: [UInt8]

    /// A password of `bytes`; nil when empty, which in Redis means no password at all.
    public init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return nil }
        self.bytes = bytes
    }

    /// Whether `candidate` is the password, in time that depends on neither where they differ nor the candidate's
    /// length beyond the password's own: every byte up to the longer of the two is read, the differences are OR-ed
    /// together and nothing branches on them, so a client cannot find the password a byte at a time by timing.
    public func matches(_ candidate: some Collection<UInt8>) -> Bool {
        let candidate = Array(candidate)
        var difference = UInt64(truncatingIfNeeded: bytes.count ^ candidate.count)
        for index in 0..<max(bytes.count, candidate.count) {
            let expected = index < bytes.count ? bytes[index] : 0
            let given = index < candidate.count ? candidate[index] : 0
            difference |= UInt64(expected ^ given)
        }
        return difference == 0
    }

    /// Never the password.
    public var description: String { "(password not shown)" }
}

/// Redis's `AUTH` and its gate: which commands a connection may send before it has authenticated, and the
/// answers, word for word (Redis 7.0, `src/server.c` `processCommand` and `src/acl.c` `authCommand`).
enum Authentication {
    /// What any command but AUTH, HELLO, QUIT and RESET gets before a successful AUTH, when a password is required.
    static let notAuthenticatedReply = RESPWriter.error("NOAUTH Authentication required.")
    /// A wrong password, or a user other than `default` (the only user here).
    static let wrongPasswordReply = RESPWriter.error("WRONGPASS invalid username-password pair or user is disabled.")
    /// `AUTH password` with no password configured: Redis keeps this old error for the one-argument form.
    static let noPasswordConfiguredReply = RESPWriter.error(
        "ERR AUTH <password> called without any password configured for the default user. "
            + "Are you sure your configuration is correct?")
    /// The only user: `AUTH default password` is the two-argument form of `AUTH password`.
    static let defaultUsername: [UInt8] = Array("default".utf8)

    /// The reply to `AUTH [username] password`, and whether the connection is authenticated afterwards.
    ///
    /// As in Redis: with no password configured the default user is `nopass`, so `AUTH default anything` succeeds
    /// and the one-argument form is an error; a failed AUTH leaves an authenticated connection authenticated.
    static func authenticate(
        username: [UInt8]?, password: [UInt8], required: ClientPassword?, wasAuthenticated: Bool
    ) -> (reply: [UInt8], isAuthenticated: Bool) {
        guard let required else {
            guard let username else { return (noPasswordConfiguredReply, true) }
            return username == defaultUsername ? (Replies.ok, true) : (wrongPasswordReply, wasAuthenticated)
        }
        // Both comparisons always run, so the timing says nothing about which one failed.
        let isDefaultUser = username.map { $0 == defaultUsername } ?? true
        let isPassword = required.matches(password)
        return isDefaultUser && isPassword ? (Replies.ok, true) : (wrongPasswordReply, wasAuthenticated)
    }

    /// The NOAUTH reply for a request an unauthenticated connection may not make, nil when it may go on.
    ///
    /// AUTH, HELLO, QUIT and RESET go on (Redis's `no-auth` commands); so do an unknown command and a wrong arity,
    /// whose own errors Redis gives before it looks at authentication.
    static func refusal(_ arguments: CommandArguments) -> [UInt8]? {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return nil }
        if let command = KeyValueFrontend.LocalCommand(name: name) {
            switch command {
            case .auth, .hello, .quit, .reset: return nil
            default: return command.accepts(argumentCount: arguments.count) ? notAuthenticatedReply : nil
            }
        }
        guard let command = DataCommand(name: name), command.accepts(argumentCount: arguments.count) else {
            return nil
        }
        return notAuthenticatedReply
    }
}
