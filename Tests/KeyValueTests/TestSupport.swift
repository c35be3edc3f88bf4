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
        let command = KeyValueCommand.encode(arguments)
        var context = ApplyContext.recording(from: entropy)
        let reply = store.apply(command, context: &context)
        consume(context.recorded)
        log.append(.command(command, recorded: context.recorded))
        replies.append(reply)
        store.checkInvariants()
        return reply
    }

    mutating func tick() {
        var context = ApplyContext.recording(from: entropy)
        store.tick(context: &context)
        consume(context.recorded)
        log.append(.tick(recorded: context.recorded))
        store.checkInvariants()
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
