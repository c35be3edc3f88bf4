import Testing
@testable import KeyValue
import Replication

/// Transactions as the backup sees them: an EXEC is one entry, replayed whole, and the primary's WATCH judgement is
/// recorded in it, so both nodes reach the same state whatever the backup's own watch table holds.
@Suite("transactions on a replaying backup")
struct TransactionReplicationTests {
    /// A seeded mix from three connections: plain writes, MULTI/EXEC, WATCH that holds and WATCH that a write spoils,
    /// DISCARD, UNWATCH, expiries and ticks.
    static func workload(seed: UInt64, steps: Int) -> ConnectedStore {
        var node = ConnectedStore()
        var generator = SplitMix64(seed: seed)
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        for _ in 0..<steps {
            let client = UInt64(1 + pick(3))
            let key = "key\(pick(8))"
            switch pick(12) {
            case 0: node.send(client, "SET", key, "v\(pick(100))")
            case 1: node.send(client, "SET", key, "t", "PX", "\(1 + pick(30))")
            case 2: node.send(client, "WATCH", key, "key\(pick(8))")
            case 3: node.send(client, "MULTI")
            case 4: node.send(client, "INCR", "counter\(pick(2))")
            case 5: node.send(client, "EXEC")
            case 6: node.send(client, pick(2) == 0 ? "DISCARD" : "UNWATCH")
            case 7: node.send(client, "DEL", key)
            case 8: node.send(client, "RANDOMKEY")
            case 9: node.primary.tick()
            case 10: node.send(client, "FLUSHALL")
            default: node.primary.advance(milliseconds: Int64(pick(10)))
            }
        }
        return node
    }

    @Test("replaying a log of transactions and watches gives the primary's replies, digest and snapshot",
        arguments: [1, 2, 3, 4] as [UInt64])
    func replayMatches(seed: UInt64) {
        let primary = Self.workload(seed: seed, steps: 2_000)
        let execName = CommandName(Array("lockstep-exec".utf8))
        let execs = primary.log.filter {
            if case .command(let bytes, _) = $0 { CommandArguments.peek(bytes)?.name == execName } else { false }
        }
        let aborted = primary.primary.replies.filter { text($0) == RESP.nullArray }
        #expect(execs.count > 5, "the workload ran transactions")
        #expect(!aborted.isEmpty, "and some watches were spoiled")
        var backup = KeyValueStore()
        let (replies, divergence) = replay(primary.log, into: &backup)
        #expect(divergence == nil)
        #expect(replies == primary.primary.replies)
        #expect(backup.digest() == primary.primary.store.digest())
        #expect(backup.encoded() == primary.primary.store.encoded())
    }

    @Test("a MULTI/EXEC and an aborted WATCH end with equal digests on the primary and its backup")
    func execAndAbortedWatch() {
        var node = ConnectedStore()
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "1")
        node.send(1, "INCRBY", "a", "9")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok, RESP.integer(10)))
        node.send(1, "WATCH", "a")
        node.send(2, "SET", "a", "20")
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "lost")
        #expect(node.send(1, "EXEC") == RESP.nullArray)
        var backup = KeyValueStore()
        let (replies, divergence) = replay(node.log, into: &backup)
        #expect(divergence == nil)
        #expect(text(replies.last!) == RESP.nullArray)
        #expect(backup.digest() == node.primary.store.digest())
        #expect(backup.storedValue(StoreKey(bytes("a"))) == bytes("20"))
    }

    @Test("a backup restored after the WATCH, which never saw it, follows the primary's judgement")
    func backupWithoutTheWatchFollows() throws {
        var node = ConnectedStore()
        node.send(2, "SET", "x", "1")
        node.send(1, "WATCH", "x")
        // The backup joins here: its store comes from a snapshot, and its watch table is empty.
        var backup = try KeyValueStore.restored(from: node.primary.store.encoded())
        let joinedAt = node.log.count
        node.send(1, "MULTI")
        node.send(1, "SET", "y", "2")
        #expect(node.send(1, "EXEC") == RESP.array(RESP.ok), "x did not change: the primary runs the transaction")
        let (replies, divergence) = replay(Array(node.log[joinedAt...]), into: &backup)
        #expect(divergence == nil)
        #expect(text(replies.last!) == RESP.array(RESP.ok))
        #expect(backup.digest() == node.primary.store.digest())
    }

    @Test("an EXEC entry under a watch without the primary's recorded judgement is a divergence, not a guess")
    func missingJudgementDiverges() {
        let token = WatchToken(epoch: 1, clientID: 1, cycle: 0)
        let exec = TransactionEntry.exec(token, items: [.command(KeyValueCommand.encode([bytes("SET"), bytes("k"),
            bytes("v")]))]).encoded
        var backup = KeyValueStore()
        let forged: [LogEntry] = [.command(exec, recorded: [.clock(1_700_000_000_000_000_000)])]
        #expect(replay(forged, into: &backup).divergence != nil)
    }
}
