/// One database's keys, parked: the store's layout and running totals for a database other than the selected one.
///
/// The store keeps the selected database's keys in its own fields (`KeyValueStore.shards` and the totals next to
/// it), so every command and primitive works on "the keys" without naming a database, and database 0, which nearly
/// every command uses, costs nothing extra. Selecting another database exchanges these few fields with the store's
/// (`KeyValueStore.exchangeKeyspace`): O(1), references moved, no key copied.
struct Keyspace: Sendable {
    /// The fields of `KeyValueStore` with the same names, for a parked database.
    var shards: ShardTable = [StoreShard()]
    var level = 0
    var splitPointer = 0
    var count = 0
    var expiringCount = 0
    var digestSum: UInt64 = 0
    var byteCount = 0
    var memoryByteCount = 0

    /// An empty database, as a fresh store's.
    init() {}

    /// Whether `key` is stored here, expired or not.
    func isPresent(_ key: StoreKey) -> Bool {
        location(of: key) != nil
    }

    /// Whether `key` is stored here with a TTL before `nowMilliseconds`.
    func hasExpired(_ key: StoreKey, nowMilliseconds: Int64) -> Bool {
        guard let (index, slot) = location(of: key), let expiresAt = shards[index].expiry(at: slot) else {
            return false
        }
        return nowMilliseconds > expiresAt
    }

    private func location(of key: StoreKey) -> (index: Int, slot: StoreShard.Slot)? {
        let hash = ShardHash.of(key.bytes)
        let index = KeyValueStore.shardIndex(hash: hash, level: level, splitPointer: splitPointer)
        return shards[index].find(key, hash: hash).map { (index, $0) }
    }
}

extension KeyValueStore {
    /// Exchanges the selected database's keys in the store's fields with `other`'s. O(1).
    mutating func exchangeKeyspace(_ other: inout Keyspace) {
        swap(&shards, &other.shards)
        swap(&level, &other.level)
        swap(&splitPointer, &other.splitPointer)
        swap(&count, &other.count)
        swap(&expiringCount, &other.expiringCount)
        swap(&digestSum, &other.digestSum)
        swap(&byteCount, &other.byteCount)
        swap(&memoryByteCount, &other.memoryByteCount)
    }
}
