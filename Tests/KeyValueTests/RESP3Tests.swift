import Testing
@testable import KeyValue
import Replication

/// HELLO 3 and the replies of a RESP3 connection, per command family, as Redis 7.0 gives them; RESP2 unchanged.
@Suite("RESP3: HELLO 3 and the reply shapes")
struct RESP3Tests {
    /// A store with connection 1 switched to RESP3 and connection 2 left on RESP2.
    static func connected() -> ConnectedStore {
        var node = ConnectedStore()
        _ = node.send(1, "HELLO", "3")
        _ = node.send(2, "PING")
        return node
    }

    static func helloMap(id: Int, proto: Int) -> String {
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:\(proto)\r\n$2\r\nid\r\n"
            + ":\(id)\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    }

    @Test("HELLO 3 answers a map and switches; HELLO alone keeps 3; RESET and HELLO 2 go back; errors change nothing")
    func hello() {
        var node = ConnectedStore()
        #expect(node.send(1, "HELLO", "3") == Self.helloMap(id: 1, proto: 3))
        #expect(node.send(1, "HELLO") == Self.helloMap(id: 1, proto: 3))
        #expect(node.send(1, "GET", "missing") == "_\r\n")
        #expect(node.send(1, "HELLO", "4") == "-NOPROTO unsupported protocol version\r\n")
        #expect(node.send(1, "HELLO", "2", "SETNAME", "a b").hasPrefix("-ERR Client names"))
        #expect(node.send(1, "GET", "missing") == "_\r\n", "a refused HELLO leaves the protocol as it was")
        #expect(node.send(1, "HELLO", "2").hasPrefix("*14\r\n"))
        #expect(node.send(1, "GET", "missing") == RESP.nullBulk)
        #expect(node.send(1, "HELLO", "3", "SETNAME", "three") == Self.helloMap(id: 1, proto: 3))
        #expect(node.clientLine(1).hasSuffix(" resp=3"))
        #expect(node.clientLine(1).contains(" name=three "))
        #expect(node.send(1, "RESET") == "+RESET\r\n")
        #expect(node.clientLine(1).hasSuffix(" resp=2"))
        #expect(node.send(1, "GET", "missing") == RESP.nullBulk)
    }

    @Test("SENTINEL describes each instance as a map, as Sentinel's RESP3 replies do (redis-py's Sentinel reads them so)")
    func sentinelMaps() {
        var node = Self.connected()
        #expect(node.send(1, "SENTINEL", "MASTER", "lockstep").hasPrefix("%"))
        #expect(node.send(1, "SENTINEL", "MASTERS").hasPrefix("*1\r\n%"))
        #expect(node.send(2, "SENTINEL", "MASTERS").hasPrefix("*1\r\n*"), "RESP2 keeps the flat array")
        #expect(node.send(1, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "lockstep").hasPrefix("*2\r\n$"))
    }

    @Test("HELLO 3 with a wrong password answers WRONGPASS and leaves the connection on RESP2")
    func helloWrongPassword() {
        let wire = KeyValueClientProtocol(requiredPassword: ClientPassword(bytes("secret")))
        var session = wire.makeSession(clientID: 5)
        let status = NodeStatus(role: .primary, nodeName: "a", epoch: 1, clientAddress: "127.0.0.1:7000")
        func send(_ arguments: String...) -> String {
            var request = "*\(arguments.count)\r\n"
            for argument in arguments { request += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            guard case .local(let reply)? = wire.nextRequest(from: &session, status: status, digest: { 0 }) else {
                return "(not local)"
            }
            return text(reply)
        }
        #expect(send("HELLO", "3", "AUTH", "default", "nope").hasPrefix("-WRONGPASS"))
        #expect(session.connection.protocolVersion == 2)
        #expect(send("HELLO", "3").hasPrefix("-NOAUTH HELLO must be called"))
        #expect(session.connection.protocolVersion == 2)
        #expect(send("HELLO", "3", "AUTH", "default", "secret").hasPrefix("%7\r\n"))
        #expect(session.connection.protocolVersion == 3)
    }

    @Test("strings: nulls are _ at any depth; everything else is as in RESP2, and RESP2 entries are not wrapped")
    func strings() {
        var node = Self.connected()
        #expect(node.send(1, "SET", "k", "v") == RESP.ok)
        #expect(node.send(1, "GET", "k") == "$1\r\nv\r\n")
        #expect(node.send(1, "MGET", "k", "nope") == "*2\r\n$1\r\nv\r\n_\r\n")
        #expect(node.send(2, "MGET", "k", "nope") == "*2\r\n$1\r\nv\r\n$-1\r\n")
        #expect(node.send(2, "SET", "plain", "x") == RESP.ok)
        guard case .command(let last, _)? = node.log.last else {
            Issue.record("no entry")
            return
        }
        #expect(last == KeyValueCommand.encode([bytes("SET"), bytes("plain"), bytes("x")]))
    }

    @Test("hashes: HGETALL is a map, HRANDFIELD WITHVALUES pairs, HKEYS an array")
    func hashes() {
        var node = Self.connected()
        node.send(1, "HSET", "h", "f", "v")
        #expect(node.send(1, "HGETALL", "h") == "%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
        #expect(node.send(1, "HGETALL", "none") == "%0\r\n")
        #expect(node.send(2, "HGETALL", "h") == "*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
        #expect(node.send(1, "HRANDFIELD", "h", "1", "WITHVALUES") == "*1\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n")
        #expect(node.send(1, "HKEYS", "h") == "*1\r\n$1\r\nf\r\n")
        #expect(node.send(1, "HGET", "h", "x") == "_\r\n")
    }

    @Test("sets: SMEMBERS, SINTER, SUNION, SDIFF and SPOP with a count are sets; SRANDMEMBER with a count an array")
    func sets() {
        var node = Self.connected()
        node.send(1, "SADD", "s", "a")
        node.send(1, "SADD", "t", "a")
        #expect(node.send(1, "SMEMBERS", "s") == "~1\r\n$1\r\na\r\n")
        #expect(node.send(1, "SINTER", "s", "t") == "~1\r\n$1\r\na\r\n")
        #expect(node.send(1, "SUNION", "s", "t") == "~1\r\n$1\r\na\r\n")
        #expect(node.send(1, "SDIFF", "s", "t") == "~0\r\n")
        #expect(node.send(1, "SRANDMEMBER", "s", "1") == "*1\r\n$1\r\na\r\n")
        #expect(node.send(1, "SPOP", "t", "1") == "~1\r\n$1\r\na\r\n")
        #expect(node.send(1, "SPOP", "t") == "_\r\n")
        #expect(node.send(2, "SMEMBERS", "s") == "*1\r\n$1\r\na\r\n")
    }

    @Test("sorted sets: scores are doubles, WITHSCORES and counted pops are pairs, a single pop is flat")
    func sortedSets() {
        var node = Self.connected()
        #expect(node.send(1, "ZADD", "z", "1.5", "a", "2", "b") == ":2\r\n")
        #expect(node.send(1, "ZSCORE", "z", "a") == ",1.5\r\n")
        #expect(node.send(1, "ZSCORE", "z", "none") == "_\r\n")
        #expect(node.send(2, "ZSCORE", "z", "a") == "$3\r\n1.5\r\n")
        #expect(node.send(1, "ZMSCORE", "z", "a", "none") == "*2\r\n,1.5\r\n_\r\n")
        #expect(node.send(1, "ZINCRBY", "z", "1", "b") == ",3\r\n")
        #expect(node.send(1, "ZADD", "z", "XX", "INCR", "1", "b") == ",4\r\n")
        #expect(node.send(1, "ZADD", "z", "1", "incr") == ":1\r\n", "a member named incr is not the option")
        #expect(
            node.send(1, "ZRANGE", "z", "0", "1", "WITHSCORES")
                == "*2\r\n*2\r\n$4\r\nincr\r\n,1\r\n*2\r\n$1\r\na\r\n,1.5\r\n")
        #expect(node.send(1, "ZRANGE", "z", "0", "0") == "*1\r\n$4\r\nincr\r\n")
        #expect(node.send(1, "ZUNION", "1", "z", "WITHSCORES").hasPrefix("*3\r\n*2\r\n$4\r\nincr\r\n,1\r\n"))
        #expect(node.send(1, "ZPOPMIN", "z") == "*2\r\n$4\r\nincr\r\n,1\r\n")
        #expect(node.send(1, "ZPOPMAX", "z", "1") == "*1\r\n*2\r\n$1\r\nb\r\n,4\r\n")
        #expect(node.send(2, "ZPOPMIN", "z", "1") == "*2\r\n$1\r\na\r\n$3\r\n1.5\r\n")
        node.send(1, "ZADD", "y", "7", "m")
        #expect(node.send(1, "ZMPOP", "1", "y", "MIN") == "*2\r\n$1\r\ny\r\n*1\r\n*2\r\n$1\r\nm\r\n,7\r\n")
        #expect(node.send(1, "ZMPOP", "1", "y", "MIN") == "_\r\n")
    }

    @Test("CONFIG GET is a map, INFO and CLIENT INFO/LIST verbatim text")
    func localReplies() {
        var node = Self.connected()
        #expect(node.send(1, "CONFIG", "GET", "maxmemory") == "%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
        #expect(node.send(2, "CONFIG", "GET", "maxmemory") == "*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n")
        #expect(node.send(1, "INFO", "server").hasPrefix("="))
        #expect(node.send(1, "INFO", "server").contains("\r\ntxt:# Server"))
        #expect(node.send(2, "INFO", "server").hasPrefix("$"))
        let info = node.send(1, "CLIENT", "INFO")
        #expect(info.hasPrefix("="))
        #expect(info.contains("txt:id=1 "))
        #expect(info.contains(" resp=3\n"))
        #expect(node.send(1, "CLIENT", "LIST").contains(" resp=2\n"))
    }

    @Test("Pub/Sub confirmations are pushes; a subscribed RESP3 connection may run any command")
    func pubSub() {
        var node = Self.connected()
        #expect(
            node.send(1, "SUBSCRIBE", "a", "b")
                == ">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")
        #expect(node.send(1, "GET", "k") == "_\r\n")
        #expect(node.send(1, "PING") == "+PONG\r\n")
        #expect(node.send(1, "UNSUBSCRIBE", "a") == ">3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:1\r\n")
        node.send(2, "SUBSCRIBE", "a")
        #expect(node.send(2, "GET", "k").hasPrefix("-ERR Can't execute 'get'"))
    }

    @Test("a role change notice is a push to a RESP3 subscriber and an array to a RESP2 one")
    func notices() {
        let wire = KeyValueClientProtocol()
        var three = wire.makeSession(clientID: 1)
        var two = wire.makeSession(clientID: 2)
        let status = NodeStatus(role: .primary, nodeName: "a", epoch: 1, clientAddress: "127.0.0.1:7000")
        func send(_ request: String, _ session: inout KeyValueClientProtocol.Session) {
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            _ = wire.nextRequest(from: &session, status: status, digest: { 0 })
        }
        send("HELLO 3\r\n", &three)
        send("PSUBSCRIBE *\r\n", &three)
        send("PSUBSCRIBE *\r\n", &two)
        let old = NodeStatus(role: .backup, nodeName: "a", epoch: 1, peerClientAddress: "127.0.0.1:7001",
            clientAddress: "127.0.0.1:7000")
        let new = NodeStatus(role: .primary, nodeName: "a", epoch: 2, clientAddress: "127.0.0.1:7000")
        #expect(wire.roleChangeNotice(from: old, to: new, session: three).map(text)?.hasPrefix(">4\r\n$8\r\npmessage") == true)
        #expect(wire.roleChangeNotice(from: old, to: new, session: two).map(text)?.hasPrefix("*4\r\n$8\r\npmessage") == true)
    }

    @Test("EXEC shapes each queued reply by its command, node-local ones included; aborted is _")
    func transactions() {
        var node = Self.connected()
        node.send(1, "ZADD", "z", "1", "a")
        #expect(node.send(1, "MULTI") == RESP.ok)
        #expect(node.send(1, "ZSCORE", "z", "a") == RESP.queued)
        #expect(node.send(1, "CONFIG", "GET", "maxmemory") == RESP.queued)
        #expect(node.send(1, "GET", "none") == RESP.queued)
        #expect(node.send(1, "EXEC") == "*3\r\n,1\r\n%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n_\r\n")
        #expect(node.send(1, "WATCH", "z") == RESP.ok)
        node.send(2, "ZADD", "z", "2", "a")
        node.send(1, "MULTI")
        node.send(1, "GET", "z")
        #expect(node.send(1, "EXEC") == "_\r\n")
    }

    @Test("another database's entries are shaped by the command inside")
    func databases() {
        var node = Self.connected()
        #expect(node.send(1, "SELECT", "3") == RESP.ok)
        node.send(1, "HSET", "h", "f", "v")
        #expect(node.send(1, "HGETALL", "h") == "%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
    }

    @Test("SESSION EXEC saves the RESP2 reply: a retry gets it in the protocol the retrying connection speaks")
    func sessions() {
        var node = Self.connected()
        let id = String(node.send(2, "SESSION", "OPEN").dropFirst().dropLast())  // "\r\n" is one Character
        node.send(2, "SESSION", "EXEC", id, "1", "ZADD", "z", "2.5", "m")
        #expect(node.send(2, "SESSION", "EXEC", id, "2", "ZINCRBY", "z", "1", "m") == "$3\r\n3.5\r\n")
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "ZINCRBY", "z", "1", "m") == ",3.5\r\n")
        #expect(node.send(2, "SESSION", "EXEC", id, "2", "ZINCRBY", "z", "1", "m") == "$3\r\n3.5\r\n")
    }

    @Test("reads answered without an entry are shaped as applied ones are")
    func reads() {
        var node = Self.connected()
        node.send(1, "HSET", "h", "f", "v")
        let entry = RESP3Entry.wrapping(KeyValueCommand.encode([bytes("HGETALL"), bytes("h")]))
        var reply: [UInt8] = []
        var context = ApplyContext.recording(from: node.primary.entropy)
        #expect(node.primary.store.read(entry, into: &reply, context: &context))
        #expect(text(reply) == "%1\r\n$1\r\nf\r\n$1\r\nv\r\n")
    }

    @Test("DEBUG PROTOCOL writes each RESP3 type in RESP3 and Redis's stand-ins in RESP2")
    func debugProtocol() {
        var node = Self.connected()
        #expect(node.send(1, "DEBUG", "PROTOCOL", "true") == "#t\r\n")
        #expect(node.send(2, "DEBUG", "PROTOCOL", "true") == ":1\r\n")
        #expect(node.send(1, "DEBUG", "PROTOCOL", "map") == "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n")
        #expect(node.send(1, "DEBUG", "PROTOCOL", "bignum") == "(1234567999999999999999999999999999999\r\n")
        #expect(node.send(1, "DEBUG", "PROTOCOL", "verbatim") == "=29\r\ntxt:This is a verbatim\nstring\r\n")
        #expect(
            node.send(1, "DEBUG", "PROTOCOL", "attrib")
                == "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
                + "$39\r\nSome real reply following the attribute\r\n")
        #expect(node.send(2, "DEBUG", "PROTOCOL", "attrib") == "$39\r\nSome real reply following the attribute\r\n")
        #expect(node.send(2, "DEBUG", "PROTOCOL", "push") == "-ERR RESP2 is not supported by this command\r\n")
        #expect(node.send(1, "DEBUG", "PROTOCOL", "nope").hasPrefix("-ERR Wrong protocol type name."))
    }

    @Test("the converter: nested nulls, frames already in RESP3 copied, malformed bytes returned unchanged")
    func converter() {
        let nested = Array("*2\r\n*1\r\n$-1\r\n*-1\r\n".utf8)
        #expect(text(RESP3.convert(nested, .plain)) == "*2\r\n*1\r\n_\r\n_\r\n")
        let already = Array("*2\r\n%1\r\n$1\r\na\r\n_\r\n,1.5\r\n".utf8)
        #expect(RESP3.convert(already, .plain) == already)
        #expect(RESP3.convert(RESP3.convert(nested, .plain), .plain) == RESP3.convert(nested, .plain))
        let truncated = Array("*2\r\n$3\r\nab".utf8)
        #expect(RESP3.convert(truncated, .map) == truncated)
        #expect(text(RESP3.convert(Array("*3\r\n:1\r\n:2\r\n:3\r\n".utf8), .map)) == "*3\r\n:1\r\n:2\r\n:3\r\n")
        #expect(text(RESP3.convert(Array("-ERR x\r\n".utf8), .double)) == "-ERR x\r\n")
    }
}
