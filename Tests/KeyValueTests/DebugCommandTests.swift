@testable import KeyValue
import Replication
import Testing

/// DEBUG RELOAD, DEBUG OBJECT and DEBUG SLEEP: Redis 7.0's replies, the round trip RELOAD checks, and a SLEEP that
/// delays one connection's reply through the blocking-command path instead of stopping the node.
@Suite("DEBUG RELOAD, OBJECT and SLEEP")
struct DebugCommandTests {
    /// A node holding every kind of value: strings with and without TTLs, a list, a hash, a set, a sorted set, in
    /// databases 0, 3 and 9, with active expiry off (a replicated setting).
    static func everyKind() -> ConnectedStore {
        var node = ConnectedStore()
        node.send(1, "SET", "plain", "value")
        node.send(1, "SET", "counter", "123")
        node.send(1, "SET", "ttl", "soon", "PX", "60000")
        node.send(1, "RPUSH", "list", "a", "b", "c")
        node.send(1, "HSET", "hash", "field", "value", "other", "thing")
        node.send(1, "SADD", "set", "1", "2", "three")
        node.send(1, "ZADD", "zset", "1.5", "one", "-2", "two")
        node.send(1, "SELECT", "3")
        node.send(1, "SET", "elsewhere", "x", "EX", "100")
        node.send(1, "LPUSH", "list3", "z")
        node.send(1, "SELECT", "9")
        node.send(1, "ZADD", "zset9", "7", "seven")
        node.send(1, "SELECT", "0")
        node.send(1, "DEBUG", "SET-ACTIVE-EXPIRE", "0")
        return node
    }

    /// What the primary answers to `arguments` from connection `client` as a read, without an entry: the request the
    /// client protocol makes of it, handed to `StateMachine.read`; nil when the store declines (it becomes an entry).
    static func read(
        _ node: inout ConnectedStore, _ client: UInt64 = 9, database: Int = 0, _ arguments: String...
    ) -> String? {
        var request = Array("*2\r\n$6\r\nSELECT\r\n$\(String(database).count)\r\n\(database)\r\n*\(arguments.count)\r\n".utf8)
        for argument in arguments { request += Array("$\(argument.utf8.count)\r\n\(argument)\r\n".utf8) }
        var session = node.wire.makeSession(clientID: client)
        request.withUnsafeBytes { node.wire.append($0, to: &session) }
        let store = node.primary.store
        _ = node.wire.nextRequest(from: &session, status: node.status, digest: { store.digest() })  // the SELECT
        guard case .replicated(let bytes)? = node.wire.nextRequest(from: &session, status: node.status, digest: { store.digest() })
        else { return "(not replicated)" }
        var reply: [UInt8] = []
        var context = ApplyContext.recording(from: node.primary.entropy)
        guard store.read(bytes, into: &reply, context: &context) else { return nil }
        return text(reply)
    }

    // MARK: DEBUG RELOAD

    @Test("DEBUG RELOAD answers +OK for a store of every kind in several databases, as a read and as an entry, and changes nothing")
    func reloadSucceeds() {
        var node = Self.everyKind()
        let digest = node.primary.store.digest()
        #expect(Self.read(&node, 9, "DEBUG", "RELOAD") == RESP.ok, "the primary answers it without an entry")
        let entries = node.log.count
        #expect(node.send(1, "DEBUG", "RELOAD") == RESP.ok)
        #expect(node.send(1, "DEBUG", "RELOAD", "NOSAVE", "noflush", "Merge") == RESP.ok)
        // From a connection in another database, whose entry and read run with that database selected.
        #expect(Self.read(&node, 9, database: 3, "DEBUG", "RELOAD") == RESP.ok)
        #expect(node.send(2, "SELECT", "9") == RESP.ok)
        #expect(node.send(2, "DEBUG", "RELOAD") == RESP.ok)
        #expect(node.primary.store.digest() == digest)
        #expect(node.send(1, "DBSIZE") == RESP.integer(7), "the reload flushed nothing")
        #expect(DatabaseTests.backup(of: node).digest() == digest, "its entries replay alike on the backup")
        #expect(node.log.count == entries + 4)
    }

    @Test("DEBUG RELOAD answers +OK from a connection in another database while database 0 is empty, as Redis's tests run")
    func reloadFromAnotherDatabase() {
        var node = ConnectedStore()
        node.send(1, "SELECT", "9")
        node.send(1, "SADD", "set", "a", "b")
        #expect(node.send(1, "DEBUG", "RELOAD") == RESP.ok)
        #expect(Self.read(&node, 9, database: 9, "DEBUG", "RELOAD") == RESP.ok)
    }

    @Test("DEBUG RELOAD refuses an option Redis does not know with Redis's error")
    func reloadRefusesUnknownOption() {
        var node = Self.everyKind()
        let error = RESP.error("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        #expect(node.send(1, "DEBUG", "RELOAD", "NOSAVE", "FAST") == error)
        #expect(Self.read(&node, 9, "DEBUG", "RELOAD", "FAST") == error)
    }

    @Test("a corrupted or cut-short round trip is named, never answered +OK")
    func corruptRoundTripIsDetected() {
        let store = Self.everyKind().primary.store
        #expect(store.reloadMismatch() == nil)
        let length = store.encoded().count
        // A byte flipped anywhere (a sample across the encoding), or the last chunk's tail lost.
        for position in stride(from: 0, to: length, by: max(1, length / 97)) {
            var seen = 0
            let mismatch = store.reloadMismatch { chunk in
                if position >= seen, position < seen + chunk.count { chunk[position - seen] ^= 0x20 }
                seen += chunk.count
            }
            #expect(mismatch != nil, "byte \(position) of \(length) flipped went unnoticed")
        }
        let cut = store.reloadMismatch { chunk in chunk.removeLast() }
        #expect(cut?.contains("does not restore") == true, "\(cut ?? "nil")")
    }

    @Test("the comparison names what differs between the store and what its snapshot restored")
    func comparisonNamesTheDifference() {
        let store = Self.everyKind().primary.store
        var other = Self.everyKind()
        other.send(1, "SET", "extra", "1")
        #expect(store.mismatch(restoredFrom: other.primary.store)?.hasPrefix("digest ") == true)
        var expiring = Self.everyKind()
        expiring.send(1, "DEBUG", "SET-ACTIVE-EXPIRE", "1")
        #expect(store.mismatch(restoredFrom: expiring.primary.store) == "active expiry is on after it")
        #expect(store.mismatch(restoredFrom: Self.everyKind().primary.store) == nil)
    }

    @Test("DEBUG RELOAD refuses a dataset above its bound, saying why, and never starts the round trip")
    func reloadRefusesLargeDataset() {
        var node = ConnectedStore()
        let large = String(repeating: "x", count: KeyValueStore.debugReloadBytesLimit + 1)
        node.send(1, "SET", "large", large)
        let reply = node.send(1, "DEBUG", "RELOAD")
        #expect(reply.hasPrefix("-ERR DEBUG RELOAD refused: the dataset holds "), "\(reply.prefix(120))")
        #expect(reply.contains("event loop"))
    }

    @Test("DEBUG RELOAD and OBJECT on a backup send the client to the primary")
    func readsOnBackup() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        node.status.role = .backup
        #expect(node.send(1, "DEBUG", "RELOAD").hasPrefix("-READONLY "))
        #expect(node.send(1, "DEBUG", "OBJECT", "k").hasPrefix("-READONLY "))
        #expect(node.send(1, "DEBUG", "SLEEP", "1").hasPrefix("-READONLY "))
        #expect(node.send(1, "DEBUG", "SLEEP", "0") == RESP.ok, "no time: answered at once, anywhere")
    }

    // MARK: DEBUG OBJECT

    @Test("DEBUG OBJECT answers Redis's line for each kind, and -ERR no such key for a missing one")
    func objectLines() {
        var node = Self.everyKind()
        func line(_ key: String) -> String {
            let reply = node.send(1, "DEBUG", "OBJECT", key)
            // The address is the key's hash, the same for the same key on any node.
            let address = "0x" + String(ShardHash.of(Array(key.utf8)[...]), radix: 16)
            return reply.replacing(address, with: "ADDR")
        }
        #expect(line("plain") == "+Value at:ADDR refcount:1 encoding:embstr serializedlength:6 lru:0 lru_seconds_idle:0\r\n")
        #expect(
            line("counter")
                == "+Value at:ADDR refcount:2147483647 encoding:int serializedlength:2 lru:0 lru_seconds_idle:0\r\n")
        #expect(
            line("list") == "+Value at:ADDR refcount:1 encoding:quicklist serializedlength:7 lru:0 lru_seconds_idle:0"
                + " ql_nodes:1 ql_avg_node:3.00 ql_listpack_max:-2 ql_compressed:0 ql_uncompressed_size:3\r\n")
        #expect(line("hash").contains(" encoding:listpack serializedlength:25 "), "\(line("hash"))")
        #expect(line("set").contains(" encoding:hashtable "))
        #expect(line("zset").contains(" encoding:listpack serializedlength:25 "), "\(line("zset"))")
        #expect(node.send(1, "DEBUG", "OBJECT", "missing") == RESP.error("ERR no such key"))
        #expect(node.send(1, "DEBUG", "OBJECT", "elsewhere") == RESP.error("ERR no such key"), "in another database")
        node.send(1, "SELECT", "3")
        #expect(node.send(1, "DEBUG", "OBJECT", "elsewhere").hasPrefix("+Value at:0x"))
    }

    @Test("DEBUG OBJECT is read without an entry, except of a key whose TTL has passed, which its entry deletes")
    func objectIsARead() {
        var node = Self.everyKind()
        let entry = node.send(1, "DEBUG", "OBJECT", "ttl")
        #expect(Self.read(&node, 9, "DEBUG", "OBJECT", "ttl") == entry)
        node.primary.advance(milliseconds: 60_001)
        #expect(Self.read(&node, 9, "DEBUG", "OBJECT", "ttl") == nil, "an expired key goes to an entry")
        #expect(node.send(1, "DEBUG", "OBJECT", "ttl") == RESP.error("ERR no such key"))
        #expect(node.primary.store.count == 6, "the entry deleted the expired key")
    }

    // MARK: DEBUG SLEEP

    @Test("DEBUG SLEEP reads its time as Redis's strtod does, to whole microseconds")
    func sleepTimes() {
        let cases: [(String, Int64)] = [
            ("0", 0), ("1", 1_000_000), ("0.25", 250_000), (" 1.5s", 1_500_000), ("abc", 0), ("-3", 0), ("1e-7", 0),
            ("2e-3", 2_000), ("1.5e", 1_500_000), ("3-", 3_000_000), ("1e300", BlockingCommand.sleepMicrosecondsLimit),
        ]
        for (argument, microseconds) in cases {
            #expect(BlockingCommand.sleepMicroseconds(Array(argument.utf8)[...]) == microseconds, "\(argument)")
        }
    }

    @Test("DEBUG SLEEP waits as a blocking command with its time as the timeout, and its end answers +OK")
    func sleepDelaysOneReply() throws {
        var node = ConnectedStore()
        var session = node.wire.makeSession(clientID: 4)
        Array("*3\r\n$5\r\nDEBUG\r\n$5\r\nSLEEP\r\n$4\r\n0.25\r\n".utf8).withUnsafeBytes { node.wire.append($0, to: &session) }
        let request = node.wire.nextRequest(from: &session, status: node.status, digest: { 0 })
        guard case .blocking(_, let timeout)? = request else { Issue.record("\(String(describing: request))"); return }
        #expect(timeout == .milliseconds(250))
        #expect(node.send(4, "DEBUG", "SLEEP", "0.25") == ConnectedStore.waiting)
        #expect(node.send(5, "PING") == "+PONG\r\n", "another connection is answered meanwhile")
        // A snapshot taken while it sleeps restores it, as it does any waiter.
        let restored = try KeyValueStore.restored(from: node.primary.store.encoded())
        #expect(restored.digest() == node.primary.store.digest())
        node.unblock(4)
        #expect(node.delivered[4] == [RESP.ok])
        #expect(node.primary.store.blocked.isEmpty)
        #expect(node.send(4, "DEBUG", "SLEEP", "0") == RESP.ok, "no time: at once, without an entry")
    }

    @Test("a DEBUG SLEEP longer than the slow log's threshold is noted there with its time, as in Redis")
    func sleepIsNotedAsSlow() {
        var node = ConnectedStore()
        node.send(1, "CONFIG", "SET", "slowlog-log-slower-than", "100000")
        node.send(4, "DEBUG", "SLEEP", "0.05")
        node.unblock(4)
        #expect(node.send(1, "SLOWLOG", "LEN") == RESP.integer(0), "50 ms is under the threshold")
        node.send(4, "DEBUG", "SLEEP", "0.2")
        node.unblock(4)
        let entries = DecodedReply.one(Array(node.send(1, "SLOWLOG", "GET").utf8))?.elements ?? []
        #expect(entries.count == 1)
        #expect(entries.first?.elements[2] == .integer(200_000))
        #expect(entries.first?.elements[3] == .array([.bulk("DEBUG"), .bulk("SLEEP"), .bulk("0.2")]))
    }

    @Test("DEBUG HELP lists the subcommands in Redis's help format")
    func help() {
        var node = ConnectedStore()
        let reply = node.send(1, "DEBUG", "HELP")
        #expect(reply.hasPrefix("*24\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"))
        for name in ["DIGEST", "OBJECT <key>", "RELOAD [option ...]", "SLEEP <seconds>", "HELP"] {
            #expect(reply.contains("+\(name)\r\n"), "\(name)")
        }
        #expect(reply.contains("Inside MULTI only 0 is queued"), "SLEEP says what MULTI does with it")
    }
}
