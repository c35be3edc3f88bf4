import Testing
@testable import KeyValue
import Replication

/// `maxmemory` with Redis's `noeviction` policy (`MemoryLimit`): past the limit a primary refuses the writes that may
/// add data with Redis's `-OOM` error and logs nothing for them (`tests/unit/multi.tcl`'s OOM cases, Redis's
/// `denyoom` flag); what it weighs is MEMORY USAGE summed over the keys, kept by the store as they change.
@Suite("maxmemory")
struct MemoryLimitTests {
    static let outOfMemory = RESP.error("OOM command not allowed when used memory > 'maxmemory'.")

    /// The store's figure for its data, as INFO's `used_memory_dataset` shows it.
    static func dataset(_ node: ConnectedStore) -> Int {
        Int(node.primary.store.statistics[MemoryLimit.datasetFigure] ?? 0)
    }

    /// MEMORY USAGE of `key` in the connection's database, 0 when missing.
    static func usage(_ node: inout ConnectedStore, _ key: String) -> Int {
        guard case .integer(let bytes)? = DecodedReply.one(Array(node.send(1, "MEMORY", "USAGE", key).utf8)) else {
            return 0
        }
        return Int(bytes)
    }

    @Test("the dataset figure is MEMORY USAGE summed over every key of every database, through writes and deletes")
    func datasetIsTheSumOfUsage() {
        var node = ConnectedStore()
        #expect(Self.dataset(node) == 0)
        node.send(1, "SET", "short", "v")
        node.send(1, "SET", "long", String(repeating: "x", count: 5_000))
        node.send(1, "APPEND", "long", String(repeating: "y", count: 3_000))
        node.send(1, "SET", "grows", "a")
        node.send(1, "SET", "grows", String(repeating: "z", count: 2_000))
        node.send(1, "SET", "shrinks", String(repeating: "z", count: 2_000))
        node.send(1, "SET", "shrinks", "b", "EX", "100")
        node.send(1, arguments: ["HSET", "h"] + (0..<50).flatMap { ["f\($0)", String(repeating: "v", count: 30)] })
        node.send(1, "HDEL", "h", "f1", "f2")
        node.send(1, arguments: ["RPUSH", "l"] + (0..<40).map { "e\($0)" })
        node.send(1, "LPOP", "l", "5")
        node.send(1, "ZADD", "z", "1", "a", "2", "b", "3", "c")
        node.send(1, "SADD", "s", "a", "b")
        node.send(1, "SET", "s2", "string then")
        node.send(1, "SADD", "gone", "only")
        node.send(1, "SREM", "gone", "only")
        node.send(1, "SELECT", "5")
        node.send(1, "SET", "elsewhere", String(repeating: "w", count: 700))
        node.send(1, "RPUSH", "l5", "a", "b")
        var sum = 0
        for key in ["elsewhere", "l5"] { sum += Self.usage(&node, key) }
        node.send(1, "SELECT", "0")
        for key in ["short", "long", "grows", "shrinks", "h", "l", "z", "s", "s2"] { sum += Self.usage(&node, key) }
        #expect(sum > 8_000 + 2_000 + 48 * 30)
        #expect(Self.dataset(node) == sum)
        let deleted = Self.usage(&node, "long") + Self.usage(&node, "h")
        node.send(1, "DEL", "long", "h")
        #expect(Self.dataset(node) == sum - deleted)
        node.send(1, "FLUSHALL")
        #expect(Self.dataset(node) == 0)
    }

    @Test("past maxmemory a write that may add data is refused with -OOM and no entry; reads and deletes go on")
    func refusesWritesPastTheLimit() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", "v")
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "1") == RESP.ok)
        let entries = node.log.count
        #expect(node.send(1, "SET", "k", "w") == Self.outOfMemory)
        #expect(node.send(1, "LPUSH", "list", "a") == Self.outOfMemory)
        #expect(node.send(1, "BLMOVE", "a", "b", "LEFT", "LEFT", "0") == Self.outOfMemory, "blocking ones too")
        #expect(node.send(1, "SORT", "list") == Self.outOfMemory, "SORT is denyoom even without STORE, as in Redis")
        #expect(node.send(1, "SESSION", "EXEC", "1", "1", "SET", "k", "w") == Self.outOfMemory, "inside a session too")
        #expect(node.log.count == entries, "a refused write costs no entry")
        #expect(node.send(1, "SET", "k") == RESP.error("ERR wrong number of arguments for 'set' command"),
                "arity is checked first, as in Redis")
        #expect(node.send(1, "GET", "k") == RESP.bulk("v"))
        #expect(node.send(1, "EXPIRE", "k", "100") == RESP.integer(1), "not denyoom: it adds no data")
        #expect(node.send(1, "DEL", "k") == RESP.integer(1))
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "0") == RESP.ok)
        #expect(node.send(1, "SET", "k", "w") == RESP.ok)
    }

    @Test("an -OOM refusal is a rejected call and an OOM error in INFO, as Redis's errorstats test expects")
    func refusalsAreCounted() {
        var node = ConnectedStore()
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "1") == RESP.ok)
        #expect(node.send(1, "SET", "k", "v") == Self.outOfMemory)
        #expect(CommandStatisticsTests.counts(&node, "set") == "calls=0,rejected_calls=1,failed_calls=0")
        #expect(CommandStatisticsTests.errorCount(&node, "OOM") == "count=1")
    }

    @Test("deleting keys brings the node back under the limit, and writes are taken again")
    func deletingMakesRoom() {
        var node = ConnectedStore()
        let limit = MemoryLimit.usedBytes(node.primary.store.statistics) + 20_000
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", String(limit)) == RESP.ok)
        var written = 0
        while written < 100, node.send(1, "SET", "key\(written)", String(repeating: "x", count: 1_000)) == RESP.ok {
            written += 1
        }
        #expect((15...25).contains(written), "about 20 KB of 1 KB values fit: \(written)")
        #expect(MemoryLimit.usedBytes(node.primary.store.statistics) > limit)
        node.send(1, "DEL", "key0", "key1", "key2")
        #expect(node.send(1, "SET", "again", String(repeating: "x", count: 1_000)) == RESP.ok)
    }

    @Test("inside MULTI a refused write flags the transaction; EXEC weighs the memory again; DISCARD still works")
    func transactions() {
        var node = ConnectedStore()
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "1") == RESP.ok)
        node.send(1, "MULTI")
        #expect(node.send(1, "SET", "x", "1") == Self.outOfMemory)
        #expect(node.send(1, "EXEC") == RESP.error("EXECABORT Transaction discarded because of previous errors."))
        node.send(1, "MULTI")
        #expect(node.send(1, "SET", "x", "1") == Self.outOfMemory)
        #expect(node.send(1, "DISCARD") == RESP.ok)
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "0") == RESP.ok)
        node.send(1, "MULTI")
        #expect(node.send(1, "SET", "x", "1") == RESP.queued)
        #expect(node.send(1, "GET", "x") == RESP.queued)
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "1") == RESP.ok)
        let entries = node.log.count
        #expect(node.send(1, "EXEC") == RESP.error(
            "EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'."))
        #expect(node.log.count == entries)
        #expect(!node.isInTransaction(1))
        node.send(1, "MULTI")
        #expect(node.send(1, "GET", "x") == RESP.queued)
        #expect(node.send(1, "PING") == RESP.queued)
        #expect(node.send(1, "EXEC") == RESP.array(RESP.nullBulk, "+PONG\r\n"), "reads alone run past the limit")
    }

    @Test("CONFIG SET maxmemory takes Redis's memory units; maxmemory-policy takes noeviction alone, naming why")
    func configuration() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "GET", "maxmemory") == RESP.array(RESP.bulk("maxmemory"), RESP.bulk("0")))
        #expect(node.send(1, "CONFIG", "SET", "maxmemory", "1mb") == RESP.ok)
        #expect(node.send(1, "CONFIG", "GET", "maxmemory")
            == RESP.array(RESP.bulk("maxmemory"), RESP.bulk("1048576")))
        #expect(node.send(1, "CONFIG", "SET", "maxmemory", "2GB") == RESP.ok)
        #expect(node.wire.memoryLimit.bytes == 2 << 30)
        #expect(node.send(1, "CONFIG", "SET", "maxmemory", "lots") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"))
        #expect(node.wire.memoryLimit.bytes == 2 << 30, "a refused value changes nothing")
        #expect(node.send(1, "CONFIG", "SET", "maxmemory-policy", "noeviction") == RESP.ok)
        #expect(node.send(1, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - 'allkeys-lru' is not supported:"
                + " Lockstep evicts no keys, so its only policy is noeviction"))
        #expect(node.send(1, "CONFIG", "SET", "maxmemory-policy", "sometimes") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the"
                + " following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu,"
                + " allkeys-random, noeviction"))
        #expect(node.send(1, "CONFIG", "GET", "maxmemory-policy")
            == RESP.array(RESP.bulk("maxmemory-policy"), RESP.bulk("noeviction")))
    }

    @Test("INFO's used_memory is the node's memory at start plus its data's, which MEMORY USAGE adds up; maxmemory shows")
    func info() {
        var node = ConnectedStore()
        node.send(1, "SET", "k", String(repeating: "x", count: 3_000))
        node.status.machineStatistics = node.primary.store.statistics
        let memory = KeyValueFrontend.info(node.status, sections: [Array("memory".utf8)])
        func field(_ name: String) -> Int? {
            memory.split(separator: "\r\n").first { $0.hasPrefix(name + ":") }.flatMap { Int($0.dropFirst(name.count + 1)) }
        }
        #expect(field("used_memory_dataset") == Self.usage(&node, "k"))
        #expect(field("used_memory") == field("used_memory_startup").map { $0 + Self.usage(&node, "k") })
        #expect(field("used_memory_rss").map { $0 > 0 } == true)
        #expect(node.send(2, "CONFIG", "SET", "maxmemory", "2mb") == RESP.ok)
        let fields = CommandStatisticsTests.info(&node, "memory")
        #expect(fields["maxmemory"] == "2097152" && fields["maxmemory_human"] == "2.00M", "\(fields)")
        #expect(fields["maxmemory_policy"] == "noeviction")
    }
}
