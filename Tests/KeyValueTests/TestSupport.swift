@testable import KeyValue
import Replication

/// The bytes of an ASCII string; test inputs read better as text.
func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A reply as text, so expectations read like `redis-cli --no-raw` output on the wire.
func text(_ reply: [UInt8]) -> String { String(decoding: reply, as: UTF8.self) }

/// An entropy source whose clock a test moves by hand and whose random values come from a script, then from a
/// fixed generator once the script runs out.
struct ScriptedEntropy: EntropySource {
    var clockNanoseconds: Int64
    var scriptedRandomValues: [UInt64] = []
    var generatorState: UInt64 = 0x5EED

    mutating func wallClockNanoseconds() -> Int64 { clockNanoseconds }

    mutating func randomValue() -> UInt64 {
        if !scriptedRandomValues.isEmpty { return scriptedRandomValues.removeFirst() }
        generatorState = generatorState &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return generatorState
    }
}

/// Drives a store the way the primary does: each command runs with a recording context, and what it read
/// goes into a log of entries that a second store can replay.
struct StoreDriver {
    var store = KeyValueStore()
    var entropy = ScriptedEntropy(clockNanoseconds: 1_700_000_000_000_000_000)
    /// The primary's tenure every command records under (`ApplyContext.tenure`): one primary, unless a test changes it.
    var tenure: UInt64 = 1
    private(set) var log: [LogEntry] = []
    private(set) var replies: [[UInt8]] = []
    /// What the last command or tick read from the context.
    private(set) var lastRecorded: [Recorded] = []

    /// 1_700_000_000_000 ms, the start of every test's clock.
    static let startMilliseconds: Int64 = 1_700_000_000_000

    mutating func advance(milliseconds: Int64) {
        entropy.clockNanoseconds += milliseconds * 1_000_000
    }

    @discardableResult
    mutating func run(_ arguments: String...) -> String {
        text(run(arguments: arguments.map(bytes)))
    }

    @discardableResult
    mutating func run(arguments: [[UInt8]]) -> [UInt8] {
        run(encoded: KeyValueCommand.encode(arguments))
    }

    /// Applies one command as the frontend encoded it (a transaction entry, say).
    @discardableResult
    mutating func run(encoded command: [UInt8]) -> [UInt8] {
        var context = ApplyContext.recording(from: entropy, tenure: tenure)
        let reply = store.apply(command, context: &context)
        consume(context.recorded)
        log.append(.command(command, recorded: context.recorded))
        replies.append(reply)
        checkInvariantsNow()
        return reply
    }

    /// Runs the timer-driven work and returns its output (`StateMachine.tickWithOutput`), as the primary does.
    @discardableResult
    mutating func tick() -> [UInt8] {
        var context = ApplyContext.recording(from: entropy, tenure: tenure)
        let output = store.tickWithOutput(context: &context)
        consume(context.recorded)
        log.append(.tick(recorded: context.recorded))
        checkInvariantsNow()
        return output
    }

    /// Checks the whole store after every command while it is small, and after every 256th once it is not: the
    /// check is O(keys), and the tests that grow many shards would otherwise be quadratic.
    private func checkInvariantsNow() {
        if store.count <= 1_000 || log.count % 256 == 0 { store.checkInvariants() }
    }

    /// Moves the scripted source past what the context read (the context worked on a copy of it).
    private mutating func consume(_ recorded: [Recorded]) {
        lastRecorded = recorded
        for value in recorded {
            if case .random = value { _ = entropy.randomValue() }
        }
    }
}

/// Replays `log` into `store` like a backup: every entry with exactly the values the primary recorded.
///
/// Returns the replies and the first divergence, if any.
func replay(_ log: [LogEntry], into store: inout KeyValueStore) -> (replies: [[UInt8]], divergence: String?) {
    var replies: [[UInt8]] = []
    for entry in log {
        switch entry {
        case .command(let command, let recorded):
            var context = ApplyContext.replaying(recorded)
            replies.append(store.apply(command, context: &context))
            context.finishReplay()
            if let divergence = context.divergence { return (replies, divergence) }
        case .tick(let recorded):
            var context = ApplyContext.replaying(recorded)
            store.tick(context: &context)
            context.finishReplay()
            if let divergence = context.divergence { return (replies, divergence) }
        case .digest, .barrier:
            break
        }
    }
    return (replies, nil)
}

extension KeyValueStore {
    /// The whole snapshot encoding, drawn in chunks of at most `byteLimit` bytes.
    func encoded(byteLimit: Int = 1 << 16) -> [UInt8] {
        var snapshot = snapshot()
        var bytes: [UInt8] = []
        while !snapshot.isFinished { bytes += snapshot.nextChunk(byteLimit: byteLimit) }
        return bytes
    }

    /// A store restored from `bytes` fed in chunks of `chunkBytes` (the last may be shorter).
    static func restored(from bytes: [UInt8], chunkBytes: Int = 1 << 16) throws(SnapshotError) -> KeyValueStore {
        var restorer = KeyValueStore().makeRestorer()
        var start = 0
        while start < bytes.count {
            let end = min(start + chunkBytes, bytes.count)
            try restorer.consume(Array(bytes[start..<end]))
            start = end
        }
        return try restorer.finish()
    }

    /// Every key, shard by shard in each shard's key order: what KEYS and RANDOMKEY walk.
    var keyOrder: [[UInt8]] {
        shards.flatMap { shard in (0..<shard.count).map { Array(shard.key(atPosition: $0).bytes) } }
    }

    /// Every key with a TTL, shard by shard in each shard's TTL order: what active expiry samples.
    var expiryOrder: [[UInt8]] {
        shards.flatMap { shard in (0..<shard.expiringCount).map { Array(shard.expiringKey(atPosition: $0).key.bytes) } }
    }
}
