import Synchronization

/// Redis's `maxmemory`, as this node's CONFIG holds it, with the one policy Lockstep has: `noeviction`.
///
/// Past the limit, a primary refuses the commands Redis flags `denyoom` (those that may add data: SET, LPUSH,
/// SADD...) with Redis's `-OOM` error, before they cost a log entry. Deletions, reads and everything else go on, so a
/// client can make room. What is weighed is `usedBytes`: the memory the node had at start plus MEMORY USAGE summed
/// over every key, which the store keeps as it changes (O(1) per check). The process's resident set would be the
/// wrong weight: the allocator keeps freed pages, so deleting keys would not let writes in again.
///
/// Evicting keys (Redis's other policies) would be a replicated decision, since both nodes must drop the same keys,
/// and Lockstep does not make it: those policies are refused by name. The setting is node-local, as in Redis, and
/// starts at `--maxmemory` (0: no limit).
public final class MemoryLimit: Sendable {
    /// Redis 7.0's policy names, in its error's order; only `noeviction` is Lockstep's.
    static let policies = [
        "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu",
        "allkeys-random", "noeviction",
    ]

    /// The name of `StateMachine.statistics`'s figure this weighs: the store's MEMORY USAGE summed over its keys.
    static let datasetFigure = "dataset_bytes"

    private let limit: Atomic<UInt64>

    /// A limit of `bytes`; 0 is none, Redis's default.
    public init(bytes: UInt64 = 0) {
        limit = Atomic(bytes)
        _ = Self.startupBytes  // measured now, before the store holds anything
    }

    /// The limit in bytes; 0 when there is none.
    public var bytes: UInt64 { limit.load(ordering: .relaxed) }

    /// Sets the limit from CONFIG SET's text (a number of bytes, or with a unit, as Redis's `memtoull` reads it);
    /// Redis's reason when the text is not one.
    func set(_ text: String) -> String? {
        guard let value = Self.bytes(parsing: text) else { return "argument must be a memory value" }
        limit.store(value, ordering: .relaxed)
        return nil
    }

    /// The bytes `text` names, as CONFIG SET and `--maxmemory` read it; nil when it names none.
    public static func bytes(parsing text: String) -> UInt64? {
        guard let value = EncodingSettings.memorySize(text), value >= 0 else { return nil }
        return UInt64(value)
    }

    /// Why CONFIG SET refuses `text` for `maxmemory-policy`; nil for `noeviction`.
    static func policyRefusal(_ text: String) -> String? {
        let policy = text.lowercased()
        guard policy != "noeviction" else { return nil }
        guard policies.contains(policy) else {
            return "argument(s) must be one of the following: " + policies.joined(separator: ", ")
        }
        return "'\(policy)' is not supported: Lockstep evicts no keys, so its only policy is noeviction"
    }

    /// The resident memory of the process when the first limit was made: the node's own weight, without data. Never
    /// 0: were it, a node without keys would weigh nothing, past any limit, for the life of the process.
    static let startupBytes: UInt64 = ProcessFigures.residentBytes() ?? ProcessFigures.peakResidentBytes()

    /// What `maxmemory` weighs on a node whose store reports `statistics`: its memory at start plus its data's.
    static func usedBytes(_ statistics: [String: UInt64]) -> UInt64 {
        startupBytes + (statistics[datasetFigure] ?? 0)
    }

    /// Whether a limit is set and a node whose store reports `statistics` weighs more.
    func isExceeded(statistics: [String: UInt64]) -> Bool {
        let bytes = bytes
        return bytes != 0 && Self.usedBytes(statistics) > bytes
    }

    /// Redis's `-OOM` refusal, when `command` may add data and the limit `isExceeded`.
    func refusal(_ command: DataCommand, statistics: [String: UInt64]) -> [UInt8]? {
        guard command.isRefusedOutOfMemory, isExceeded(statistics: statistics) else { return nil }
        return Self.outOfMemoryReply
    }

    /// Redis's words.
    static let outOfMemoryReply = RESPWriter.error("OOM command not allowed when used memory > 'maxmemory'.")
}
