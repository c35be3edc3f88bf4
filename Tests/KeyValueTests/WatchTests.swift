import Testing
@testable import KeyValue
import Replication

/// WATCH and UNWATCH as Redis 7.0 documents them (redis.io "Transactions", optimistic locking; `tests/unit/multi.tcl`):
/// a watched key changed by anyone between WATCH and EXEC makes EXEC answer the null array and run nothing.
@Suite("transactions: WATCH and UNWATCH")
struct WatchTests {
    /// WATCH `keys` on connection 1, let `meanwhile` happen, then MULTI, `SET marker done`, EXEC; EXEC's reply.
    static func execAfterWatch(
        _ keys: [String], on node: inout ConnectedStore, meanwhile: (inout ConnectedStore) -> Void
    ) -> String {
        #expect(node.send(1, arguments: ["WATCH"] + keys) == RESP.ok)
        meanwhile(&node)
        node.send(1, "MULTI")
        node.send(1, "SET", "marker", "done")
        return node.send(1, "EXEC")
    }

    static let ran = RESP.array(RESP.ok)

    @Test("EXEC runs when no watched key changed, however many WATCH calls named them")
    func unchangedRuns() {
        var node = ConnectedStore()
        node.send(1, "WATCH", "x", "y", "z")
        #expect(Self.execAfterWatch(["k"], on: &node) { _ in } == Self.ran)
    }

    @Test("a watched key written by another connection aborts EXEC with the null array, and nothing runs")
    func otherWriterAborts() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "30")
        let reply = Self.execAfterWatch(["a", "b", "x", "k"], on: &node) { $0.send(2, "SET", "x", "40") }
        #expect(reply == RESP.nullArray)
        #expect(node.send(1, "GET", "marker") == RESP.nullBulk)
    }

    @Test("the watching connection's own write aborts too, and a write of the same value counts as a change")
    func ownWriteAborts() {
        var node = ConnectedStore()
        node.send(1, "SET", "x", "30")
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(1, "SET", "x", "30") } == RESP.nullArray)
    }

    @Test("writes to other keys, and deleting a missing watched key, do not abort")
    func unrelatedChangesDoNotAbort() {
        var node = ConnectedStore()
        let reply = Self.execAfterWatch(["x"], on: &node) {
            $0.send(2, "SET", "y", "1")
            $0.send(2, "DEL", "x")
        }
        #expect(reply == Self.ran)
    }

    @Test("SMOVE spoils a watched destination only when it adds the member there (Redis's set.tcl)")
    func moveToAHolderDoesNotAbort() {
        var node = ConnectedStore()
        node.send(2, "SADD", "src", "a", "b")
        node.send(2, "SADD", "dst", "a")
        var moved = ""
        #expect(Self.execAfterWatch(["dst"], on: &node) { moved = $0.send(2, "SMOVE", "src", "dst", "a") } == Self.ran)
        #expect(moved == RESP.integer(1))
        #expect(node.send(1, "SMEMBERS", "src") == RESP.array(RESP.bulk("b")))
        #expect(Self.execAfterWatch(["src"], on: &node) { $0.send(2, "SMOVE", "src", "dst", "b") } == RESP.nullArray)
        #expect(Self.execAfterWatch(["dst"], on: &node) {
            $0.send(2, "SADD", "src", "c")
            $0.send(2, "SMOVE", "src", "dst", "c")
        } == RESP.nullArray)
    }

    @Test("a watched hash, set or list changed in place by another connection aborts EXEC")
    func collectionChangeAborts() {
        for (create, change) in [
            (["HSET", "c", "f", "1"], ["HSET", "c", "f", "2"]), (["SADD", "c", "a"], ["SADD", "c", "b"]),
            (["RPUSH", "c", "a"], ["LPOP", "c"]),
        ] {
            var node = ConnectedStore()
            node.send(2, arguments: create)
            #expect(Self.execAfterWatch(["c"], on: &node) { $0.send(2, arguments: change) } == RESP.nullArray, "\(change)")
        }
    }

    @Test("creating a missing watched key aborts")
    func creationAborts() {
        var node = ConnectedStore()
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(2, "SETNX", "x", "1") } == RESP.nullArray)
    }

    @Test("after EXEC, successful or aborted, the key is no longer watched")
    func execEndsTheWatch() {
        var node = ConnectedStore()
        node.send(1, "SET", "x", "30")
        #expect(Self.execAfterWatch(["x"], on: &node) { _ in } == Self.ran)
        node.send(2, "SET", "x", "40")
        node.send(1, "MULTI")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n"))

        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(2, "SET", "x", "50") } == RESP.nullArray)
        node.send(2, "SET", "x", "60")
        node.send(1, "MULTI")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n"))
    }

    @Test("UNWATCH forgets the watch, even a spoiled one; with nothing watched it answers OK without an entry")
    func unwatch() {
        var node = ConnectedStore()
        #expect(node.send(1, "UNWATCH") == RESP.ok)
        #expect(node.log.isEmpty)
        node.send(1, "SET", "x", "30")
        node.send(1, "WATCH", "x")
        node.send(2, "SET", "x", "40")
        #expect(node.send(1, "UNWATCH") == RESP.ok)
        node.send(1, "MULTI")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n"))
        #expect(node.primary.store.watchedKeys.watchCount == 0)
    }

    @Test("DISCARD unwatches every key and clears the spoiled flag")
    func discardUnwatches() {
        var node = ConnectedStore()
        node.send(1, "WATCH", "x")
        node.send(2, "SET", "x", "10")
        node.send(1, "MULTI")
        #expect(node.send(1, "DISCARD") == RESP.ok)
        node.send(2, "SET", "x", "10")
        node.send(1, "MULTI")
        node.send(1, "INCR", "x")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.integer(11)))
    }

    @Test("FLUSHALL aborts the watchers of keys it deleted, and not those of keys that did not exist")
    func flushall() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "30")
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(2, "FLUSHALL") } == RESP.nullArray)
        #expect(Self.execAfterWatch(["absent"], on: &node) { $0.send(2, "FLUSHALL") } == Self.ran)
        node.send(2, "MSET", "a", "a", "b", "b")
        node.send(1, "WATCH", "b", "a")
        node.send(2, "FLUSHALL")
        #expect(node.send(1, "PING") == "+PONG\r\n")
    }

    @Test("EXPIRE on a watched key is a change")
    func expireTouches() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "foo")
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(2, "EXPIRE", "x", "10") } == RESP.nullArray)
    }

    @Test("a watched key that expires before EXEC aborts it, deleted or not")
    func expiryAborts() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "1", "PX", "100")
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.primary.advance(milliseconds: 101) } == RESP.nullArray)
        #expect(node.primary.store.isPresent(StoreKey(bytes("x"))), "lazily: nothing deleted it yet")

        node.send(2, "SET", "y", "1", "PX", "100")
        let reply = Self.execAfterWatch(["y"], on: &node) {
            $0.primary.advance(milliseconds: 101)
            $0.send(2, "EXISTS", "y")
        }
        #expect(reply == RESP.nullArray)
    }

    @Test("active expiry deleting a watched key aborts EXEC")
    func activeExpiryAborts() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "foo")
        node.send(2, "EXPIRE", "x", "1")
        let reply = Self.execAfterWatch(["x"], on: &node) {
            $0.primary.advance(milliseconds: 1_500)
            for _ in 0..<10 where $0.primary.store.count > 0 { $0.primary.tick() }
        }
        #expect(reply == RESP.nullArray)
        #expect(node.primary.store.count == 0, "active expiry deleted x, and the aborted EXEC set no marker")
    }

    @Test("a key already expired at WATCH does not abort EXEC: not as is, not deleted, not flushed")
    func staleKeysDoNotAbort() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "foo", "PX", "1")
        node.primary.advance(milliseconds: 2)
        #expect(Self.execAfterWatch(["x"], on: &node) { _ in } == Self.ran)
        var existsReply = ""
        #expect(Self.execAfterWatch(["x"], on: &node) { existsReply = $0.send(2, "EXISTS", "x") } == Self.ran)
        #expect(existsReply == RESP.integer(0), "EXISTS deleted the stale key")
        node.send(2, "SET", "y", "foo", "PX", "1")
        node.primary.advance(milliseconds: 2)
        #expect(Self.execAfterWatch(["y"], on: &node) { $0.send(2, "FLUSHALL") } == Self.ran)
    }

    @Test("a stale watched key given a new value is a change")
    func staleKeyOverwrittenAborts() {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "foo", "PX", "1")
        node.primary.advance(milliseconds: 2)
        #expect(Self.execAfterWatch(["x"], on: &node) { $0.send(2, "SET", "x", "bar") } == RESP.nullArray)
    }

    @Test("WATCH on a backup is refused with READONLY, and no watch is kept")
    func watchOnBackup() {
        var node = ConnectedStore()
        node.status = NodeStatus(
            role: .backup, nodeName: "b", epoch: 3, peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7000")
        #expect(node.send(1, "WATCH", "x").hasPrefix("-READONLY"))
        #expect(node.log.isEmpty)
    }

    @Test("two connections racing a WATCH/GET/MULTI/SET/EXEC increment: one wins, the other retries, none is lost")
    func checkAndSetRace() {
        var node = ConnectedStore()
        node.send(1, "SET", "counter", "0")
        var increments = 0
        for _ in 0..<20 {
            // Both read, then both try to write back their read plus one: the second EXEC must abort.
            node.send(1, "WATCH", "counter")
            node.send(2, "WATCH", "counter")
            let first = node.send(1, "GET", "counter"), second = node.send(2, "GET", "counter")
            #expect(first == second)
            let value = Int(first.split(separator: "\r\n").last!)!
            node.send(1, "MULTI")
            node.send(1, "SET", "counter", "\(value + 1)")
            node.send(2, "MULTI")
            node.send(2, "SET", "counter", "\(value + 1)")
            #expect(node.send(1, "EXEC") == Self.ran)
            #expect(node.send(2, "EXEC") == RESP.nullArray)
            increments += 1
        }
        #expect(node.send(1, "GET", "counter") == RESP.bulk("\(increments)"))
    }
}

/// The watch table's own bounds and bookkeeping (`WatchedKeys`).
@Suite("transactions: the watch table")
struct WatchedKeysTests {
    static func token(_ client: UInt64) -> WatchToken { WatchToken(epoch: 1, clientID: client, cycle: 0) }
    static func key(_ bytes: [UInt8]) -> WatchedKeys.Key { WatchedKeys.Key(database: 0, key: bytes) }

    @Test("past its bound of watches the oldest is dropped, and an EXEC under a dropped watch aborts")
    func oldestWatchDropped() {
        var table = WatchedKeys()
        for client in 0...UInt64(WatchedKeys.watchesLimit) { table.watch(Self.token(client), keys: [(Self.key([1]), false)]) }
        #expect(table.watchCount == WatchedKeys.watchesLimit)
        #expect(table.isAborted(Self.token(0)) { _ in false })
        #expect(!table.isAborted(Self.token(1)) { _ in false })
    }

    @Test("past its bound of watched keys the oldest watches go first")
    func pairsBounded() {
        var table = WatchedKeys()
        let keys = (0..<(WatchedKeys.pairsLimit / 2)).map { (key: Self.key(Array("k\($0)".utf8)), isStale: false) }
        table.watch(Self.token(1), keys: keys)
        table.watch(Self.token(2), keys: keys)
        table.watch(Self.token(3), keys: [(Self.key([1]), false)])
        #expect(table.pairCount <= WatchedKeys.pairsLimit)
        #expect(table.isAborted(Self.token(1)) { _ in false })
        #expect(!table.isAborted(Self.token(3)) { _ in false })
    }

    @Test("ended watches leave nothing behind, however many come and go")
    func endedWatchesFreed() {
        var table = WatchedKeys()
        for client in 0..<UInt64(3 * WatchedKeys.watchesLimit) {
            table.watch(Self.token(client), keys: [(Self.key(Array("k\(client % 7)".utf8)), false)])
            table.end(Self.token(client))
        }
        #expect(table.isEmpty)
        #expect(table.watchCount == 0)
        #expect(table.orderCount < 100)
    }
}
