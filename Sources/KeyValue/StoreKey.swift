/// A key of the store: its bytes, hashed in one call and ordered bytewise.
///
/// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time; hashing the buffer at once is several times
/// faster on the path every command takes. The order is `memcmp`'s, which the snapshot sorts by, so it is
/// the same on every machine.
///
/// A key built to look one up views the command's bytes (`init(viewing:)`), so a command on an existing key
/// allocates no key, where an owned key would cost one allocation and one free per SET on each node. A key the
/// store keeps owns exactly its bytes (`owned`), so it never pins a command's encoding in memory.
struct StoreKey: Hashable, Comparable, Sendable {
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

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (left: StoreKey, right: StoreKey) -> Bool {
        left.bytes.withUnsafeBufferPointer { leftBytes in
            right.bytes.withUnsafeBufferPointer { rightBytes in
                guard leftBytes.count == rightBytes.count else { return false }
                for index in 0..<leftBytes.count where leftBytes[index] != rightBytes[index] { return false }
                return true
            }
        }
    }

    static func < (left: StoreKey, right: StoreKey) -> Bool {
        left.bytes.withUnsafeBufferPointer { leftBytes in
            right.bytes.withUnsafeBufferPointer { rightBytes in
                let common = min(leftBytes.count, rightBytes.count)
                for index in 0..<common where leftBytes[index] != rightBytes[index] {
                    return leftBytes[index] < rightBytes[index]
                }
                return leftBytes.count < rightBytes.count
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
