import Testing
@testable import KeyValue
import Replication

@Suite("node-local commands and routing")
struct KeyValueFrontendTests {
    static let primary = NodeStatus(
        role: .primary, nodeName: "a", epoch: 3, logSequence: 120, ackedSequence: 118, appliedSequence: 117,
        peerState: .connected, peerClientAddress: "10.0.0.2:7001", clientAddress: "10.0.0.1:7000", replayLag: 1,
        reason: "won epoch 3")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, logSequence: 120, ackedSequence: 120, appliedSequence: 119,
        peerState: .connected, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7001", replayLag: 1,
        reason: "joined the primary\nafter a restart")
    static let solo = NodeStatus(role: .solo, nodeName: "a", epoch: 4, logSequence: 130, clientAddress: "h:7000")

    static func route(_ arguments: String..., status: NodeStatus = primary, digest: UInt64 = 0) -> KeyValueRequest {
        route(arguments, status: status, digest: digest)
    }

    static func route(_ arguments: [String], status: NodeStatus = primary, digest: UInt64 = 0) -> KeyValueRequest {
        KeyValueFrontend.route(arguments.map(bytes), status: status, digest: { digest })
    }

    static func localText(_ request: KeyValueRequest) -> String? {
        if case .local(let reply) = request { return text(reply) }
        return nil
    }

    @Test("a data command on a serving node goes to the log, encoded as its arguments")
    func replicated() throws {
        for status in [Self.primary, Self.solo] {
            guard case .replicated(let command) = Self.route("SET", "k", "v", status: status) else {
                Issue.record("SET was not replicated on \(status.role)")
                continue
            }
            #expect(try KeyValueCommand.decode(command) == [bytes("SET"), bytes("k"), bytes("v")])
        }
        #expect(Self.route("TIME") == .replicated(KeyValueCommand.encode([bytes("TIME")])))
        #expect(Self.route("RANDOMKEY") == .replicated(KeyValueCommand.encode([bytes("RANDOMKEY")])))
    }

    @Test("a data command on a backup is refused with READONLY naming the primary; a read hears it serves no reads")
    func readOnlyOnBackup() {
        #expect(
            Self.localText(Self.route("SET", "k", "v", status: Self.backup))
                == "-READONLY You can't write against a backup; the primary is at 10.0.0.1:7000\r\n")
        for read in [["GET", "k"], ["MGET", "a", "b"], ["EXISTS", "k"], ["KEYS", "*"], ["RANDOMKEY"], ["DBSIZE"], ["TTL", "k"]] {
            #expect(
                Self.localText(Self.route(read, status: Self.backup))
                    == "-READONLY This node is not the primary and serves no reads; the primary is at 10.0.0.1:7000\r\n",
                "\(read)")
        }
        for write in [["DEL", "k"], ["INCR", "k"], ["EXPIRE", "k", "1"], ["GETDEL", "k"], ["FLUSHALL"]] {
            #expect(Self.localText(Self.route(write, status: Self.backup))?.contains("can't write") == true, "\(write)")
        }
        var unknown = Self.backup
        unknown.peerClientAddress = ""
        unknown.role = .joining
        #expect(
            Self.localText(Self.route("SET", "k", "v", status: unknown))
                == "-READONLY You can't write against a backup; the primary is unknown\r\n")
    }

    @Test("unknown commands and wrong arity are answered locally, before READONLY, as Redis orders them")
    func refusedLocally() {
        #expect(
            Self.localText(Self.route("NOPE", "x", status: Self.backup))
                == "-ERR unknown command 'NOPE', with args beginning with: 'x' \r\n")
        #expect(
            Self.localText(Self.route("GET", status: Self.backup))
                == "-ERR wrong number of arguments for 'get' command\r\n")
        #expect(Self.localText(Self.route("PING", "a", "b")) == "-ERR wrong number of arguments for 'ping' command\r\n")
    }

    @Test("PING, ECHO, SELECT 0 and QUIT are answered on any node; QUIT closes")
    func connectionCommands() {
        #expect(Self.localText(Self.route("PING", status: Self.backup)) == "+PONG\r\n")
        #expect(Self.localText(Self.route("ping", "hi")) == "$2\r\nhi\r\n")
        #expect(Self.localText(Self.route("ECHO", "hey", status: Self.backup)) == "$3\r\nhey\r\n")
        #expect(Self.localText(Self.route("SELECT", "0", status: Self.backup)) == "+OK\r\n")
        #expect(Self.localText(Self.route("SELECT", "16")) == "-ERR DB index is out of range\r\n")
        #expect(Self.route("QUIT") == .quit(reply: bytes("+OK\r\n")))
    }

    @Test("client handshakes get answers clients accept: HELLO 4 falls back, COMMAND, CONFIG, CLIENT")
    func handshakes() {
        #expect(Self.localText(Self.route("HELLO", "4")) == "-NOPROTO unsupported protocol version\r\n")
        #expect(Self.localText(Self.route("COMMAND", "COUNT"))?.hasPrefix(":") == true)
        #expect(Self.route("CONFIG", "GET", "save") == .configuration([bytes("CONFIG"), bytes("GET"), bytes("save")]))
        #expect(Self.route("CLIENT", "SETNAME", "app") == .setName(bytes("app")))
        #expect(Self.localText(Self.route("CLIENT", "SETINFO", "lib-name", "redis-py")) == "+OK\r\n")
        #expect(Self.localText(Self.route("CLIENT", "GETNAME")) == "$-1\r\n")
        #expect(
            Self.localText(KeyValueFrontend.route([bytes("CLIENT"), bytes("ID")], status: Self.primary, digest: { 0 },
                clientID: 42)) == ":42\r\n")
        #expect(
            Self.localText(Self.route("CLIENT", "BOGUS")) == "-ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\r\n")
    }

    @Test("ROLE on a primary: master, its log sequence, and the backup with its acked sequence")
    func rolePrimary() {
        #expect(
            Self.localText(Self.route("ROLE"))
                == "*3\r\n$6\r\nmaster\r\n:120\r\n*1\r\n*3\r\n$8\r\n10.0.0.2\r\n$4\r\n7001\r\n$3\r\n118\r\n")
    }

    @Test("ROLE on a solo primary lists no backups")
    func roleSolo() {
        #expect(Self.localText(Self.route("ROLE", status: Self.solo)) == "*3\r\n$6\r\nmaster\r\n:130\r\n*0\r\n")
    }

    @Test("ROLE on a backup: slave, the primary's host and port, the link state and the log sequence")
    func roleBackup() {
        #expect(
            Self.localText(Self.route("ROLE", status: Self.backup))
                == "*5\r\n$5\r\nslave\r\n$8\r\n10.0.0.1\r\n:7000\r\n$9\r\nconnected\r\n:120\r\n")
        var connecting = Self.backup
        connecting.peerState = .connecting
        #expect(Self.localText(Self.route("ROLE", status: connecting))?.contains("$10\r\nconnecting\r\n") == true)
    }

    /// The INFO reply's text, checked to be a bulk string whose length matches.
    static func info(_ arguments: String..., status: NodeStatus) -> String {
        info(arguments: arguments, status: status)
    }

    static func info(arguments: [String], status: NodeStatus) -> String {
        let reply = KeyValueFrontend.route(([bytes("INFO")] + arguments.map(bytes)), status: status, digest: { 0 })
        guard case .local(let wire) = reply, let headerEnd = wire.firstIndex(of: 10) else { return "" }
        let body = Array(wire[(headerEnd + 1)...].dropLast(2))
        #expect(Array(wire[...headerEnd]) == bytes("$\(body.count)\r\n"))
        return text(body)
    }

    @Test("INFO replication on a primary reports master, the backup, and Lockstep's positions")
    func infoPrimary() {
        let body = Self.info("replication", status: Self.primary)
        #expect(body.hasPrefix("# Replication\r\nrole:master\r\nconnected_slaves:1\r\n"))
        #expect(body.contains("slave0:ip=10.0.0.2,port=7001,state=online,offset=118,lag=0\r\n"))
        #expect(body.contains("master_repl_offset:120\r\n"))
        for field in [
            "lockstep_role:primary", "lockstep_epoch:3", "lockstep_log_sequence:120", "lockstep_acked_sequence:118",
            "lockstep_applied_sequence:117", "lockstep_peer_state:connected", "lockstep_replay_lag:1",
            "lockstep_reason:won epoch 3",
        ] {
            #expect(body.contains(field + "\r\n"), "\(field)")
        }
        #expect(!body.contains("# Server"))
    }

    @Test("INFO replication on a backup reports slave, the primary and the link, on one line per field")
    func infoBackup() {
        let body = Self.info("REPLICATION", status: Self.backup)
        #expect(body.hasPrefix("# Replication\r\nrole:slave\r\nmaster_host:10.0.0.1\r\nmaster_port:7000\r\n"))
        #expect(body.contains("master_link_status:up\r\n"))
        #expect(body.contains("lockstep_role:backup\r\n"))
        #expect(body.contains("lockstep_reason:joined the primary after a restart\r\n"))
        #expect(body.hasSuffix("\r\n"))
        let utf8 = Array(body.utf8)
        #expect(utf8.indices.allSatisfy { utf8[$0] != 10 || ($0 > 0 && utf8[$0 - 1] == 13) }, "a bare LF")
        #expect(utf8.indices.allSatisfy { utf8[$0] != 13 || ($0 + 1 < utf8.count && utf8[$0 + 1] == 10) }, "a bare CR")
    }

    @Test("INFO without a section gives every section in Redis's order, separated by blank lines")
    func infoAll() {
        let body = Self.info(status: Self.primary)
        #expect(body.hasPrefix("# Server\r\nredis_version:7.0.15\r\n"))
        #expect(body.contains("\r\ntcp_port:7000\r\n"))
        #expect(body.contains("\r\nprocess_id:"))
        #expect(body.contains("\r\n\r\n# Replication\r\n"))
        #expect(Self.info("server", status: Self.primary).hasPrefix("# Server\r\n"))
        #expect(Self.info("keyspace", status: Self.primary) == "# Keyspace\r\n")
        #expect(Self.info("nosuchsection", status: Self.primary) == "")
    }

    @Test("INFO's sections carry the fields tools read: clients, memory, persistence, stats, cpu and keyspace")
    func infoSections() {
        var status = Self.primary
        status.openClientConnections = 4
        status.counters = ["client_connections_accepted": 9, "client_requests": 1234]
        status.machineStatistics = ["keys": 3, "expires": 1]
        func titles(_ body: String) -> [Substring] { body.split(separator: "\r\n").filter { $0.hasPrefix("# ") } }
        let defaults: [Substring] = [
            "# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Errorstats",
            "# Cluster", "# Keyspace",
        ]
        var all = defaults
        all.insert("# Commandstats", at: 7)
        all.insert("# Latencystats", at: 9)
        // The figures (CPU time, memory) move between calls; the sections must not.
        for argument in [[], ["default"]] {
            #expect(titles(Self.info(arguments: argument, status: status)) == defaults, "\(argument)")
        }
        for argument in [["all"], ["everything"], ["ALL", "cpu"]] {
            #expect(titles(Self.info(arguments: argument, status: status)) == all, "\(argument)")
        }
        #expect(titles(Self.info("cpu", "server", status: status)) == ["# Server", "# CPU"])
        #expect(
            Self.info("Clients", status: status)
                == "# Clients\r\nconnected_clients:4\r\nblocked_clients:0\r\ntracking_clients:0\r\nlockstep_sessions:0\r\n")
        #expect(
            Self.info("stats", "KEYSPACE", status: status)
                == "# Stats\r\ntotal_connections_received:9\r\ntotal_commands_processed:1234\r\n"
                + "total_error_replies:0\r\n\r\n"
                + "# Keyspace\r\ndb0:keys=3,expires=1,avg_ttl=0\r\n")
        #expect(Self.info("persistence", status: status).contains("\r\nloading:0\r\n"))
        let memory = Self.info("memory", status: status)
        let usedMemory = memory.split(separator: "\r\n").first { $0.hasPrefix("used_memory:") }
        #expect(usedMemory.flatMap { Int($0.dropFirst("used_memory:".count)) }.map { $0 > 0 } == true, "\(memory)")
        let cpu = Self.info("cpu", status: status)
        for field in ["used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"] {
            let value = cpu.split(separator: "\r\n").first { $0.hasPrefix(field + ":") }?.dropFirst(field.count + 1)
            #expect(value.map { $0.split(separator: ".").map(\.count) }?.last == 6, "\(field) in \(cpu)")
        }
        let server = Self.info("server", status: status)
        #expect(server.contains("\r\narch_bits:64\r\n"))
        let uptime = server.split(separator: "\r\n").first { $0.hasPrefix("uptime_in_seconds:") }
        #expect(uptime.flatMap { Int($0.dropFirst("uptime_in_seconds:".count)) } != nil, "\(server)")
        #expect(server.hasSuffix("lockstep_node_name:a\r\n"))
    }

    @Test("DEBUG DIGEST answers the state digest as 16 hex digits, on the backup too; QUICKLIST-PACKED-THRESHOLD checks its size")
    func debugDigest() {
        #expect(
            Self.localText(Self.route("DEBUG", "DIGEST", status: Self.backup, digest: 0xAB))
                == "$16\r\n00000000000000ab\r\n")
        #expect(Self.localText(Self.route("DEBUG", "JMAP"))?.hasPrefix("-ERR unknown subcommand") == true)
        #expect(Self.localText(Self.route("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1b")) == "+OK\r\n")
        #expect(Self.localText(Self.route("debug", "quicklist-packed-threshold", "0")) == "+OK\r\n")
        #expect(Self.localText(Self.route("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "5gb"))
            == "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n")
        #expect(Self.localText(Self.route("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "big"))
            == "-ERR argument must be a memory value bigger than 1 and smaller than 4gb\r\n")
    }

    @Test("a pipelined RESP stream flows through the parser, the frontend and the store")
    func endToEnd() throws {
        var parser = RESPParser()
        var store = KeyValueStore()
        parser.append(contentsOf: bytes("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\nPING\r\nGET k\r\nQUIT\r\n"))
        var output: [UInt8] = []
        var closed = false
        while let request = try parser.next() {
            switch KeyValueFrontend.route(request, status: Self.solo, digest: { store.digest() }) {
            case .replicated(let command):
                var context = ApplyContext.recording(from: ScriptedEntropy(clockNanoseconds: 0))
                output += store.apply(command, context: &context)
            case .local(let reply): output += reply
            case .quit(let reply):
                output += reply
                closed = true
            case .authenticate, .subscription, .reset, .setName, .hello, .transaction, .configuration, .slowLog,
                .connections, .monitor, .openSession, .publish, .blocking, .replyMode:
                Issue.record("no AUTH, Pub/Sub, RESET, SETNAME, HELLO, transaction, CONFIG, SLOWLOG, CLIENT, PUBLISH, BLPOP or CLIENT REPLY was sent")
            }
        }
        #expect(text(output) == "+OK\r\n+PONG\r\n$2\r\nv1\r\n+OK\r\n")
        #expect(closed)
    }
}
