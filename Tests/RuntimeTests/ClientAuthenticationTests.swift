import KeyValue
import Replication
import Testing

/// Redis's `requirepass` on the key-value client protocol: which requests an unauthenticated connection may make,
/// and AUTH's answers, word for word as Redis 7.0 gives them.
struct ClientAuthenticationTests {
    static let primary = NodeStatus(
        role: .primary, nodeName: "a", epoch: 3, peerClientAddress: "10.0.0.2:7000", clientAddress: "10.0.0.1:7000")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7000")

    static let noAuth = "-NOAUTH Authentication required.\r\n"
    static let wrongPass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    static let noPasswordConfigured =
        "-ERR AUTH <password> called without any password configured for the default user. "
        + "Are you sure your configuration is correct?\r\n"

    /// One client connection over the protocol: what each request it sends becomes.
    struct Connection {
        let wire: KeyValueClientProtocol
        var session: KeyValueClientProtocol.Session
        var status = ClientAuthenticationTests.primary

        init(password: String?) {
            wire = KeyValueClientProtocol(requiredPassword: password.flatMap { ClientPassword(Array($0.utf8)) })
            session = wire.makeSession(clientID: 1)
        }

        /// The local reply's text, "replicated" for a command bound for the log, "quit: ..." for QUIT.
        mutating func send(_ arguments: String...) -> String {
            var request = "*\(arguments.count)\r\n"
            for argument in arguments { request += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            switch wire.nextRequest(from: &session, status: status, digest: { 7 }) {
            case .replicated?, .broadcast?, .blocking?: return "replicated"
            case .local(let reply)?: return String(decoding: reply, as: UTF8.self)
            case .quit(let reply)?: return "quit: " + String(decoding: reply, as: UTF8.self)
            case .malformed(let reply)?: return "malformed: " + String(decoding: reply, as: UTF8.self)
            case .listen(let reply, _)?: return String(decoding: reply, as: UTF8.self)
            case .aboutConnections?: return "about connections"
            case .monitor(let reply)?: return String(decoding: reply, as: UTF8.self)
            case nil: return "incomplete"
            }
        }
    }

    @Test("without a password, commands run at once and AUTH answers as Redis does with no requirepass")
    func noPasswordConfigured() {
        var client = Connection(password: nil)
        #expect(client.send("SET", "k", "v") == "replicated")
        #expect(client.send("AUTH", "secret") == Self.noPasswordConfigured)
        #expect(client.send("AUTH", "default", "anything") == "+OK\r\n")  // the default user is `nopass`
        #expect(client.send("AUTH", "alice", "anything") == Self.wrongPass)
        #expect(client.send("GET", "k") == "replicated")
    }

    @Test("with a password, every command but AUTH, HELLO and QUIT is refused with NOAUTH until AUTH succeeds")
    func commandsWaitForAuth() {
        var client = Connection(password: "s3cret")
        #expect(client.send("SET", "k", "v") == Self.noAuth)
        #expect(client.send("GET", "k") == Self.noAuth)
        #expect(client.send("PING") == Self.noAuth)
        #expect(client.send("INFO") == Self.noAuth)
        #expect(client.send("CLIENT", "SETNAME", "app") == Self.noAuth)
        #expect(client.send("HELLO", "3").hasPrefix("-NOAUTH HELLO must be called with the client already authenticated"))
        #expect(client.send("AUTH", "s3cret") == "+OK\r\n")
        #expect(client.send("SET", "k", "v") == "replicated")
        #expect(client.send("PING") == "+PONG\r\n")
    }

    @Test("QUIT is answered and closes the connection before AUTH, as in Redis")
    func quitBeforeAuth() {
        var client = Connection(password: "s3cret")
        #expect(client.send("QUIT") == "quit: +OK\r\n")
    }

    @Test("a node that is not serving asks for AUTH first too: READONLY would tell a stranger where the primary is")
    func backupAsksForAuthFirst() {
        var client = Connection(password: "s3cret")
        client.status = Self.backup
        #expect(client.send("GET", "k") == Self.noAuth)
        #expect(client.send("AUTH", "s3cret") == "+OK\r\n")
        #expect(client.send("GET", "k").hasPrefix("-READONLY"))
    }

    @Test("a wrong password gets WRONGPASS and changes nothing; the two-argument form names the default user")
    func wrongPassword() {
        var client = Connection(password: "s3cret")
        #expect(client.send("AUTH", "s3cre") == Self.wrongPass)
        #expect(client.send("AUTH", "s3cret!") == Self.wrongPass)
        #expect(client.send("AUTH", "S3CRET") == Self.wrongPass)
        #expect(client.send("AUTH", "") == Self.wrongPass)
        #expect(client.send("AUTH", "alice", "s3cret") == Self.wrongPass)
        #expect(client.send("GET", "k") == Self.noAuth)
        #expect(client.send("AUTH", "default", "s3cret") == "+OK\r\n")
        #expect(client.send("GET", "k") == "replicated")
    }

    @Test("a failed AUTH leaves an authenticated connection authenticated, as in Redis")
    func failedReauthKeepsAuthentication() {
        var client = Connection(password: "s3cret")
        #expect(client.send("AUTH", "s3cret") == "+OK\r\n")
        #expect(client.send("AUTH", "wrong") == Self.wrongPass)
        #expect(client.send("GET", "k") == "replicated")
    }

    @Test("unknown commands and wrong arity get their own errors before NOAUTH, as Redis checks them first")
    func syntaxBeforeAuth() {
        var client = Connection(password: "s3cret")
        #expect(client.send("NOPE").hasPrefix("-ERR unknown command 'NOPE'"))
        #expect(client.send("GET") == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(client.send("AUTH") == "-ERR wrong number of arguments for 'auth' command\r\n")
        #expect(client.send("AUTH", "a", "b", "c") == "-ERR syntax error\r\n")
    }

    @Test("each connection authenticates by itself")
    func perConnection() {
        var first = Connection(password: "s3cret")
        #expect(first.send("AUTH", "s3cret") == "+OK\r\n")
        var second = first
        second.session = first.wire.makeSession(clientID: 2)
        #expect(second.send("GET", "k") == Self.noAuth)
        #expect(first.send("GET", "k") == "replicated")
    }

    @Test("the password matches only itself, byte for byte, and never shows in a description")
    func passwordComparison() throws {
        let password = try #require(ClientPassword(Array("pa55".utf8)))
        #expect(password.matches(Array("pa55".utf8)))
        for other in ["", "p", "pa5", "pa555", "Pa55", "pa56", "pa55\n", "xxxx"] {
            #expect(!password.matches(Array(other.utf8)), "\(other) matched")
        }
        #expect(ClientPassword([]) == nil, "an empty password would mean none")
        #expect(!"\(password)".contains("pa55"))
        #expect(!"\(KeyValueClientProtocol(requiredPassword: password))".contains("pa55"))
    }

    @Test("the runtime's refusals use Redis's text for maxclients")
    func refusalTexts() {
        let wire = KeyValueClientProtocol()
        #expect(
            String(decoding: wire.refusalReply(.clientsLimitReached(limit: 10), status: Self.primary), as: UTF8.self)
                == "-ERR max number of clients reached\r\n")
        let overflow = wire.refusalReply(.queryBufferOverflowed(bytes: 10, limit: 5), status: Self.primary)
        #expect(String(decoding: overflow, as: UTF8.self).hasPrefix("-ERR Protocol error: query buffer"))
    }
}
