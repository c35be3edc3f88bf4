/// A key of the store: its bytes, hashed in one call and ordered bytewise.
///
/// `[UInt8]`'s own `Hashable` feeds the hasher one byte at a time; hashing the buffer at once is several times
/// faster on the path every command takes. The order is `memcmp`'s, which the snapshot sorts by, so it is
/// the same on every machine.
struct StoreKey: Hashable, Comparable, Sendable {
    var bytes: [UInt8]

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    static func == (left: StoreKey, right: StoreKey) -> Bool {
        left.bytes == right.bytes
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
