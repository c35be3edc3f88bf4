import Testing
@testable import KeyValue
import Replication

/// MULTI, EXEC and DISCARD as Redis 7.0 documents them (redis.io "Transactions", `tests/unit/multi.tcl`).
@Suite("transactions: MULTI, EXEC, DISCARD")
struct TransactionTests {
    @Test("commands inside MULTI are queued, and EXEC answers all their replies in one array, in order")
    func execRunsTheQueue() {
        var node = ConnectedStore()
        #expect(node.send(1, "MULTI") == RESP.ok)
        #expect(node.send(1, "SET", "counter", "10") == RESP.queued)
        #expect(node.send(1, "INCR", "counter") == RESP.queued)
        #expect(node.send(1, "PING") == RESP.queued)
        #expect(node.send(1, "GET", "counter") == RESP.queued)
        #expect(node.send(2, "GET", "counter") == RESP.nullBulk, "nothing ran before EXEC")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok, RESP.integer(11), "+PONG\r\n", RESP.bulk("11")))
        #expect(!node.isInTransaction(1))
        #expect(node.send(1, "GET", "counter") == RESP.bulk("11"))
    }

    @Test("one EXEC is one log entry, and nothing is logged while commands queue")
    func execIsOneEntry() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        for index in 0..<5 { node.send(1, "SET", "k\(index)", "v") }
        #expect(node.log.isEmpty)
        node.send(1, "EXEC")
        #expect(node.log.count == 1)
    }

    @Test("a command that fails while running does not stop the others (no rollback)")
    func runtimeErrorsDoNotAbort() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "abc")
        node.send(1, "INCR", "a")
        node.send(1, "SET", "b", "1")
        #expect(node.send(1, "EXEC") == RESP.array(
            RESP.ok, RESP.error("ERR value is not an integer or out of range"), RESP.ok))
        #expect(node.send(1, "GET", "b") == RESP.bulk("1"))
    }

    @Test("an unknown command or a wrong arity while queueing makes EXEC abort with EXECABORT, and nothing runs")
    func queueingErrorsAbort() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "foo1", "bar1")
        #expect(node.send(1, "NON-EXISTING-COMMAND").hasPrefix("-ERR unknown command 'NON-EXISTING-COMMAND'"))
        node.send(1, "SET", "foo2", "bar2")
        #expect(node.send(1, "EXEC") == RESP.error("EXECABORT Transaction discarded because of previous errors."))
        #expect(node.log.isEmpty)
        #expect(node.send(1, "EXISTS", "foo1", "foo2") == RESP.integer(0))
        #expect(node.send(1, "PING") == "+PONG\r\n", "the connection left MULTI")

        node.send(1, "MULTI")
        #expect(node.send(1, "GET") == RESP.error("ERR wrong number of arguments for 'get' command"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
    }

    @Test("DISCARD drops the queue and leaves MULTI; the data is untouched")
    func discard() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "before")
        node.send(1, "MULTI")
        #expect(node.send(1, "DEL", "k") == RESP.queued)
        #expect(node.send(1, "DISCARD") == RESP.ok)
        #expect(!node.isInTransaction(1))
        #expect(node.log.count == 1, "only the SET before MULTI")
        #expect(node.send(1, "GET", "k") == RESP.bulk("before"))
    }

    @Test("nested MULTI, WATCH inside MULTI, and EXEC or DISCARD outside MULTI get Redis's errors")
    func misuseErrors() {
        var node = ConnectedStore()
        #expect(node.send(1, "EXEC") == RESP.error("ERR EXEC without MULTI"))
        #expect(node.send(1, "DISCARD") == RESP.error("ERR DISCARD without MULTI"))
        node.send(1, "MULTI")
        #expect(node.send(1, "MULTI") == RESP.error("ERR MULTI calls can not be nested"))
        #expect(node.send(1, "WATCH", "x") == RESP.error("ERR WATCH inside MULTI is not allowed"))
        node.send(1, "SET", "x", "1")
        // Neither error flags the transaction: Redis answers them without refusing the command.
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok))
        #expect(node.send(1, "MULTI", "extra") == RESP.error("ERR wrong number of arguments for 'multi' command"))
    }

    @Test("an empty transaction answers an empty array without a log entry")
    func emptyTransaction() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "EXEC") == "*0\r\n")
        node.send(1, "MULTI")
        node.send(1, "PING")
        node.send(1, "ECHO", "hi")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n", RESP.bulk("hi")))
        #expect(node.log.isEmpty)
    }

    @Test("node-local commands queued with data commands answer inside the EXEC reply, and their effects happen")
    func localCommandsInsideExec() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "CLIENT", "SETNAME", "worker")
        node.send(1, "SET", "k", "v")
        node.send(1, "CLIENT", "GETNAME")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok, RESP.ok, RESP.bulk("worker")))
    }

    @Test("the subscription commands are refused inside MULTI, and the transaction aborts")
    func subscribeRefused() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "SUBSCRIBE", "news") == RESP.error("ERR Command not allowed inside a transaction"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
    }

    @Test("QUIT and RESET run at once inside MULTI; RESET leaves the transaction")
    func quitAndResetRunAtOnce() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "k", "v")
        #expect(node.send(1, "RESET") == "+RESET\r\n")
        #expect(!node.isInTransaction(1))
        #expect(node.send(1, "EXEC") == RESP.error("ERR EXEC without MULTI"))
        node.send(2, "MULTI")
        #expect(node.send(2, "QUIT") == RESP.ok)
    }

    @Test("the commands of one EXEC see one instant: the entry records a single clock read")
    func oneInstant() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        for index in 0..<20 { node.send(1, "SET", "k\(index)", "v", "PX", "1000") }
        node.send(1, "TIME")
        node.send(1, "EXEC")
        guard case .command(_, let recorded) = node.log.last else {
            Issue.record("no entry")
            return
        }
        #expect(recorded.count == 1)
    }

    @Test("a data command queued on a backup is refused with READONLY and EXEC aborts, naming no transaction run")
    func backupRefusesQueuedWrites() {
        var node = ConnectedStore()
        node.status = NodeStatus(
            role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7000")
        node.send(1, "MULTI")
        #expect(node.send(1, "SET", "k", "v").hasPrefix("-READONLY"))
        #expect(node.send(1, "EXEC") == RESP.error("EXECABORT Transaction discarded because of previous errors."))
        node.send(1, "MULTI")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n"), "node-local commands still run on a backup")
    }

    @Test("a node that stops serving between queueing and EXEC aborts it with the reason")
    func stoppedServingBeforeExec() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "k", "v")
        node.status = NodeStatus(
            role: .backup, nodeName: "a", epoch: 4, peerClientAddress: "10.0.0.2:7000", clientAddress: "10.0.0.1:7000")
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT Transaction discarded because of: READONLY"))
        #expect(node.log.isEmpty)
    }

    @Test("a transaction past its command bound is refused while queueing, and EXEC aborts")
    func queueIsBounded() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        for _ in 0..<Transaction.commandsLimit { node.send(1, "INCR", "n") }
        #expect(node.send(1, "INCR", "n").hasPrefix("-ERR the transaction is full"))
        #expect(node.send(1, "EXEC").hasPrefix("-EXECABORT"))
        #expect(node.log.isEmpty)
    }

    @Test("a full transaction of commands that read the clock fits one log entry's room for recorded values")
    func fullTransactionFitsAnEntry() {
        var node = ConnectedStore()
        node.send(1, "SET", "seed", "x")
        node.send(1, "MULTI")
        for index in 0..<Transaction.commandsLimit { node.send(1, index % 2 == 0 ? "RANDOMKEY" : "TIME") }
        let reply = node.send(1, "EXEC")
        #expect(DecodedReply.one(Array(reply.utf8))?.elements.count == Transaction.commandsLimit)
        guard case .command(_, let recorded) = node.log.last else {
            Issue.record("no entry")
            return
        }
        #expect(9 * recorded.count < 64 << 10)
    }

    @Test("CLIENT LIST shows a connection inside MULTI with flag x and its queued count")
    func clientListShowsMulti() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "1")
        node.send(1, "SET", "b", "2")
        #expect(node.clientLine(1).contains(" flags=x "))
        #expect(node.clientLine(1).contains(" multi=2 "))
        node.send(1, "EXEC")
        #expect(node.clientLine(1).contains(" multi=-1 "))
    }

    @Test("a transaction entry from a corrupt log is refused alike on both nodes, and one cannot nest another")
    func malformedEntries() {
        var driver = StoreDriver()
        let truncatedToken = KeyValueCommand.encode([bytes("lockstep-watch"), [1, 2, 3], bytes("k")])
        #expect(text(driver.run(encoded: truncatedToken)).hasPrefix("-ERR malformed lockstep-watch entry"))
        let inner = TransactionEntry.exec(nil, items: [.command(KeyValueCommand.encode([bytes("SET"), bytes("k"),
            bytes("v")]))]).encoded
        let outer = TransactionEntry.exec(nil, items: [.command(inner)]).encoded
        #expect(text(driver.run(encoded: outer)).contains("cannot hold another"))
        #expect(driver.store.count == 0)
    }

    @Test("clients cannot send the internal transaction entries: they are unknown commands")
    func internalNamesAreNotCommands() {
        var node = ConnectedStore()
        #expect(node.send(1, "lockstep-exec", "", "x").hasPrefix("-ERR unknown command 'lockstep-exec'"))
        #expect(node.log.isEmpty)
    }
}
