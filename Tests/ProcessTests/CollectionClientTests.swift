import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// Hashes, sets, lists and sorted sets through a real client library against a real pair: the answers redis-py gives, the
    /// backup's digest equal to the primary's after replaying them, and a restarted backup rejoining from a snapshot
    /// that carries the collections.
    @Suite(.serialized) struct CollectionClientTests {
        @Test("redis-py's hash, set, list and sorted set methods work against the pair; a rejoined backup has the same digest")
        func redisPyCollections() async throws {
            let pair = try await RunningPair.start("collections")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(5))

            let python = try #require(Harness.onPath("python3"), "python3 is not installed; .ci/run installs it")
            let script = pair.directory + "/collections.py"
            try writeScript(script, CollectionClientScript.source)
            let run = try Harness.run(python, [script, primary.host, String(primary.port)], timeout: .seconds(30))
            try #require(run.status == .exited(code: 0), "redis-py: \(run.standardOutput)\(run.standardError)")
            let expected = [
                "hset=3", "hget=ada", "hgetall=[('name', 'ada'), ('score', '1.5'), ('visits', '1')]", "hincrby=42",
                "hincrbyfloat=1.6", "hmget=['ada', None]", "hsetnx=0", "hlen_hexists_hstrlen=3,True,3",
                "hkeys_hvals=['name', 'score', 'visits'],['1.6', '42', 'ada']", "hrandfield=True",
                "hrandfield_values=12", "hdel=1", "type_hash=hash",
                "sadd=3", "smembers=['a', 'b', 'c']", "sismember=1,[1, 0]",
                "algebra=['b', 'c'],['a', 'b', 'c', 'd'],['a']", "sinterstore=2,1", "smove=True,2,4",
                "srandmember=10", "spop=['b', 'c'],0", "srem=1", "type_set=set",
                "rpush=3,4", "lrange=['zero', 'one', 'two', 'three']", "lpop=zero,['three', 'two']", "lpushx=2,0",
                "lindex_lset=one,True", "linsert=3,['A', 'B', 'one']", "lrem=2,3,[3]", "lmove=A,y",
                "ltrim=True,['B'],2", "type_list=list",
                "zadd=3,1", "zincrby=11.1,0", "zscore=11.1,[9.0, None]", "zrange=[('bob', 9.0), ('ada', 11.1), ('cy', 12.0)]",
                "zrevrange=['cy', 'ada'],['ada', 'cy']", "zrank=1,1,3,2", "zrangebylex=['b', 'c', 'd'],2",
                "zunionstore=7,[('bob', 18.0), ('ada', 22.2), ('cy', 24.0)]", "zpopmin=[('a', 0.0)],[('d', 0.0), ('c', 0.0)]",
                "zmpop=['board', [['bob', '9']]]", "zrandmember=8", "zremrangebyscore=5,['ada', 'cy']",
                "zrangestore=1,['cy']", "zdiff=['ada', '11.1'],1", "type_zset=zset",
                "blpop=[('other_jobs', 'job1')],None,('board', 'ada', 11.1)",
                "hget_wrongtype=WRONGTYPE", "sadd_wrongtype=WRONGTYPE", "lpush_wrongtype=WRONGTYPE",
                "zadd_wrongtype=WRONGTYPE", "zrange_wrongtype=WRONGTYPE", "get_wrongtype=WRONGTYPE",
                "dbsize=10,['board', 'both', 'combined', 'done', 'letters', 'other', 'plain', 'queue', 'top', 'user:1']",
            ]
            #expect(run.standardOutput.split(separator: "\n").map(String.init) == expected, "\(run.standardError)")
            let digest = try await pair.waitForEqualDigests(deadline: .seconds(5))
            print("after redis-py's collections both nodes have digest \(digest)")

            // The supervisor restarts a killed backup, which rejoins from a snapshot of the primary.
            let backupPID = try pair.nodePID(backup)
            #expect(kill(backupPID, SIGKILL) == 0)
            let restarted = try await Harness.waitUntil(.seconds(20)) {
                (try? pair.nodePID(backup)).map { $0 != backupPID } == true
            }
            #expect(restarted, "the backup was not restarted\n\(pair.logTail())")
            let rejoined = try await pair.waitForProtectedPrimary(deadline: .seconds(15))
            #expect(rejoined.primary == primary)
            let rejoinedDigest = try await pair.waitForEqualDigests(deadline: .seconds(10))
            #expect(rejoinedDigest == digest)
        }

        private func writeScript(_ path: String, _ text: String) throws {
            let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o644)
            defer { try? file.close() }  // written in full below, or the error is thrown
            try Array(text.utf8).withUnsafeBytes { try file.writeAll($0) }
        }
    }
}
