import Testing
@testable import KeyValue
import Replication

/// Redis's numbered databases as Redis 7.0 documents them (SELECT, SWAPDB, MOVE, FLUSHDB; `tests/unit/keyspace.tcl`,
/// `tests/unit/multi.tcl`), replicated: a connection's database is its own, and every entry it sends names it.
@Suite("databases")
struct DatabaseTests {
    /// A node whose connection 1 selected database 3 and connection 2 stayed in 0, each holding `k`.
    static func twoDatabases() -> ConnectedStore {
        var node = ConnectedStore()
        #expect(node.send(1, "SELECT", "3") == RESP.ok)
        node.send(1, "SET", "k", "three")
        node.send(2, "SET", "k", "zero")
        return node
    }

    /// What a backup replaying `node`'s log ends with.
    static func backup(of node: ConnectedStore) -> KeyValueStore {
        var backup = KeyValueStore()
        let (_, divergence) = replay(node.log, into: &backup)
        #expect(divergence == nil)
        backup.checkInvariants()
        return backup
    }

    @Test("each database holds its own keys: GET, DBSIZE, KEYS, EXISTS and RANDOMKEY see only the selected one")
    func isolation() {
        var node = Self.twoDatabases()
        node.send(1, "SET", "only3", "x")
        #expect(node.send(1, "GET", "k") == RESP.bulk("three"))
        #expect(node.send(2, "GET", "k") == RESP.bulk("zero"))
        #expect(node.send(1, "DBSIZE") == RESP.integer(2))
        #expect(node.send(2, "DBSIZE") == RESP.integer(1))
        #expect(node.send(2, "EXISTS", "only3") == RESP.integer(0))
        #expect(node.send(2, "KEYS", "*") == RESP.array(RESP.bulk("k")))
        #expect(node.send(2, "RANDOMKEY") == RESP.bulk("k"))
        #expect(node.send(3, "SELECT", "7") == RESP.ok)
        #expect(node.send(3, "RANDOMKEY") == RESP.nullBulk)
        #expect(node.send(3, "DBSIZE") == RESP.integer(0))
        node.primary.store.checkInvariants()
    }

    @Test("SELECT takes 0 to 15 and refuses the rest with Redis's errors, keeping the database selected before")
    func selectErrors() {
        var node = Self.twoDatabases()
        #expect(node.send(1, "SELECT", "16") == RESP.error("ERR DB index is out of range"))
        #expect(node.send(1, "SELECT", "-1") == RESP.error("ERR DB index is out of range"))
        #expect(node.send(1, "SELECT", "x") == RESP.error("ERR value is not an integer or out of range"))
        #expect(
            node.send(1, "SELECT", "3000000000")
                == RESP.error("ERR value is out of range, value must between -2147483648 and 2147483647"))
        #expect(node.send(1, "GET", "k") == RESP.bulk("three"))
        #expect(node.clientLine(1).contains(" db=3 "))
        #expect(node.send(1, "RESET") == "+RESET\r\n")
        #expect(node.clientLine(1).contains(" db=0 "))
        #expect(node.send(1, "GET", "k") == RESP.bulk("zero"))
    }

    @Test("database 0's entries are the commands themselves; another's name it, and no client can send that name")
    func entriesNameTheirDatabase() {
        var node = Self.twoDatabases()
        let entries = node.log.compactMap { entry -> [UInt8]? in
            if case .command(let command, _) = entry { return command } else { return nil }
        }
        #expect(entries.last == KeyValueCommand.encode([bytes("SET"), bytes("k"), bytes("zero")]))
        let wrapped = DatabaseEntry(database: 3, command: KeyValueCommand.encode([bytes("SET"), bytes("k"), bytes("three")]))
        #expect(entries.first == wrapped.encoded)
        #expect(
            node.send(2, "lockstep-db", "3", "x")
                == RESP.error("ERR unknown command 'lockstep-db', with args beginning with: '3' 'x' "))
    }

    @Test("SWAPDB exchanges two databases' keys, the selected one's too; connections keep their numbers")
    func swap() {
        var node = Self.twoDatabases()
        node.send(3, "SELECT", "5")
        node.send(3, "SET", "five", "5")
        #expect(node.send(2, "SWAPDB", "3", "5") == RESP.ok)
        #expect(node.send(1, "GET", "five") == RESP.bulk("5"))
        #expect(node.send(3, "GET", "k") == RESP.bulk("three"))
        #expect(node.send(1, "SWAPDB", "3", "0") == RESP.ok)
        #expect(node.send(1, "GET", "k") == RESP.bulk("zero"))
        #expect(node.send(2, "GET", "five") == RESP.bulk("5"))
        #expect(node.send(2, "SWAPDB", "4", "4") == RESP.ok)
        #expect(node.send(2, "SWAPDB", "x", "4") == RESP.error("ERR invalid first DB index"))
        #expect(node.send(2, "SWAPDB", "4", "y") == RESP.error("ERR invalid second DB index"))
        #expect(node.send(2, "SWAPDB", "4", "16") == RESP.error("ERR DB index is out of range"))
        #expect(node.send(2, "SWAPDB", "-1", "y") == RESP.error("ERR invalid second DB index"))
        node.primary.store.checkInvariants()
        #expect(Self.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("MOVE moves a key with its TTL and kind; a key there already, the same database and bad numbers refuse")
    func move() {
        var node = Self.twoDatabases()
        node.send(2, "SET", "t", "v", "EX", "100")
        node.send(2, "RPUSH", "list", "a", "b")
        #expect(node.send(2, "MOVE", "t", "3") == RESP.integer(1))
        #expect(node.send(2, "MOVE", "list", "3") == RESP.integer(1))
        #expect(node.send(2, "EXISTS", "t", "list") == RESP.integer(0))
        #expect(node.send(1, "TTL", "t") == RESP.integer(100))
        #expect(node.send(1, "LRANGE", "list", "0", "-1") == RESP.array(RESP.bulk("a"), RESP.bulk("b")))
        #expect(node.send(2, "MOVE", "k", "3") == RESP.integer(0), "k exists in 3")
        #expect(node.send(2, "GET", "k") == RESP.bulk("zero"))
        #expect(node.send(2, "MOVE", "missing", "3") == RESP.integer(0))
        #expect(node.send(2, "MOVE", "k", "0") == RESP.error("ERR source and destination objects are the same"))
        #expect(node.send(2, "MOVE", "k", "16") == RESP.error("ERR DB index is out of range"))
        #expect(node.send(2, "MOVE", "k", "x") == RESP.error("ERR value is not an integer or out of range"))
        node.primary.store.checkInvariants()
        #expect(Self.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("FLUSHDB empties only the selected database; FLUSHALL empties every one")
    func flush() {
        var node = Self.twoDatabases()
        #expect(node.send(1, "FLUSHDB") == RESP.ok)
        #expect(node.send(1, "DBSIZE") == RESP.integer(0))
        #expect(node.send(2, "GET", "k") == RESP.bulk("zero"))
        node.send(1, "SET", "k", "again")
        #expect(node.send(2, "FLUSHDB", "ASYNC") == RESP.ok)
        #expect(node.send(1, "GET", "k") == RESP.bulk("again"))
        #expect(node.send(2, "FLUSHALL") == RESP.ok)
        #expect(node.send(1, "DBSIZE") == RESP.integer(0))
        #expect(node.primary.store.digest() == KeyValueStore().digest())
    }

    @Test("a watched key is its database's: the same name written in another database does not abort EXEC")
    func watchIsPerDatabase() {
        var node = Self.twoDatabases()
        #expect(node.send(1, "WATCH", "k") == RESP.ok)
        node.send(2, "SET", "k", "other database")
        node.send(1, "MULTI")
        node.send(1, "SET", "marker", "1")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok))
        #expect(node.send(1, "WATCH", "k") == RESP.ok)
        node.send(3, "SELECT", "3")
        node.send(3, "SET", "k", "same database")
        node.send(1, "MULTI")
        node.send(1, "SET", "marker", "2")
        #expect(node.send(1, "EXEC") == RESP.nullArray)
        #expect(node.send(1, "GET", "marker") == RESP.bulk("1"))
    }

    @Test("SWAPDB and FLUSHDB spoil the watches of keys they change, and of no others")
    func swapAndFlushTouchWatches() {
        func exec(_ node: inout ConnectedStore) -> String {
            node.send(1, "MULTI")
            node.send(1, "PING")
            return node.send(1, "EXEC")
        }
        let ran = RESP.array("+PONG\r\n")
        // A watched key that exists, swapped away; a missing one that the swap creates.
        var node = Self.twoDatabases()
        node.send(1, "WATCH", "k")
        node.send(2, "SWAPDB", "3", "9")
        #expect(exec(&node) == RESP.nullArray)
        node.send(1, "WATCH", "absent")
        node.send(2, "SELECT", "9")
        node.send(2, "SET", "absent", "now present")
        node.send(2, "SWAPDB", "3", "9")
        #expect(exec(&node) == RESP.nullArray)
        // Neither database holds the key: no change.
        node.send(1, "WATCH", "nowhere")
        node.send(2, "SWAPDB", "3", "9")
        #expect(exec(&node) == ran)
        // FLUSHDB of another database leaves the watch alone; of the watched key's database, spoils it.
        node.send(1, "WATCH", "k")
        node.send(2, "SELECT", "0")
        node.send(2, "FLUSHDB")
        #expect(exec(&node) == ran)
        node.send(1, "SET", "k", "3")
        node.send(1, "WATCH", "k")
        node.send(2, "SELECT", "3")
        node.send(2, "FLUSHDB")
        #expect(exec(&node) == RESP.nullArray)
    }

    @Test("SWAPDB replacing a stale watched key with none, or none with a stale key, changes nothing a client sees")
    func swapKeepsStaleWatches() {
        var node = Self.twoDatabases()
        node.send(1, "SET", "x", "soon", "PX", "1")
        node.send(2, "SELECT", "1")
        node.send(2, "SET", "y", "soon", "PX", "1")
        node.primary.advance(milliseconds: 2)
        node.send(1, "WATCH", "x", "y")
        node.send(2, "SWAPDB", "3", "1")
        node.send(1, "MULTI")
        node.send(1, "PING")
        #expect(node.send(1, "EXEC") == RESP.array("+PONG\r\n"))
    }

    @Test("MULTI with SELECT runs each queued command in the database selected before it, and keeps it after EXEC")
    func transactionWithSelect() {
        var node = Self.twoDatabases()
        node.send(2, "MULTI")
        node.send(2, "SET", "a", "zero")
        node.send(2, "SELECT", "3")
        node.send(2, "GET", "k")
        node.send(2, "SELECT", "99")
        node.send(2, "SET", "a", "three")
        #expect(
            node.send(2, "EXEC")
                == RESP.array(
                    RESP.ok, RESP.ok, RESP.bulk("three"), RESP.error("ERR DB index is out of range"), RESP.ok))
        #expect(node.clientLine(2).contains(" db=3 "))
        #expect(node.send(2, "GET", "a") == RESP.bulk("three"))
        #expect(node.send(3, "GET", "a") == RESP.bulk("zero"))
        #expect(Self.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("a backup replaying the same entries ends with the primary's digest, which tells databases apart")
    func digests() throws {
        var node = Self.twoDatabases()
        for database in 1..<KeyValueStore.databaseCount {
            node.send(4, "SELECT", String(database))
            node.send(4, "SET", "key\(database)", "value", "EX", "1000")
            node.send(4, "HSET", "hash", "f", String(database))
        }
        let backup = Self.backup(of: node)
        #expect(backup.digest() == node.primary.store.digest())
        #expect(try KeyValueStore.restored(from: backup.encoded()).digest() == backup.digest())
        // The same key in database 1, in database 2, and in 0: three digests.
        var digests: Set<UInt64> = []
        for database in ["0", "1", "2"] {
            var single = ConnectedStore()
            single.send(1, "SELECT", database)
            single.send(1, "SET", "same", "value")
            digests.insert(single.primary.store.digest())
        }
        #expect(digests.count == 3)
        // Swapping two databases changes the digest; swapping back restores it.
        let before = node.primary.store.digest()
        node.send(1, "SWAPDB", "1", "2")
        #expect(node.primary.store.digest() != before)
        node.send(1, "SWAPDB", "2", "1")
        #expect(node.primary.store.digest() == before)
    }

    @Test("a snapshot of several databases restores each whole, layout included, in any chunking")
    func snapshotRoundTrip() throws {
        var node = ConnectedStore()
        for database in [0, 2, 15] {
            node.send(1, "SELECT", String(database))
            for index in 0..<(database == 2 ? 1_500 : 20) { node.send(1, "SET", "k\(index)", "v\(database)") }
            node.send(1, "SET", "ttl", "x", "EX", "100")
            node.send(1, "SADD", "set", "a", String(database))
        }
        let store = node.primary.store
        #expect(store.keyspace(of: 2)!.shards.count > 1, "database 2 has split its table")
        let encoding = store.encoded(byteLimit: 1_000)
        for chunkBytes in [1, 7, 4_096] {
            let restored = try KeyValueStore.restored(from: encoding, chunkBytes: chunkBytes)
            restored.checkInvariants()
            #expect(restored.digest() == store.digest())
            for database in 0..<KeyValueStore.databaseCount {
                var original = store, copy = restored
                original.selectDatabase(database)
                copy.selectDatabase(database)
                #expect(copy.keyOrder == original.keyOrder, "database \(database)")
                #expect(copy.expiryOrder == original.expiryOrder, "database \(database)")
            }
        }
        var restored = try KeyValueStore.restored(from: encoding)
        var context = ApplyContext.recording(from: ScriptedEntropy(clockNanoseconds: 1_700_000_000_000_000_000))
        let get = DatabaseEntry(database: 15, command: KeyValueCommand.encode([bytes("GET"), bytes("k3")])).encoded
        #expect(text(restored.apply(get, context: &context)) == RESP.bulk("v15"))
    }

    @Test("SESSION EXEC applies in its connection's database, a retry from database 0 answers the saved reply, and a snapshot keeps databases, sorted sets and sessions")
    func sessionsInDatabases() throws {
        var node = Self.twoDatabases()
        let id = SessionCommandTests.open(&node)
        #expect(node.send(1, "SESSION", "EXEC", id, "1", "ZADD", "z", "2", "b", "1", "a") == RESP.integer(2))
        #expect(node.send(1, "SESSION", "EXEC", id, "2", "INCR", "n") == RESP.integer(1))
        #expect(node.send(2, "SESSION", "EXEC", id, "2", "INCR", "n") == RESP.integer(1), "the saved reply")
        #expect(node.send(2, "EXISTS", "z", "n") == RESP.integer(0))
        #expect(node.send(1, "ZRANGE", "z", "0", "-1") == RESP.array(RESP.bulk("a"), RESP.bulk("b")))
        #expect(node.send(1, "GET", "n") == RESP.bulk("1"))
        let store = node.primary.store
        #expect(Self.backup(of: node).digest() == store.digest())
        var restored = try KeyValueStore.restored(from: store.encoded(byteLimit: 100), chunkBytes: 13)
        restored.checkInvariants()
        #expect(restored.digest() == store.digest())
        var context = ApplyContext.recording(from: ScriptedEntropy(clockNanoseconds: 1_700_000_000_000_000_000))
        let retry = KeyValueCommand.encode(["SESSION", "EXEC", id, "1", "ZADD", "z", "9", "c"].map(bytes))
        #expect(text(restored.apply(retry, context: &context)) == RESP.integer(2), "the restored saved reply")
        let range = DatabaseEntry(database: 3, command: KeyValueCommand.encode(["ZCARD", "z"].map(bytes))).encoded
        #expect(text(restored.apply(range, context: &context)) == RESP.integer(2))
    }

    @Test("a version-3 snapshot, from before databases, restores as database 0; database numbers out of order refuse")
    func snapshotVersions() throws {
        var driver = StoreDriver()
        driver.run("SET", "a", "1")
        var old = KeyValueStore.snapshotMagic + [KeyValueStore.snapshotOldestVersion, 0, 0, 1, 1]
        old += [1] + bytes("a") + [0, 1] + bytes("1") + [0]
        withUnsafeBytes(of: driver.store.digest().littleEndian) { old += $0 }
        let restored = try KeyValueStore.restored(from: old)
        #expect(restored.digest() == driver.store.digest())
        #expect(restored.storedValue(StoreKey(bytes("a"))) == bytes("1"))
        let emptyDatabase: [UInt8] = [0, 0, 1, 0, 0]  // level, split pointer, one shard, no keys, no TTLs
        for (numbers, reason) in [([1], "database number 1"), ([0, 0], "database number 0"), ([0, 16], "number 16")] {
            var encoding = KeyValueStore.snapshotMagic + [KeyValueStore.snapshotVersion, UInt8(numbers.count)]
            for number in numbers { encoding += [UInt8(number)] + emptyDatabase }
            encoding += [UInt8](repeating: 0, count: 8)
            #expect(throws: SnapshotError.self) { try KeyValueStore.restored(from: encoding) }
            do {
                _ = try KeyValueStore.restored(from: encoding)
            } catch {
                #expect(error.reason.contains(reason), "\(error.reason)")
            }
        }
    }

    @Test("a read of database N is answered from database N without an entry; an expired key there declines")
    func readsOfDatabase() {
        var node = Self.twoDatabases()
        node.send(1, "SET", "soon", "x", "PX", "10")
        node.send(1, "HSET", "h", "f", "v")
        let store = node.primary.store
        func read(_ arguments: String...) -> String? {
            var context = ApplyContext.recording(
                from: ScriptedEntropy(clockNanoseconds: node.primary.entropy.clockNanoseconds))
            var reply: [UInt8] = []
            let command = DatabaseEntry.encoding(KeyValueCommand.encode(arguments.map(bytes)), in: 3)
            return store.read(command, into: &reply, context: &context) ? text(reply) : nil
        }
        #expect(read("GET", "k") == RESP.bulk("three"))
        #expect(read("get", "k") == RESP.bulk("three"))
        #expect(read("MGET", "k", "soon") == RESP.array(RESP.bulk("three"), RESP.bulk("x")))
        #expect(read("DBSIZE") == RESP.integer(3))
        #expect(read("HGET", "h", "f") == RESP.bulk("v"))
        #expect(read("SET", "k", "v") == nil, "a write is an entry")
        node.primary.advance(milliseconds: 11)
        #expect(read("GET", "soon") == nil, "an expired key is deleted by an entry")
    }

    @Test("active expiry deletes expired keys in every database, and reads nothing while no database has TTLs")
    func activeExpiry() {
        var node = ConnectedStore()
        node.primary.tick()
        #expect(node.primary.lastRecorded.isEmpty)
        for database in [0, 4, 11] {
            node.send(1, "SELECT", String(database))
            for index in 0..<30 { node.send(1, "SET", "e\(index)", "x", "PX", "5") }
            node.send(1, "SET", "stays", "x")
        }
        node.primary.advance(milliseconds: 10)
        for _ in 0..<20 { node.primary.tick() }
        #expect(node.primary.store.statistics.filter { $0.key != MemoryLimit.datasetFigure } == [
            "keys": 1, "expires": 0, "db4_keys": 1, "db4_expires": 0, "db11_keys": 1, "db11_expires": 0, "sessions": 0,
        ])
        #expect(Self.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("INFO lists one keyspace line per database holding keys; CLIENT LIST and MONITOR show the database")
    func introspection() {
        var node = Self.twoDatabases()
        node.send(1, "SET", "t", "x", "EX", "100")
        node.status.machineStatistics = node.primary.store.statistics
        let info = KeyValueFrontend.info(node.status, sections: [bytes("keyspace")])
        #expect(info == "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\ndb3:keys=2,expires=1,avg_ttl=0\r\n")
        #expect(node.clientLine(1).contains(" db=3 "))
        #expect(node.clientLine(2).contains(" db=0 "))
        node.send(5, "MONITOR")
        node.send(1, "GET", "k")
        node.send(2, "SELECT", "6")
        node.send(2, "GET", "k")
        #expect(MonitorTests.lines(node) == [
            "[3 id=1] \"GET\" \"k\"", "[6 id=2] \"SELECT\" \"6\"", "[6 id=2] \"GET\" \"k\"",
        ])
    }
}
