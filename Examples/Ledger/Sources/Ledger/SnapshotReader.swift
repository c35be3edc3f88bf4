import Lockstep

/// Reads what `SnapshotWriter` wrote, refusing anything truncated or out of bounds with a `SnapshotError`.
///
/// A snapshot comes from the peer over the network, so it is outside input: every count is checked against a bound
/// before anything is allocated for it, and no read can run past the end.
struct SnapshotReader {
    private let bytes: [UInt8]
    private var offset = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func readUInt64() throws(SnapshotError) -> UInt64 {
        guard bytes.count - offset >= 8 else { throw SnapshotError("truncated at byte \(offset)") }
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
        offset += 8
        return value
    }

    mutating func readInt64() throws(SnapshotError) -> Int64 {
        Int64(bitPattern: try readUInt64())
    }

    /// A count that `limit` bounds, `what` naming it for the error.
    mutating func readCount(limit: Int, _ what: String) throws(SnapshotError) -> Int {
        let count = try readUInt64()
        guard count <= UInt64(limit) else { throw SnapshotError("\(count) \(what), above the limit of \(limit)") }
        return Int(count)
    }

    /// A string of at most `bytesLimit` bytes of valid UTF-8.
    mutating func readString(bytesLimit: Int, _ what: String) throws(SnapshotError) -> String {
        let count = try readCount(limit: bytesLimit, "bytes in \(what)")
        guard bytes.count - offset >= count else { throw SnapshotError("truncated in \(what) at byte \(offset)") }
        let slice = bytes[offset..<(offset + count)]
        offset += count
        guard let string = String(validating: slice, as: UTF8.self) else { throw SnapshotError("\(what) is not UTF-8") }
        return string
    }
}
