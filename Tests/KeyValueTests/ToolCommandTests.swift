import Testing
@testable import KeyValue
import Replication

/// CONFIG, SLOWLOG, COMMAND and CLIENT LIST/KILL as Redis 7.0 documents them, and as tools use them.
@Suite("tool commands: CONFIG, SLOWLOG, COMMAND, CLIENT LIST and KILL")
struct ToolCommandTests {
    static func decoded(_ reply: String) -> DecodedReply? { DecodedReply.one(Array(reply.utf8)) }

    @Test("CONFIG GET matches glob patterns, several at once, each setting listed once")
    func configGet() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "GET", "save") == RESP.array(RESP.bulk("save"), RESP.bulk("")))
        #expect(node.send(1, "CONFIG", "GET", "slowlog-*") == RESP.array(
            RESP.bulk("slowlog-log-slower-than"), RESP.bulk("10000"), RESP.bulk("slowlog-max-len"), RESP.bulk("128")))
        let both = Self.decoded(node.send(1, "CONFIG", "GET", "SAVE", "s*", "maxmemory*"))?.elements ?? []
        #expect(both.map(\.description).filter { $0 == "\"save\"" }.count == 1)
        #expect(both.count == 2 * 6,
                "save, slowlog-log-slower-than, slowlog-max-len, set-max-intset-entries, maxmemory, maxmemory-policy")
        #expect(node.send(1, "CONFIG", "GET", "port") == RESP.array(RESP.bulk("port"), RESP.bulk("7000")))
        #expect(node.send(1, "CONFIG", "GET", "nothing*") == "*0\r\n")
        #expect(node.send(1, "CONFIG", "GET") == RESP.error("ERR wrong number of arguments for 'config|get' command"))
    }

    @Test("CONFIG SET changes the slow log's settings, all or nothing, with Redis's errors")
    func configSet() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "5", "slowlog-max-len", "64") == RESP.ok)
        #expect(node.wire.slowLog.thresholdMicroseconds == 5)
        #expect(node.wire.slowLog.lengthLimit == 64)
        #expect(node.send(1, "CONFIG", "SET", "no-such-setting", "1") == RESP.error(
            "ERR Unknown option or number of arguments for CONFIG SET - 'no-such-setting'"))
        #expect(node.send(1, "CONFIG", "SET", "slowlog-max-len", "x") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - argument couldn't be parsed into an"
                + " integer"))
        #expect(node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "-2") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-log-slower-than') - argument must be between -1"
                + " and 9223372036854775807 inclusive"))
        #expect(node.send(1, "CONFIG", "SET", "slowlog-max-len", "1", "slowlog-max-len", "2") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'slowlog-max-len') - duplicate parameter"))
        #expect(node.send(1, "CONFIG", "SET", "slowlog-max-len", "1", "slowlog-log-slower-than", "x").hasPrefix("-ERR"))
        #expect(node.wire.slowLog.lengthLimit == 64, "a bad value anywhere leaves every setting as it was")
        #expect(node.send(1, "CONFIG", "SET", "slowlog-max-len") == RESP.error(
            "ERR wrong number of arguments for 'config|set' command"))
        #expect(node.send(1, "CONFIG", "SET", "a", "b", "c") == RESP.error("ERR syntax error"))
    }

    @Test("CONFIG SET accepts a fixed setting's current value and refuses another as immutable")
    func fixedSettings() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "SET", "save", "", "appendonly", "no") == RESP.ok)
        #expect(node.send(1, "CONFIG", "SET", "appendonly", "yes") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config"))
        #expect(node.send(1, "CONFIG", "REWRITE") == RESP.error("ERR The server is running without a config file"))
    }

    @Test("CONFIG SET keeps Redis's encoding thresholds under both names, checked as Redis checks them")
    func encodingThresholds() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "GET", "hash-max-listpack-entries") == RESP.array(
            RESP.bulk("hash-max-listpack-entries"), RESP.bulk("512")))
        #expect(node.send(1, "CONFIG", "SET", "hash-max-ziplist-entries", "16", "list-max-ziplist-size", "-3") == RESP.ok)
        #expect(node.send(1, "CONFIG", "GET", "hash-max-listpack-entries") == RESP.array(
            RESP.bulk("hash-max-listpack-entries"), RESP.bulk("16")), "the older name sets the same threshold")
        #expect(node.send(1, "CONFIG", "GET", "list-max-*") == RESP.array(
            RESP.bulk("list-max-listpack-size"), RESP.bulk("-3"), RESP.bulk("list-max-ziplist-size"), RESP.bulk("-3")))
        #expect(node.send(1, "CONFIG", "SET", "zset-max-ziplist-value", "1kb") == RESP.ok)
        #expect(node.send(1, "CONFIG", "GET", "zset-max-listpack-value") == RESP.array(
            RESP.bulk("zset-max-listpack-value"), RESP.bulk("1024")))
        #expect(node.send(1, "CONFIG", "SET", "set-max-intset-entries", "-1") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'set-max-intset-entries') - argument must be between 0"
                + " and 9223372036854775807 inclusive"))
        #expect(node.send(1, "CONFIG", "SET", "list-compress-depth", "deep") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - argument couldn't be parsed"
                + " into an integer"))
        #expect(node.send(1, "CONFIG", "SET", "hash-max-listpack-value", "12xb") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory"
                + " value"))
        #expect(node.send(1, "CONFIG", "SET", "hash-max-listpack-entries", "1", "slowlog-max-len", "x").hasPrefix("-ERR"))
        #expect(node.send(1, "CONFIG", "GET", "hash-max-listpack-entries") == RESP.array(
            RESP.bulk("hash-max-listpack-entries"), RESP.bulk("16")), "a bad value anywhere leaves every setting as it was")
        // They tune Redis's layouts only: OBJECT ENCODING keeps answering by Redis's defaults.
        node.send(1, "HSET", "h", "f", "v")
        node.send(1, "CONFIG", "SET", "hash-max-listpack-entries", "0")
        #expect(node.send(1, "OBJECT", "ENCODING", "h") == RESP.bulk("listpack"))
    }

    @Test("SLOWLOG notes the commands slower than the threshold, newest first, and GET, LEN and RESET work")
    func slowLog() {
        var node = ConnectedStore()
        node.send(1, "CLIENT", "SETNAME", "tool")
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "0")  // noted, as it ends under the new threshold
        node.send(1, "SET", "a", "1")
        node.send(1, "INCR", "a")
        node.send(1, "DEL", "a")
        #expect(node.send(1, "SLOWLOG", "LEN") == RESP.integer(4))
        let entries = Self.decoded(node.send(1, "SLOWLOG", "GET", "3"))?.elements ?? []
        #expect(entries.count == 3)
        #expect(entries.allSatisfy { $0.elements.count == 6 })
        #expect(entries.map { $0.elements[3] } == [
            .array([.bulk("SLOWLOG"), .bulk("LEN")]), .array([.bulk("DEL"), .bulk("a")]),
            .array([.bulk("INCR"), .bulk("a")]),
        ])
        #expect(entries.first?.elements[0] == .integer(4))
        // A command this node answers itself names its client; one the store executed is the log's, nameless.
        #expect(entries.first?.elements[5] == .bulk("tool"))
        #expect(entries.last?.elements[5] == .bulk(""))
        #expect(Self.decoded(node.send(1, "SLOWLOG", "GET", "-1"))?.elements.count == 6)
        #expect(node.send(1, "SLOWLOG", "GET", "-2") == RESP.error("ERR count should be greater than or equal to -1"))
        #expect(node.send(1, "SLOWLOG", "RESET") == RESP.ok)
        #expect(node.send(1, "SLOWLOG", "LEN") == RESP.integer(1), "RESET empties the log, then is noted in it")
        #expect(node.send(1, "SLOWLOG", "BOGUS") == RESP.error(
            "ERR unknown subcommand or wrong number of arguments for 'BOGUS'. Try SLOWLOG HELP."))
    }

    @Test("SLOWLOG keeps at most slowlog-max-len entries, nothing below the threshold, and trims long commands")
    func slowLogBounds() {
        var node = ConnectedStore()
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "2")
        for index in 0..<5 { node.send(1, "SET", "k\(index)", "v") }
        #expect(node.send(1, "SLOWLOG", "LEN") == RESP.integer(2))
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "-1")
        node.send(1, "SLOWLOG", "RESET")
        node.send(1, "SET", "k", "v")
        node.send(1, "PING")
        #expect(node.send(1, "SLOWLOG", "LEN") == RESP.integer(0), "a negative threshold logs nothing")
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "0")
        node.send(1, arguments: ["MSET"] + (0..<40).flatMap { ["key\($0)", String(repeating: "x", count: 200)] })
        let arguments = Self.decoded(node.send(1, "SLOWLOG", "GET", "1"))?.elements.first?.elements[3].elements ?? []
        #expect(arguments.count == 32)
        #expect(arguments.last == .bulk("... (50 more arguments)"))
        #expect(arguments[2] == .bulk(String(repeating: "x", count: 128) + "... (72 more bytes)"))
        #expect(node.send(1, "CONFIG", "SET", "slowlog-max-len", "\(SlowLog.entriesLimit + 1)").hasPrefix("-ERR"))
    }

    @Test("SLOWLOG notes the commands the node answers itself, passwords redacted, as Redis notes every command")
    func slowLogLocalCommands() throws {
        var node = ConnectedStore(requiredPassword: try #require(ClientPassword(Array("secret".utf8))))
        node.send(1, "AUTH", "secret")
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "0")
        node.send(1, "PING")
        node.send(1, "AUTH", "default", "secret")
        node.send(1, "HELLO", "2", "AUTH", "default", "secret", "SETNAME", "tool")
        node.send(1, "CONFIG", "SET", "requirepass", "secret", "slowlog-max-len", "64")
        let entries = Self.decoded(node.send(1, "SLOWLOG", "GET"))?.elements ?? []
        #expect(entries.map { $0.elements[3] } == [
            .array(["CONFIG", "SET", "requirepass", "(redacted)", "slowlog-max-len", "64"].map { .bulk($0) }),
            .array(["HELLO", "2", "AUTH", "(redacted)", "(redacted)", "SETNAME", "tool"].map { .bulk($0) }),
            .array(["AUTH", "(redacted)", "(redacted)"].map { .bulk($0) }),
            .array([.bulk("PING")]),
            .array(["CONFIG", "SET", "slowlog-log-slower-than", "0"].map { .bulk($0) }),
        ])
        #expect(entries.first?.elements[5] == .bulk("tool"), "the name HELLO gave")
    }

    @Test("an EXEC's commands are noted each on its own, and the EXEC as exec")
    func slowLogInsideExec() {
        var node = ConnectedStore()
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "0")
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "1")
        node.send(1, "EXEC")
        let entries = Self.decoded(node.send(1, "SLOWLOG", "GET"))?.elements ?? []
        #expect(entries.map { $0.elements[3] } == [
            .array([.bulk("exec")]), .array([.bulk("SET"), .bulk("a"), .bulk("1")]), .array([.bulk("MULTI")]),
            .array(["CONFIG", "SET", "slowlog-log-slower-than", "0"].map { .bulk($0) }),
        ])
    }

    @Test("COMMAND COUNT, LIST, INFO and DOCS describe the same commands, with Redis's fields")
    func command() {
        var node = ConnectedStore()
        let names = (Self.decoded(node.send(1, "COMMAND", "LIST"))?.elements ?? []).map(\.description)
        #expect(node.send(1, "COMMAND", "COUNT") == RESP.integer(names.count))
        #expect(Set(names).count == names.count, "each command once")
        #expect(names.contains("\"multi\"") && names.contains("\"get\"") && names.contains("\"slowlog\""))
        let info = Self.decoded(node.send(1, "COMMAND", "INFO", "get", "mset", "nosuch"))?.elements ?? []
        #expect(info.count == 3)
        #expect(info[0].elements.count == 10)
        #expect(Array(info[0].elements.prefix(6)) == [
            .bulk("get"), .integer(2), .array([.simple("readonly")]), .integer(1), .integer(1), .integer(1),
        ])
        #expect(Array(info[1].elements[3...5]) == [.integer(1), .integer(-1), .integer(2)])
        #expect(info[2] == .array(nil))
        #expect(Self.decoded(node.send(1, "COMMAND"))?.elements.count == names.count)
        let docs = Self.decoded(node.send(1, "COMMAND", "DOCS", "set"))?.elements ?? []
        #expect(docs == [.bulk("set"), .array([.bulk("group"), .bulk("string")])])
        #expect(Self.decoded(node.send(1, "COMMAND", "DOCS"))?.elements.count == 2 * names.count)
        #expect(node.send(1, "COMMAND", "LIST", "FILTERBY", "PATTERN", "mul*") == RESP.array(RESP.bulk("multi")))
        #expect(node.send(1, "COMMAND", "LIST", "FILTERBY", "MODULE", "x") == "*0\r\n")
        let sortedSet = Self.decoded(node.send(1, "COMMAND", "INFO", "zadd", "zunion"))?.elements ?? []
        #expect(Array(sortedSet[0].elements.prefix(6)) == [
            .bulk("zadd"), .integer(-4), .array([.simple("write")]), .integer(1), .integer(1), .integer(1),
        ])
        #expect(sortedSet[0].elements[6] == .array([.simple("@sortedset"), .simple("@write")]))
        #expect(Array(sortedSet[1].elements[1...5]) == [
            .integer(-3), .array([.simple("readonly")]), .integer(0), .integer(0), .integer(0),
        ])
        #expect(Self.decoded(node.send(1, "COMMAND", "DOCS", "zrange"))?.elements
            == [.bulk("zrange"), .array([.bulk("group"), .bulk("sorted_set")])])
        let sortedSetNames = Self.decoded(node.send(1, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "sortedset"))?.elements
        #expect(sortedSetNames?.count == 35 && sortedSetNames?.contains(.bulk("bzmpop")) == true)
        #expect(node.send(1, "COMMAND", "LIST", "FILTERBY", "BOGUS", "x") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "COMMAND", "BOGUS").hasPrefix("-ERR unknown subcommand 'BOGUS'"))
    }

    @Test("COMMAND DOCS is a flat array of names and field lists in RESP2, and a map of maps in RESP3")
    func commandDocsShapes() {
        var node = ConnectedStore()
        let set = "$3\r\nset\r\n", group = "$5\r\ngroup\r\n"
        #expect(node.send(1, "COMMAND", "DOCS", "set", "nosuch", "zadd")
            == "*4\r\n" + set + "*2\r\n" + group + "$6\r\nstring\r\n$4\r\nzadd\r\n*2\r\n" + group
                + "$10\r\nsorted_set\r\n")
        #expect(node.send(1, "COMMAND", "DOCS", "nosuch") == "*0\r\n")
        #expect(node.send(1, "HELLO", "3").hasPrefix("%"))
        #expect(node.send(1, "COMMAND", "DOCS", "set", "nosuch", "zadd")
            == "%2\r\n" + set + "%1\r\n" + group + "$6\r\nstring\r\n$4\r\nzadd\r\n%1\r\n" + group
                + "$10\r\nsorted_set\r\n")
        #expect(node.send(1, "COMMAND", "DOCS", "nosuch") == "%0\r\n")
        let count = Self.decoded(node.send(2, "COMMAND", "COUNT")).map { if case .integer(let n) = $0 { Int(n) } else { 0 } }
        #expect(node.send(1, "COMMAND", "DOCS").hasPrefix("%\(count ?? 0)\r\n"), "every command, one entry each")
    }

    @Test("COMMAND GETKEYS finds keys by position, by a key count, and SORT's STORE, with Redis's errors")
    func commandGetKeys() {
        var node = ConnectedStore()
        func keys(_ arguments: String...) -> [String] {
            (Self.decoded(node.send(1, arguments: ["COMMAND", "GETKEYS"] + arguments))?.elements ?? []).compactMap {
                if case .bulk(let key) = $0 { key } else { nil }
            }
        }
        #expect(keys("GET", "a") == ["a"])
        #expect(keys("MSET", "a", "1", "b", "2") == ["a", "b"])
        #expect(keys("SINTERSTORE", "d", "a", "b") == ["d", "a", "b"])
        #expect(keys("LMOVE", "a", "b", "LEFT", "RIGHT") == ["a", "b"])
        #expect(keys("BLPOP", "a", "b", "0") == ["a", "b"])
        #expect(keys("ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2") == ["d", "a", "b"])
        #expect(keys("BLMPOP", "0", "2", "a", "b", "LEFT") == ["a", "b"])
        #expect(keys("SORT", "a", "LIMIT", "0", "1", "BY", "w_*", "GET", "#", "STORE", "d") == ["a", "d"])
        #expect(keys("SORT", "a", "STORE", "x", "STORE", "y", "STORE", "d") == ["a", "d"], "SORT stores in the last")
        #expect(keys("EVAL", "return 1", "0").isEmpty)
        #expect(node.send(1, "COMMAND", "GETKEYS", "NOSUCH", "a") == RESP.error("ERR Invalid command specified"))
        #expect(node.send(1, "COMMAND", "GETKEYS", "PING") == RESP.error("ERR The command has no key arguments"))
        #expect(node.send(1, "COMMAND", "GETKEYS", "GET", "a", "b")
            == RESP.error("ERR Invalid number of arguments specified for command"))
        #expect(node.send(1, "COMMAND", "GETKEYS", "ZUNION", "3", "a", "b")
            == RESP.error("ERR Invalid arguments specified for command"))
    }

    @Test("COMMAND GETKEYSANDFLAGS pairs each key with its Redis 7.0 key-spec flags, a set in RESP3; GETKEYS' errors")
    func commandGetKeysAndFlags() {
        var node = ConnectedStore()
        /// Each key as `key:flag,flag`.
        func flags(_ arguments: String...) -> [String] {
            let reply = Self.decoded(node.send(1, arguments: ["COMMAND", "GETKEYSANDFLAGS"] + arguments))
            return (reply?.elements ?? []).map { pair in
                guard pair.elements.count == 2, case .bulk(let key?) = pair.elements[0] else { return "\(pair)" }
                return key + ":" + pair.elements[1].elements.map { if case .simple(let flag) = $0 { flag } else { "?" } }
                    .joined(separator: ",")
            }
        }
        #expect(flags("GET", "a") == ["a:RO,access"])
        #expect(flags("EXISTS", "a", "b") == ["a:RO", "b:RO"])
        #expect(flags("SET", "a", "1") == ["a:OW,update"])
        #expect(flags("SET", "a", "1", "get") == ["a:RW,access,update"], "SET ... GET reads the old value")
        #expect(flags("DEL", "a", "b") == ["a:RM,delete", "b:RM,delete"])
        #expect(flags("MSET", "a", "1", "b", "2") == ["a:OW,update", "b:OW,update"])
        #expect(flags("LPUSH", "q", "x") == ["q:RW,insert"])
        #expect(flags("LMOVE", "a", "b", "LEFT", "RIGHT") == ["a:RW,access,delete", "b:RW,insert"])
        #expect(flags("ZUNIONSTORE", "d", "2", "a", "b") == ["d:OW,update", "a:RO,access", "b:RO,access"])
        #expect(flags("SINTERSTORE", "d", "a") == ["d:RW,update", "a:RO,access"])
        #expect(flags("SORT", "a", "STORE", "d") == ["a:RO,access", "d:OW,update"])
        #expect(flags("BLMPOP", "0", "1", "a", "LEFT") == ["a:RW,access,delete"])
        #expect(flags("EVAL", "return 1", "1", "k") == ["k:RW,access,update"])
        #expect(flags("EVAL", "return 1", "0").isEmpty)
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "NOSUCH", "a") == RESP.error("ERR Invalid command specified"))
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "PING") == RESP.error("ERR The command has no key arguments"))
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "GET", "a", "b")
            == RESP.error("ERR Invalid number of arguments specified for command"))
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "ZUNION", "3", "a", "b")
            == RESP.error("ERR Invalid arguments specified for command"))
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "LPUSH", "q", "x") == "*1\r\n*2\r\n$1\r\nq\r\n*2\r\n+RW\r\n+insert\r\n")
        #expect(node.send(1, "HELLO", "3").hasPrefix("%"))
        #expect(node.send(1, "COMMAND", "GETKEYSANDFLAGS", "LPUSH", "q", "x") == "*1\r\n*2\r\n$1\r\nq\r\n~2\r\n+RW\r\n+insert\r\n")
    }

    @Test("every command with keys has key flags, and the flag table names only known commands")
    func keyFlagsCoverTheCommands() {
        let described = KeyValueFrontend.commandDescriptions
        let movable = ["zunion", "zinter", "zdiff", "zintercard", "sintercard", "lmpop", "zmpop", "blmpop", "bzmpop", "sort"]
        for command in described where command.firstKey != 0 || movable.contains(command.name) {
            #expect(KeyValueFrontend.keyFlagsByCommand[command.name] != nil, "\(command.name) has no key flags")
        }
        let names = Set(described.map(\.name))
        for (_, tabled) in KeyValueFrontend.firstKeyFlags + KeyValueFrontend.otherKeyFlags {
            for name in tabled.split(separator: " ") { #expect(names.contains(String(name)), "\(name) is no command") }
        }
    }

    @Test("CLIENT LIST lists every connection with its address; filters by TYPE and ID")
    func clientList() {
        var node = ConnectedStore()
        node.send(1, "CLIENT", "SETNAME", "one")
        node.send(2, "PING")
        node.send(3, "SUBSCRIBE", "news")
        let lines = Self.decoded(node.send(1, "CLIENT", "LIST")).flatMap { reply -> [String]? in
            if case .bulk(let text?) = reply { text.split(separator: "\n").map(String.init) } else { nil }
        } ?? []
        #expect(lines.count == 3)
        #expect(lines[0].hasPrefix("id=1 addr=127.0.0.1:50001 laddr=127.0.0.1:7000 fd=11 name=one "))
        #expect(lines[0].contains(" cmd=client|list "))
        #expect(lines[2].contains(" flags=P ") && lines[2].contains(" sub=1 "))
        #expect(node.send(1, "CLIENT", "LIST", "TYPE", "pubsub").contains("id=3 "))
        #expect(!node.send(1, "CLIENT", "LIST", "TYPE", "normal").contains("id=3 "))
        #expect(node.send(1, "CLIENT", "LIST", "ID", "2").hasPrefix("$"))
        #expect(node.send(1, "CLIENT", "LIST", "ID", "2").contains("id=2 addr="))
        #expect(node.send(2, "CLIENT", "INFO").contains("id=2 addr=127.0.0.1:50002 "))
    }

    @Test("CLIENT KILL closes the connections its filters match, skipping the asker unless told, with Redis's replies")
    func clientKill() {
        var node = ConnectedStore()
        for client in 1...5 as ClosedRange<UInt64> { node.send(client, "PING") }
        #expect(node.send(1, "CLIENT", "KILL", "ID", "2") == RESP.integer(1))
        #expect(node.closed == [2])
        #expect(node.send(1, "CLIENT", "KILL", "127.0.0.1:50003") == RESP.ok)
        #expect(node.send(1, "CLIENT", "KILL", "127.0.0.1:59999") == RESP.error("ERR No such client"))
        #expect(node.send(1, "CLIENT", "KILL", "ADDR", "127.0.0.1:50004", "SKIPME", "yes") == RESP.integer(1))
        #expect(node.send(1, "CLIENT", "KILL", "LADDR", "127.0.0.1:7000") == RESP.integer(1), "all but the asker")
        #expect(node.closed == [2, 3, 4, 5])
        #expect(node.send(1, "CLIENT", "KILL", "ID", "0") == RESP.error("ERR client-id should be greater than 0"))
        #expect(node.send(1, "CLIENT", "KILL", "TYPE", "bogus") == RESP.error("ERR Unknown client type 'bogus'"))
        #expect(node.send(1, "CLIENT", "KILL", "USER", "alice") == RESP.error("ERR No such user 'alice'"))
        #expect(node.send(1, "CLIENT", "KILL", "ID", "1", "SKIPME", "maybe") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "CLIENT", "KILL", "ID") == RESP.error("ERR No such client"), "three words: the old form")
        #expect(node.send(1, "CLIENT", "KILL", "USER", "default", "SKIPME", "no") == RESP.integer(1))
        #expect(node.closed == [2, 3, 4, 5, 1], "SKIPME no closes the asker too, after its reply")
    }
}
