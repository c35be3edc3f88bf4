import Testing
@testable import KeyValue
import Replication

/// CLIENT SETNAME/GETNAME/LIST/INFO and HELLO through a connection's session, as the runtime drives it.
@Suite("the connection's name, description and HELLO")
struct ClientConnectionTests {
    static let primary = NodeStatus(role: .primary, nodeName: "a", epoch: 3, clientAddress: "127.0.0.1:7000")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "127.0.0.1:7000", clientAddress: "127.0.0.1:7001")

    /// One connection: each `send` is one request, answered as the runtime would see it.
    struct Connection {
        let wire: KeyValueClientProtocol
        var session: KeyValueClientProtocol.Session

        init(password: String? = nil, id: UInt64 = 7) {
            wire = KeyValueClientProtocol(requiredPassword: password.flatMap { ClientPassword(bytes($0)) })
            session = wire.makeSession(clientID: id)
        }

        mutating func send(_ arguments: String..., status: NodeStatus = ClientConnectionTests.primary) -> String {
            var request = "*\(arguments.count)\r\n"
            for argument in arguments { request += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            switch wire.nextRequest(from: &session, status: status, digest: { 0 }) {
            case .local(let reply), .listen(let reply, _), .quit(let reply), .malformed(let reply), .monitor(let reply):
                return text(reply)
            case .replicated, .broadcast, .blocking: return "(replicated)"
            case .aboutConnections(let query):
                // As the runtime answers it with this connection the only one open.
                let me = OpenConnection(
                    id: session.clientID, session: session, peerAddress: "127.0.0.1:50000",
                    localAddress: "127.0.0.1:7000", descriptor: 9)
                return text(wire.answer(connectionsQuery: query, from: me, among: [me], status: status).reply)
            case nil: return "(nothing)"
            }
        }
    }

    @Test("CLIENT SETNAME keeps the name for GETNAME; an empty name removes it; RESET forgets it")
    func setName() {
        var connection = Connection()
        #expect(connection.send("CLIENT", "GETNAME") == "$-1\r\n")
        #expect(connection.send("CLIENT", "SETNAME", "worker-1") == "+OK\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "$8\r\nworker-1\r\n")
        #expect(connection.send("CLIENT", "SETNAME", "") == "+OK\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "$-1\r\n")
        #expect(connection.send("CLIENT", "SETNAME", "again") == "+OK\r\n")
        #expect(connection.send("RESET") == "+RESET\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "$-1\r\n")
    }

    @Test("CLIENT SETNAME refuses spaces and special characters and wrong arities, with Redis's words, keeping the old name")
    func setNameValidation() {
        var connection = Connection()
        #expect(connection.send("CLIENT", "SETNAME", "kept") == "+OK\r\n")
        for bad in ["a b", "a\nb", "caf\u{e9}", "tab\t"] {
            #expect(
                connection.send("CLIENT", "SETNAME", bad)
                    == "-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        }
        #expect(
            connection.send("CLIENT", "SETNAME", "a", "b")
                == "-ERR wrong number of arguments for 'client|setname' command\r\n")
        #expect(connection.send("CLIENT", "GETNAME", "x") == "-ERR wrong number of arguments for 'client|getname' command\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "$4\r\nkept\r\n")
    }

    @Test("CLIENT INFO and CLIENT LIST describe this connection in Redis's line format, naming the current command")
    func describe() {
        var connection = Connection()
        #expect(connection.send("CLIENT", "SETNAME", "app") == "+OK\r\n")
        // `qbuf=` counts the request being run, as Redis's does: `*2\r\n$6\r\nCLIENT\r\n$4\r\nINFO\r\n` is 26 bytes.
        func bulk(_ command: String, qbuf: Int = 26) -> String {
            let body = "id=7 addr=127.0.0.1:50000 laddr=127.0.0.1:7000 fd=9 name=app age=0 idle=0 flags=N db=0 sub=0"
                + " psub=0 ssub=0 multi=-1 qbuf=\(qbuf) cmd=\(command)"
                + " user=default redir=-1 resp=2\n"
            return "$\(body.utf8.count)\r\n\(body)\r\n"
        }
        #expect(connection.send("CLIENT", "INFO") == bulk("client|info"))
        #expect(connection.send("CLIENT", "LIST") == bulk("client|list"))
        #expect(connection.send("CLIENT", "LIST", "TYPE", "normal") == bulk("client|list", qbuf: 48))
        #expect(connection.send("CLIENT", "LIST", "ID", "3", "7") == bulk("client|list", qbuf: 48))
        #expect(connection.send("CLIENT", "LIST", "TYPE", "pubsub") == "$0\r\n\r\n")
        #expect(connection.send("CLIENT", "LIST", "TYPE", "replica") == "$0\r\n\r\n")
        #expect(connection.send("CLIENT", "LIST", "ID", "8") == "$0\r\n\r\n")
        #expect(connection.send("CLIENT", "LIST", "TYPE", "bogus") == "-ERR Unknown client type 'bogus'\r\n")
        #expect(connection.send("CLIENT", "LIST", "ID", "0") == "-ERR Invalid client ID\r\n")
        #expect(connection.send("CLIENT", "LIST", "ID", "x") == "-ERR Invalid client ID\r\n")
        #expect(connection.send("CLIENT", "LIST", "BOGUS") == "-ERR syntax error\r\n")
        #expect(connection.send("CLIENT", "INFO", "x") == "-ERR wrong number of arguments for 'client|info' command\r\n")
    }

    @Test("the line's age and idle count whole seconds from the connection's start and from its last request")
    func ages() {
        let second: UInt64 = 1_000_000_000
        var connection = ClientConnection(id: 1, now: 100 * second)
        connection.lastRequestAtNanoseconds = 105 * second
        connection.lastCommand = .data(.get)
        connection.queryBufferBytes = 26
        #expect(
            text(connection.line(now: 112 * second + second / 2))
                == "id=1 name= age=12 idle=7 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=26 cmd=get user=default"
                + " redir=-1 resp=2")
        connection.channelCount = 2
        connection.patternCount = 1
        connection.lastCommand = .none
        #expect(text(connection.line(now: 112 * second)).contains(" flags=P db=0 sub=2 psub=1 ssub=0 multi=-1 qbuf=26 cmd=NULL "))
    }

    static func helloReply(id: Int, role: String = "master") -> String {
        "*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:2\r\n$2\r\nid\r\n:\(id)\r\n"
            + "$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$\(role.utf8.count)\r\n\(role)\r\n$7\r\nmodules\r\n*0\r\n"
    }

    @Test("HELLO and HELLO 2 answer Redis's map as a flat array; versions other than 2 and 3 get NOPROTO")
    func hello() {
        var connection = Connection(id: 12)
        #expect(connection.send("HELLO") == Self.helloReply(id: 12))
        #expect(connection.send("HELLO", "2") == Self.helloReply(id: 12))
        #expect(connection.send("HELLO", "2", status: Self.backup) == Self.helloReply(id: 12, role: "replica"))
        #expect(connection.send("HELLO", "1") == "-NOPROTO unsupported protocol version\r\n")
        #expect(connection.send("HELLO", "4") == "-NOPROTO unsupported protocol version\r\n")
        #expect(connection.send("HELLO", "two") == "-ERR Protocol version is not an integer or out of range\r\n")
        #expect(connection.send("HELLO", "2", "FOO") == "-ERR Syntax error in HELLO option 'FOO'\r\n")
        #expect(connection.send("HELLO", "2", "AUTH", "default") == "-ERR Syntax error in HELLO option 'AUTH'\r\n")
        #expect(connection.send("HELLO", "2", "SETNAME") == "-ERR Syntax error in HELLO option 'SETNAME'\r\n")
        #expect(connection.send("HELLO", "2", "SETNAME", "hi") == Self.helloReply(id: 12))
        #expect(connection.send("CLIENT", "GETNAME") == "$2\r\nhi\r\n")
        #expect(
            connection.send("HELLO", "2", "SETNAME", "h i")
                == "-ERR Client names cannot contain spaces, newlines or special characters.\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "$2\r\nhi\r\n")
    }

    @Test("HELLO with a password: NOAUTH without AUTH, WRONGPASS for a bad one, and AUTH plus SETNAME in one go")
    func helloWithPassword() {
        var connection = Connection(password: "secret", id: 3)
        #expect(
            connection.send("HELLO", "2")
                == "-NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH"
                + " <user> <pass> option can be used to authenticate the client and select the RESP protocol version at"
                + " the same time\r\n")
        #expect(
            connection.send("HELLO", "2", "AUTH", "default", "wrong", "SETNAME", "x")
                == "-WRONGPASS invalid username-password pair or user is disabled.\r\n")
        #expect(connection.send("CLIENT", "GETNAME") == "-NOAUTH Authentication required.\r\n")
        #expect(connection.send("HELLO", "2", "AUTH", "default", "secret", "SETNAME", "x") == Self.helloReply(id: 3))
        #expect(connection.send("CLIENT", "GETNAME") == "$1\r\nx\r\n")
    }

    @Test("the store counts its keys and those with a TTL, for INFO's keyspace")
    func storeStatistics() {
        var driver = StoreDriver()
        #expect(driver.store.statistics.filter { $0.key != MemoryLimit.datasetFigure } == ["keys": 0, "expires": 0, "sessions": 0])
        driver.run("SET", "a", "1")
        driver.run("SET", "b", "2", "EX", "100")
        driver.run("SET", "c", "3", "PX", "100")
        #expect(driver.store.statistics.filter { $0.key != MemoryLimit.datasetFigure } == ["keys": 3, "expires": 2, "sessions": 0])
        driver.run("PERSIST", "c")
        driver.run("DEL", "a")
        #expect(driver.store.statistics.filter { $0.key != MemoryLimit.datasetFigure } == ["keys": 2, "expires": 1, "sessions": 0])
    }
}
