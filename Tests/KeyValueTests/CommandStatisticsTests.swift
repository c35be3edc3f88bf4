import Testing
@testable import KeyValue
import Replication

/// INFO commandstats, errorstats and `total_error_replies`, as Redis 7.0's tests/unit/info.tcl checks them: calls,
/// failed and rejected calls, error prefixes, subcommands, CONFIG RESETSTAT, and the sections INFO gives.
@Suite("command statistics: INFO commandstats and errorstats")
struct CommandStatisticsTests {
    /// INFO `sections` on `node` as `name: value`, as Redis's test helpers (`cmdstat`, `errorstat`, `s`) read them.
    static func info(_ node: inout ConnectedStore, _ sections: String...) -> [String: String] {
        let reply = node.send(99, arguments: ["INFO"] + sections)
        var fields: [String: String] = [:]
        for line in reply.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    /// `cmdstat_<name>` without its `usec` figures, which vary: `calls=N,rejected_calls=R,failed_calls=F`.
    static func counts(_ node: inout ConnectedStore, _ name: String) -> String? {
        guard let line = info(&node, "commandstats")["cmdstat_\(name)"] else { return nil }
        return line.split(separator: ",").filter { !$0.hasPrefix("usec") }.joined(separator: ",")
    }

    static func errorCount(_ node: inout ConnectedStore, _ prefix: String) -> String? {
        info(&node, "errorstats")["errorstat_\(prefix)"]
    }

    static func totalErrors(_ node: inout ConnectedStore) -> String? {
        info(&node, "stats")["total_error_replies"]
    }

    @Test("a wrong arity is a rejected call, and the calls after it count; the line has Redis's fields in order")
    func wrongArityThenCalls() throws {
        var node = ConnectedStore()
        #expect(node.send(1, "SET", "k") == RESP.error("ERR wrong number of arguments for 'set' command"))
        #expect(Self.counts(&node, "set") == "calls=0,rejected_calls=1,failed_calls=0")
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        node.send(1, "SET", "k1", "v1")
        node.send(1, "SET", "k2", "v2")
        let line = try #require(Self.info(&node, "commandstats")["cmdstat_set"])
        let format = /calls=2,usec=\d+,usec_per_call=\d+\.\d\d,rejected_calls=1,failed_calls=0/
        #expect(line.wholeMatch(of: format) != nil, "\(line)")
        #expect(Self.totalErrors(&node) == "1")
    }

    @Test("a command that runs and answers an error is a failed call, counted under its error's prefix")
    func failedCalls() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        #expect(node.send(1, "LPUSH", "k", "x").hasPrefix("-WRONGTYPE"))
        #expect(node.send(1, "INCR", "k").hasPrefix("-ERR"))
        #expect(Self.counts(&node, "lpush") == "calls=1,rejected_calls=0,failed_calls=1")
        #expect(Self.counts(&node, "incr") == "calls=1,rejected_calls=0,failed_calls=1")
        #expect(Self.counts(&node, "set") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.errorCount(&node, "WRONGTYPE") == "count=1")
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        #expect(Self.totalErrors(&node) == "2")
    }

    @Test("an unknown command counts only its error, with no line of its own")
    func unknownCommand() {
        var node = ConnectedStore()
        #expect(node.send(1, "ASDF").hasPrefix("-ERR unknown command"))
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        #expect(Self.totalErrors(&node) == "1")
        #expect(!Self.info(&node, "commandstats").keys.contains { $0.contains("asdf") })
    }

    @Test("inside MULTI a refused command is rejected, and the EXEC it spoils fails with EXECABORT")
    func refusedInsideTransaction() {
        var node = ConnectedStore()
        #expect(node.send(1, "MULTI") == RESP.ok)
        #expect(node.send(1, "SET") == RESP.error("ERR wrong number of arguments for 'set' command"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        #expect(Self.errorCount(&node, "EXECABORT") == "count=1")
        #expect(Self.totalErrors(&node) == "2")
        #expect(Self.counts(&node, "set") == "calls=0,rejected_calls=1,failed_calls=0")
        #expect(Self.counts(&node, "multi") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "exec") == "calls=1,rejected_calls=0,failed_calls=1")
        // EXEC's own error is pinned on EXEC.
        #expect(node.send(1, "EXEC") == RESP.error("ERR EXEC without MULTI"))
        #expect(Self.counts(&node, "exec") == "calls=2,rejected_calls=0,failed_calls=2")
    }

    @Test("each command EXEC runs is a call of its own, a failing one a failed call, EXEC itself not failed")
    func commandsInTransaction() {
        var node = ConnectedStore()
        node.send(1, "SET", "list", "x")
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "b")
        node.send(1, "LPUSH", "list", "y")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC").contains("-WRONGTYPE"))
        #expect(Self.counts(&node, "set") == "calls=2,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "lpush") == "calls=1,rejected_calls=0,failed_calls=1")
        #expect(Self.counts(&node, "ping") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "exec") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.errorCount(&node, "WRONGTYPE") == "count=1")
    }

    @Test("a node-local command queued in MULTI is a call when EXEC runs it; failing, a failed call, EXEC not failed")
    func localCommandInTransaction() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "b")
        #expect(node.send(1, "AUTH", "a") == RESP.queued)
        #expect(node.send(1, "EXEC").contains("-ERR AUTH"))
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        #expect(Self.counts(&node, "set") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "auth") == "calls=1,rejected_calls=0,failed_calls=1")
        #expect(Self.counts(&node, "exec") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.totalErrors(&node) == "1")
    }

    @Test("subcommands count as container|subcommand; an unknown subcommand counts only its error")
    func subcommands() {
        var node = ConnectedStore()
        node.send(1, "CLIENT", "ID")
        node.send(1, "config", "get", "save")
        node.send(1, "SET", "k", "v")
        node.send(1, "OBJECT", "ENCODING", "k")
        #expect(node.send(1, "CONFIG", "NOSUCH").hasPrefix("-ERR unknown subcommand"))
        #expect(Self.counts(&node, "client|id") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "config|get") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "object|encoding") == "calls=1,rejected_calls=0,failed_calls=0")
        let names = Self.info(&node, "commandstats").keys
        #expect(!names.contains("cmdstat_config") && !names.contains("cmdstat_client"))
        #expect(!names.contains { $0.contains("nosuch") })
        #expect(Self.errorCount(&node, "ERR") == "count=1")
        // A subcommand's own arity check is a refusal, as Redis makes it before running it.
        #expect(node.send(1, "CONFIG", "GET") == RESP.error("ERR wrong number of arguments for 'config|get' command"))
        #expect(Self.counts(&node, "config|get") == "calls=1,rejected_calls=1,failed_calls=0")
    }

    @Test("CONFIG RESETSTAT forgets every count and error; counting starts again")
    func resetStatistics() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        node.send(1, "ASDF")
        node.send(1, "GET")
        #expect(node.send(1, "CONFIG", "RESETSTAT") == RESP.ok)
        // RESETSTAT itself ran after the reset, and counts.
        #expect(Self.info(&node, "commandstats").keys.sorted() == ["cmdstat_config|resetstat"])
        #expect(Self.info(&node, "errorstats").isEmpty)
        #expect(Self.totalErrors(&node) == "0")
        node.send(1, "SET", "k", "v")
        #expect(Self.counts(&node, "set") == "calls=1,rejected_calls=0,failed_calls=0")
    }

    @Test("NOAUTH and READONLY refuse a command before it runs: rejected calls, under their prefixes")
    func refusals() throws {
        var locked = ConnectedStore(requiredPassword: try #require(ClientPassword(Array("secret".utf8))))
        #expect(locked.send(1, "SET", "a", "b").hasPrefix("-NOAUTH"))
        #expect(locked.send(1, "AUTH", "wrong").hasPrefix("-WRONGPASS"))
        locked.send(99, "AUTH", "secret")
        #expect(Self.counts(&locked, "set") == "calls=0,rejected_calls=1,failed_calls=0")
        #expect(Self.errorCount(&locked, "NOAUTH") == "count=1")
        #expect(Self.counts(&locked, "auth") == "calls=2,rejected_calls=0,failed_calls=1")
        #expect(Self.errorCount(&locked, "WRONGPASS") == "count=1")

        var backup = ConnectedStore()
        backup.status = NodeStatus(
            role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7000")
        #expect(backup.send(1, "SET", "a", "b").hasPrefix("-READONLY"))
        #expect(Self.counts(&backup, "set") == "calls=0,rejected_calls=1,failed_calls=0")
        #expect(Self.errorCount(&backup, "READONLY") == "count=1")
    }

    @Test("a blocking pop counts once, not the pop that serves it, and an error that ends it is a failed call")
    func blockingPops() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "list", "0") == ConnectedStore.waiting)
        node.send(2, "LPUSH", "list", "a")
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("list"), RESP.bulk("a"))])
        #expect(Self.counts(&node, "blpop") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "lpush") == "calls=1,rejected_calls=0,failed_calls=0")
        #expect(Self.counts(&node, "lpop") == nil, "the pop that served the waiter is BLPOP's work")
        #expect(node.send(1, "BLPOP", "list", "0") == ConnectedStore.waiting)
        node.unblock(1, isError: true)
        #expect(Self.counts(&node, "blpop") == "calls=2,rejected_calls=0,failed_calls=1")
        #expect(Self.errorCount(&node, "UNBLOCKED") == "count=1")
    }

    @Test("a read answered without a log entry counts as a call; a failing one as a failed call")
    func readsWithoutEntry() {
        let slowLog = SlowLog()
        var driver = StoreDriver()
        driver.store = KeyValueStore(slowLog: slowLog)
        driver.run("SET", "k", "v")
        driver.run("LPUSH", "list", "a")
        let statistics = slowLog.commandStatistics
        statistics.reset()
        var context = ApplyContext.recording(from: driver.entropy)
        var reply: [UInt8] = []
        func read(_ arguments: String...) -> Bool {
            driver.store.read(KeyValueCommand.encode(arguments.map(bytes)), into: &reply, context: &context)
        }
        #expect(read("GET", "k"))
        #expect(read("get", "list"))
        #expect(read("STRLEN", "k"))
        #expect(text(reply).hasPrefix(RESP.bulk("v") + "-WRONGTYPE"))
        #expect(statistics.figures("get").map { [$0.calls, $0.failedCalls] } == [2, 1])
        #expect(statistics.figures("strlen")?.calls == 1)
        #expect(statistics.errorLines().map(\.0) == ["errorstat_WRONGTYPE"])
    }

    @Test("a backup counts the commands it replays from the log, as a Redis replica counts its master's")
    func backupCountsReplay() {
        var node = ConnectedStore()
        node.send(1, "SET", "a", "1")
        node.send(1, "INCR", "a")
        node.send(1, "PING")
        let backupLog = SlowLog()
        var backup = KeyValueStore(slowLog: backupLog)
        let (_, divergence) = replay(node.log, into: &backup)
        #expect(divergence == nil)
        #expect(backupLog.commandStatistics.figures("set")?.calls == 1)
        #expect(backupLog.commandStatistics.figures("incr")?.calls == 1)
        #expect(backupLog.commandStatistics.figures("ping")?.calls == 0, "PING never reached the log")
    }

    @Test("error prefixes: the first word when a space ends it within 32 bytes, ERR otherwise, INFO-safe")
    func errorPrefixes() {
        let statistics = CommandStatistics()
        statistics.noteError(bytes("-NOAUTH Authentication required.\r\n"))
        statistics.noteError(bytes("-" + String(repeating: "X", count: 40) + " too long to be a prefix\r\n"))
        statistics.noteError(bytes("-ERR\r\n"))
        statistics.noteError(bytes("-A:B c\r\n"))
        statistics.noteError(bytes("+OK\r\n"))
        #expect(statistics.errorLines().map { "\($0.0):\($0.1)" } == [
            "errorstat_A_B:count=1", "errorstat_ERR:count=2", "errorstat_NOAUTH:count=1",
        ])
        #expect(statistics.totalErrorReplies == 4)
    }

    @Test("errorstats keeps 128 prefixes; one more leaves only ERRORSTATS_DISABLED until RESETSTAT")
    func errorPrefixesBound() {
        let statistics = CommandStatistics()
        for index in 0..<CommandStatistics.errorPrefixesLimit { statistics.noteError(bytes("-P\(index) x\r\n")) }
        #expect(statistics.errorLines().count == 128)
        statistics.noteError(bytes("-P0 again\r\n"))
        #expect(statistics.errorLines().count == 128, "a known prefix still counts")
        statistics.noteError(bytes("-ONEMORE x\r\n"))
        statistics.noteError(bytes("-ANOTHER x\r\n"))
        statistics.noteError(bytes("-P1 x\r\n"))
        #expect(statistics.errorLines().map { "\($0.0):\($0.1)" } == ["errorstat_ERRORSTATS_DISABLED:count=1"])
        #expect(statistics.totalErrorReplies == 132)
        statistics.reset()
        statistics.noteError(bytes("-ERR x\r\n"))
        #expect(statistics.errorLines().map { "\($0.0):\($0.1)" } == ["errorstat_ERR:count=1"])
    }

    @Test("INFO and INFO default leave commandstats and latencystats out; all and everything bring them, once each")
    func sections() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        func titles(_ arguments: [String]) -> [Substring] {
            node.send(1, arguments: ["INFO"] + arguments).split(separator: "\r\n").filter { $0.hasPrefix("# ") }
        }
        let defaults: [Substring] = [
            "# Server", "# Clients", "# Memory", "# Persistence", "# Stats", "# Replication", "# CPU", "# Errorstats",
            "# Cluster", "# Keyspace",
        ]
        var all = defaults
        all.insert("# Commandstats", at: 7)
        all.insert("# Latencystats", at: 9)
        #expect(titles([]) == defaults)
        #expect(titles(["default"]) == defaults)
        #expect(titles(["cpu", "DEFAULT"]) == defaults)
        #expect(titles(["all"]) == all)
        #expect(titles(["everything"]) == all)
        #expect(titles(["cpu", "all"]) == all)
        #expect(titles(["commandSTATS"]) == ["# Commandstats"])
        #expect(!node.send(1, "INFO").contains("rejected_calls"))
        #expect(node.send(1, "INFO", "all").contains("cmdstat_set:calls=1,"))
    }
}
