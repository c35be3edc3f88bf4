/// A key of the store: its bytes, compared bytewise.
///
/// A key built to look one up views the command's bytes (`init(viewing:)`), so a command on an existing key
/// allocates no key. A key read from a shard views the shard's storage; one kept past a write to that shard must
/// be made `owned` first, or the write copies the shard it still shares. Shards place and find keys by
/// `ShardHash`, not by Swift's per-process `Hasher`.
struct StoreKey: Equatable, Sendable {
    private(set) var bytes: ArraySlice<UInt8>

    /// A key owning `bytes`.
    init(_ bytes: [UInt8]) {
        self.bytes = bytes[...]
    }

    /// A key viewing `bytes` in place; store it only through `owned`.
    init(viewing bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
    }

    /// The same key with bytes of its own, to keep.
    var owned: StoreKey { StoreKey(Array(bytes)) }

    static func == (left: StoreKey, right: StoreKey) -> Bool {
        left.bytes.withUnsafeBufferPointer { leftBytes in
            right.bytes.withUnsafeBufferPointer { rightBytes in
                guard leftBytes.count == rightBytes.count else { return false }
                for index in 0..<leftBytes.count where leftBytes[index] != rightBytes[index] { return false }
                return true
            }
        }
    }
}

extension CommandArguments {
    /// The argument at `position` as a key to look up, viewing the command's bytes.
    func key(at position: Int) -> StoreKey {
        StoreKey(viewing: bytes(at: position))
    }
}
