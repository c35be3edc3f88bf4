import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// DUMP and RESTORE between a real `redis-server` and a Lockstep node, both ways, for every type in both of Redis's
    /// encodings (compact and not). Without `redis-server` (Debian's redis-server package, which .ci/run installs) it
    /// fails and says so, as the tests needing redis-cli do.
    @Suite(.serialized)
    struct DumpRestoreInteropTests {
        /// Commands making one key of each type and encoding, the same on both servers.
        static let setup: [[String]] = [
            ["SET", "string", "hello"], ["SET", "integer", "-123456"],
            ["SET", "long", String(repeating: "abcdefgh", count: 40)],
            ["RPUSH", "list", "a", "1", "-300", "70000", String(repeating: "x", count: 100)],
            ["SADD", "intset", "1", "2", "-5", "100000"], ["SADD", "set", "x", "y", "z"],
            ["SADD", "largeset"] + (1...600).map(String.init),
            ["HSET", "hash", "f1", "v1", "f2", "2"], ["HSET", "largehash", String(repeating: "f", count: 70), "v"],
            ["ZADD", "zset", "1.5", "a", "2", "b", "-inf", "c"],
            ["ZADD", "largezset", "3.25", String(repeating: "m", count: 70), "1", "n"],
        ]

        /// The value of `key` as its type's commands read it, sorted where the type has no order.
        static func contents(_ connection: RESPClient, _ key: String) throws -> String {
            let type = try connection.command(["TYPE", key])
            let read: [String] =
                switch type {
                case .simpleString("string"): ["GET", key]
                case .simpleString("list"): ["LRANGE", key, "0", "-1"]
                case .simpleString("set"): ["SORT", key, "ALPHA"]
                case .simpleString("hash"): ["HGETALL", key]
                case .simpleString("zset"): ["ZRANGE", key, "0", "-1", "WITHSCORES"]
                default: ["TYPE", key]
                }
            var contents = "\(type) \(try connection.command(read))"
            if case .simpleString("hash") = type {  // HGETALL's order is the encoding's: compare as pairs, sorted
                if case .array(let items?) = try connection.command(read) {
                    contents = "hash " + stride(from: 0, to: items.count, by: 2)
                        .map { "\(items[$0])=\(items[$0 + 1])" }.sorted().joined(separator: ",")
                }
            }
            return contents
        }

        /// DUMPs `key` from `source` and RESTOREs it as `target` into `destination`; the reply of RESTORE.
        static func move(_ key: String, from source: RESPClient, to destination: RESPClient, as target: String) throws
            -> RESPValue
        {
            guard case .bulk(let payload?) = try source.command(["DUMP", key]) else { return .error("no payload") }
            let restore = [Array("RESTORE".utf8), Array(target.utf8), Array("0".utf8), payload]
            try destination.sendRaw(RESPClient.encode(restore))
            return try destination.readReply()
        }

        @Test("keys move from Redis 7.0 to Lockstep and back with DUMP and RESTORE", .timeLimit(.minutes(2)))
        func bothWays() async throws {
            let directory = try Harness.temporaryDirectory("redis-dump")
            defer { Harness.removeTree(directory) }
            let port = try Harness.freePort()
            let redisServer = try ChildProcess.spawn(
                try Harness.redisTool("redis-server"),
                arguments: ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                            "--dir", directory],
                standardOutput: .file(path: directory + "/redis.out", append: false),
                standardError: .file(path: directory + "/redis.err", append: false))
            defer { _ = try? redisServer.terminate(signal: SIGKILL, timeout: .seconds(5)) }
            let node = try await SoloNode.start("dump")
            defer { node.stop(); node.remove() }

            let address = SocketAddress.loopback(port: UInt16(port))
            var redisConnection: RESPClient?
            let isServing = try await Harness.waitUntil(.seconds(10)) {
                redisConnection = try? RESPClient(address: address, timeout: .seconds(5))
                return (try? redisConnection?.command(["PING"])) == .simpleString("PONG")
            }
            let redis = try #require(isServing ? redisConnection : nil, "redis-server never answered")
            let lockstep = try RESPClient(address: node.client, timeout: .seconds(5))
            for command in Self.setup { _ = try redis.command(command) }

            for command in Self.setup {
                let key = command[1]
                #expect(try Self.move(key, from: redis, to: lockstep, as: key) == .simpleString("OK"), "\(key)")
                let expected = try Self.contents(redis, key)
                #expect(try Self.contents(lockstep, key) == expected, "\(key) in Lockstep")
                let back = try Self.move(key, from: lockstep, to: redis, as: key + ":back")
                #expect(back == .simpleString("OK"), "\(key)")
                #expect(try Self.contents(redis, key + ":back") == expected, "\(key) back in Redis")
            }
            #expect(try redis.command(["DBSIZE"]) == .integer(Int64(2 * Self.setup.count)))
            print("moved \(Self.setup.count) keys from redis-server to Lockstep and back")
        }
    }
}
