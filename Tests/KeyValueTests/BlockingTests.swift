import Testing

@testable import KeyValue
import Replication

/// Blocking pops as the store and protocol handle them: a waiter is served by the entry that gives its key elements,
/// first come first served, on both nodes alike; its wait ends in the log; a waiter of an earlier primary is dropped.
@Suite("blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BZPOPMIN/MAX, BLMPOP, BZMPOP")
struct BlockingTests {
    /// The backup's replay of the node's log agrees with the primary: no divergence, the same digest.
    static func expectBackupAgrees(_ node: ConnectedStore, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest(), sourceLocation: sourceLocation)
    }

    @Test("BLPOP on an empty list waits; an RPUSH from another connection serves it in its own entry, on both nodes")
    func servedByPush() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "0") == ConnectedStore.waiting)
        let waitingDigest = node.primary.store.digest()
        #expect(node.send(2, "RPUSH", "q", "a", "b") == RESP.integer(2), "the pusher hears the length it made")
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("q"), RESP.bulk("a"))])
        #expect(node.log.count == 2, "the serving happened inside the RPUSH's entry")
        #expect(node.send(2, "LRANGE", "q", "0", "-1") == RESP.array(RESP.bulk("b")))
        #expect(node.primary.store.blocked.isEmpty)
        #expect(waitingDigest != StoreDriver().store.digest(), "a waiter is state")
        Self.expectBackupAgrees(node)
    }

    @Test("a non-empty key answers at once, the first of the keys holding elements; WRONGTYPE before it stops the pop")
    func answersAtOnce() {
        var node = ConnectedStore()
        node.send(2, "RPUSH", "b", "x", "y")
        #expect(node.send(1, "BRPOP", "a", "b", "0") == RESP.array(RESP.bulk("b"), RESP.bulk("y")))
        node.send(2, "SET", "s", "v")
        #expect(node.send(1, "BLPOP", "s", "b", "0") == RESP.error(
            "WRONGTYPE Operation against a key holding the wrong kind of value"))
        #expect(node.send(1, "BLPOP", "a", "b", "0") == RESP.array(RESP.bulk("b"), RESP.bulk("x")))
        #expect(node.primary.store.blocked.isEmpty)
    }

    @Test("waiters are served first come first served, each from the key that got elements")
    func firstComeFirstServed() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "a", "b", "0") == ConnectedStore.waiting)
        #expect(node.send(2, "BLPOP", "b", "0") == ConnectedStore.waiting)
        #expect(node.send(3, "BLPOP", "b", "0") == ConnectedStore.waiting)
        #expect(node.send(4, "RPUSH", "b", "x", "y") == RESP.integer(2))
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("b"), RESP.bulk("x"))])
        #expect(node.delivered[2] == [RESP.array(RESP.bulk("b"), RESP.bulk("y"))])
        #expect(node.delivered[3] == nil, "nothing was left for the third")
        #expect(node.send(4, "LPUSH", "a", "z") == RESP.integer(1), "the first waiter waits on a no more")
        #expect(node.delivered[1]?.count == 1)
        #expect(node.send(4, "RPUSH", "b", "w") == RESP.integer(1))
        #expect(node.delivered[3] == [RESP.array(RESP.bulk("b"), RESP.bulk("w"))])
        Self.expectBackupAgrees(node)
    }

    @Test("BLMOVE serves its waiter and pushes on, serving a waiter of the destination in the same entry")
    func movesChain() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLMOVE", "src", "dst", "LEFT", "RIGHT", "0") == ConnectedStore.waiting)
        #expect(node.send(2, "BRPOPLPUSH", "dst", "end", "0") == ConnectedStore.waiting)
        #expect(node.send(3, "RPUSH", "src", "v") == RESP.integer(1))
        #expect(node.delivered[1] == [RESP.bulk("v")])
        #expect(node.delivered[2] == [RESP.bulk("v")])
        #expect(node.send(3, "LRANGE", "end", "0", "-1") == RESP.array(RESP.bulk("v")))
        #expect(node.send(3, "EXISTS", "src", "dst") == RESP.integer(0))
        Self.expectBackupAgrees(node)
    }

    @Test("BZPOPMIN, BZPOPMAX and BZMPOP wait for sorted sets and ignore lists; BLMPOP pops up to its count")
    func sortedSetsAndCounts() {
        var node = ConnectedStore()
        #expect(node.send(1, "BZPOPMIN", "z", "0") == ConnectedStore.waiting)
        #expect(node.send(2, "BZMPOP", "0", "1", "z", "MAX", "COUNT", "5") == ConnectedStore.waiting)
        #expect(node.send(3, "BLMPOP", "0", "2", "l", "z", "RIGHT", "COUNT", "2") == ConnectedStore.waiting)
        #expect(node.send(4, "ZADD", "z", "1", "a", "2", "b", "3", "c") == RESP.integer(3))
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("z"), RESP.bulk("a"), RESP.bulk("1"))])
        #expect(
            node.delivered[2] == [
                RESP.array(
                    RESP.bulk("z"),
                    RESP.array(RESP.array(RESP.bulk("c"), RESP.bulk("3")), RESP.array(RESP.bulk("b"), RESP.bulk("2"))))
            ])
        #expect(node.delivered[3] == nil, "a list pop does not take from a sorted set")
        #expect(node.send(4, "RPUSH", "l", "1", "2", "3") == RESP.integer(3))
        #expect(node.delivered[3] == [RESP.array(RESP.bulk("l"), RESP.array(RESP.bulk("3"), RESP.bulk("2")))])
        Self.expectBackupAgrees(node)
    }

    @Test("SWAPDB serves the waiters of keys that hold elements in the database swapped in")
    func swapDatabasesServes() {
        var node = ConnectedStore()
        node.send(1, "SELECT", "1")
        node.send(1, "RPUSH", "k", "hello")
        node.send(2, "SELECT", "9")
        #expect(node.send(2, "BRPOP", "k", "5") == ConnectedStore.waiting)
        #expect(node.send(3, "SWAPDB", "1", "9") == RESP.ok)
        #expect(node.delivered[2] == [RESP.array(RESP.bulk("k"), RESP.bulk("hello"))])
        #expect(node.send(3, "DBSIZE") == RESP.integer(0))
        Self.expectBackupAgrees(node)
    }

    @Test("an unblock (timeout or close) answers a null and ends the wait: a later push stays in the list")
    func unblockEndsTheWait() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "0.5") == ConnectedStore.waiting)
        node.unblock(1)
        #expect(node.delivered[1] == [RESP.nullArray])
        #expect(node.primary.store.blocked.isEmpty)
        #expect(node.send(2, "RPUSH", "q", "kept") == RESP.integer(1))
        #expect(node.delivered[1] == [RESP.nullArray], "nothing more for a connection that stopped waiting")
        #expect(node.send(2, "LLEN", "q") == RESP.integer(1))
        node.unblock(1)  // late, after it was served or ended: nothing happens
        #expect(node.delivered[1]?.count == 1)
        Self.expectBackupAgrees(node)
    }

    @Test("CLIENT UNBLOCK ends a wait as a timeout or with Redis's UNBLOCKED error; CLIENT LIST flags a waiter b")
    func clientUnblock() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "0") == ConnectedStore.waiting)
        #expect(node.send(2, "BLPOP", "r", "0") == ConnectedStore.waiting)
        #expect(node.send(3, "CLIENT", "LIST", "ID", "1").contains("flags=b "))
        #expect(node.send(3, "CLIENT", "LIST", "ID", "3").contains("flags=N "))
        #expect(node.send(3, "CLIENT", "UNBLOCK", "1") == RESP.integer(1))
        #expect(node.delivered[1] == [RESP.nullArray])
        #expect(node.send(3, "CLIENT", "UNBLOCK", "1") == RESP.integer(0), "no longer blocked")
        #expect(node.send(3, "CLIENT", "UNBLOCK", "2", "ERROR") == RESP.integer(1))
        #expect(node.delivered[2] == [RESP.error("UNBLOCKED client unblocked via CLIENT UNBLOCK")])
        #expect(node.send(3, "CLIENT", "UNBLOCK", "2", "LATER") == RESP.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
        #expect(node.send(3, "CLIENT", "UNBLOCK", "x") == RESP.error("ERR value is not an integer or out of range"))
        #expect(node.primary.store.blocked.isEmpty)
        Self.expectBackupAgrees(node)
    }

    @Test("a waiter an earlier primary registered is dropped, not served: its connection went with that primary")
    func staleWaitersAreDropped() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "0") == ConnectedStore.waiting)
        #expect(node.send(1, "BLPOP", "other", "0") == ConnectedStore.waiting)
        node.primary.tenure = 2  // a failover: the next primary records under its own tenure
        #expect(node.send(2, "RPUSH", "q", "v") == RESP.integer(1))
        #expect(node.delivered[1] == nil)
        #expect(node.send(2, "LRANGE", "q", "0", "-1") == RESP.array(RESP.bulk("v")), "the element was not lost")
        #expect(node.primary.store.blocked.count == 1, "the waiter met was dropped")
        node.primary.tick()
        #expect(node.primary.store.blocked.isEmpty, "a tick sweeps the rest")
        Self.expectBackupAgrees(node)
    }

    @Test("inside MULTI a blocking pop never waits; in RESP3 the waiter's reply is shaped as Redis's")
    func transactionsAndRESP3() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        #expect(node.send(1, "BLPOP", "q", "0") == RESP.queued)
        #expect(node.send(1, "BLMOVE", "q", "d", "LEFT", "LEFT", "0") == RESP.queued)
        #expect(node.send(1, "EXEC") == RESP.array(RESP.nullArray, RESP.nullBulk))
        #expect(node.primary.store.blocked.isEmpty)
        #expect(node.send(2, "HELLO", "3").hasPrefix("%"))
        #expect(node.send(2, "BZPOPMAX", "z", "0") == ConnectedStore.waiting)
        #expect(node.send(3, "ZADD", "z", "1.5", "m") == RESP.integer(1))
        #expect(node.delivered[2] == ["*3\r\n$1\r\nz\r\n$1\r\nm\r\n,1.5\r\n"])
        #expect(node.send(2, "BLPOP", "q", "0") == ConnectedStore.waiting)
        node.unblock(2)
        #expect(node.delivered[2]?.last == "_\r\n")
        Self.expectBackupAgrees(node)
    }

    @Test("Redis's errors: a timeout that is negative, not a float or out of range; arity; numkeys")
    func errors() {
        var node = ConnectedStore()
        #expect(node.send(1, "BLPOP", "q", "-1") == RESP.error("ERR timeout is negative"))
        #expect(node.send(1, "BLPOP", "q", "abc") == RESP.error("ERR timeout is not a float or out of range"))
        #expect(node.send(1, "BLPOP", "q", "0x7FFFFFFFFFFFFF") == RESP.error("ERR timeout is out of range"))
        #expect(node.send(1, "BLPOP", "q") == RESP.error("ERR wrong number of arguments for 'blpop' command"))
        #expect(node.send(1, "BLMPOP", "0", "0", "q", "LEFT") == RESP.error("ERR numkeys should be greater than 0"))
        #expect(node.send(1, "BLMPOP", "0", "1", "q", "UP") == RESP.error("ERR syntax error"))
        #expect(node.send(1, "BLMOVE", "a", "b", "UP", "LEFT", "0") == RESP.error("ERR syntax error"))
        #expect(node.primary.store.blocked.isEmpty, "no error leaves a waiter")
        node.status.role = .backup
        #expect(node.send(1, "BLPOP", "q", "0").hasPrefix("-READONLY"))
    }

    @Test("a snapshot taken while clients wait restores them: the restored backup serves the same waiters alike")
    func snapshotCarriesWaiters() throws {
        var node = ConnectedStore()
        node.send(1, "BLPOP", "q", "0")
        node.send(2, "SELECT", "3")
        node.send(2, "BZPOPMIN", "z", "0")
        let snapshot = node.primary.store.encoded(byteLimit: 7)
        let checkpointed = node.log.count
        var restored = try KeyValueStore.restored(from: snapshot, chunkBytes: 5)
        #expect(restored.digest() == node.primary.store.digest())
        #expect(restored.blocked == node.primary.store.blocked)
        node.send(3, "RPUSH", "q", "v")
        node.send(3, "SELECT", "3")
        node.send(3, "ZADD", "z", "1", "m")
        #expect(node.delivered[1]?.count == 1 && node.delivered[2]?.count == 1)
        let (_, divergence) = replay(Array(node.log[checkpointed...]), into: &restored)
        #expect(divergence == nil)
        #expect(restored.digest() == node.primary.store.digest())
        #expect(restored.blocked.isEmpty)
    }
}
