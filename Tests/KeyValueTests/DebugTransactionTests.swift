@testable import KeyValue
import Replication
import Testing

/// DEBUG inside MULTI: RELOAD, OBJECT and SET-ACTIVE-EXPIRE queue and run in the EXEC entry with the replies Redis
/// gives there; a SLEEP of some time, which Redis would spend blocking the server, is refused while queueing.
@Suite("DEBUG inside MULTI")
struct DebugTransactionTests {
    @Test("DEBUG OBJECT and RELOAD queued in MULTI run in EXEC with Redis's replies, and the backup replays them alike")
    func objectAndReloadInExec() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        let alone = node.send(1, "DEBUG", "OBJECT", "k")
        #expect(alone.hasPrefix("+Value at:0x"))
        #expect(node.send(1, "MULTI") == RESP.ok)
        for command in [["DEBUG", "OBJECT", "k"], ["DEBUG", "RELOAD"], ["DEBUG", "OBJECT", "missing"], ["GET", "k"]] {
            #expect(node.send(1, arguments: command) == RESP.queued, "\(command)")
        }
        #expect(node.send(1, "EXEC") == RESP.array(alone, RESP.ok, RESP.error("ERR no such key"), RESP.bulk("v")))
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
        #expect(CommandStatisticsTests.counts(&node, "debug") == "calls=4,rejected_calls=0,failed_calls=0")
    }

    @Test("DEBUG OBJECT in MULTI reads the key from the connection's database, as it does alone")
    func objectInSelectedDatabase() {
        var node = ConnectedStore()
        node.send(1, "SELECT", "3")
        node.send(1, "SET", "elsewhere", "x")
        node.send(1, "MULTI")
        node.send(1, "DEBUG", "OBJECT", "elsewhere")
        let reply = node.send(1, "EXEC")
        #expect(reply.hasPrefix("*1\r\n+Value at:0x"), "\(reply)")
    }

    @Test("DEBUG SET-ACTIVE-EXPIRE in MULTI changes the replicated setting on both nodes")
    func activeExpiryInExec() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "DEBUG", "SET-ACTIVE-EXPIRE", "0") == RESP.queued)
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok))
        #expect(!node.primary.store.isActiveExpiryOn)
        #expect(!DatabaseTests.backup(of: node).isActiveExpiryOn)
    }

    @Test("DEBUG SLEEP of some time is refused while queueing, so EXEC aborts; SLEEP 0 answers +OK in EXEC")
    func sleepInTransaction() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "DEBUG", "SLEEP", "0") == RESP.queued)
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok))
        node.send(1, "MULTI")
        node.send(1, "SET", "k", "v")
        let refused = node.send(1, "DEBUG", "SLEEP", "0.1")
        #expect(refused == RESP.error(
            "ERR DEBUG SLEEP inside MULTI is not supported: the node never pauses its event loop, so EXEC could not"
                + " wait for it; send it outside the transaction"))
        #expect(node.send(1, "EXEC") == RESP.error("EXECABORT Transaction discarded because of previous errors."))
        #expect(node.send(1, "EXISTS", "k") == RESP.integer(0), "nothing of the transaction ran")
    }

    @Test("on a backup, DEBUG RELOAD and OBJECT queued in MULTI are refused as reads, as they are alone")
    func refusedOnBackup() {
        var node = ConnectedStore()
        node.status.role = .backup
        node.send(1, "MULTI")
        #expect(node.send(1, "DEBUG", "RELOAD").hasPrefix("-READONLY "))
        #expect(node.send(1, "DEBUG", "OBJECT", "k").hasPrefix("-READONLY "))
        #expect(node.send(1, "EXEC") == RESP.error("EXECABORT Transaction discarded because of previous errors."))
    }
}
