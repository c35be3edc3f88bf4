/// Appends fixed-width little-endian integers and length-prefixed strings: the ledger's snapshot encoding.
///
/// Fixed widths and one byte order make the same state the same bytes on every machine, which the digest relies on.
struct SnapshotWriter {
    private(set) var bytes: [UInt8] = []

    mutating func write(_ value: UInt64) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Int64) {
        write(UInt64(bitPattern: value))
    }

    mutating func write(count: Int) {
        write(UInt64(count))
    }

    /// A string as its UTF-8 byte count, then the bytes.
    mutating func write(_ string: String) {
        write(count: string.utf8.count)
        bytes.append(contentsOf: string.utf8)
    }
}
