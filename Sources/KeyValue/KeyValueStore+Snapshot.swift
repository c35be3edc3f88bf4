import Replication

/// Snapshots: the whole store as bytes, to bring a new backup up (re-protection), and back.
///
/// Layout, version 1, numbers as LEB128 varints unless marked:
/// `"LKKV" · version (1 byte) · key count · entries · key order · TTL order · digest (8 bytes LE)`, where
/// - entries are sorted bytewise by key, each `key length · key · value length · value · flags (1 byte:
///   bit 0 = has TTL) · [expiry, Unix ms, 8 bytes LE]`, so equal contents give an equal entries section;
/// - key order gives, for each position of `keys`, the rank of its key among the sorted entries, and TTL
///   order does the same for `keysWithExpiry`. Random picks (RANDOMKEY, active expiry) index these arrays, so
///   a restored backup must have them exactly as the primary does or its next random pick diverges. Two
///   stores with equal contents but different histories therefore differ in these two sections only.
/// - the digest lets `restore` check the whole decode against what the primary had.
extension KeyValueStore {
    static let snapshotMagic: [UInt8] = Array("LKKV".utf8)
    static let snapshotVersion: UInt8 = 1

    /// The whole store in the version-1 layout above, entries sorted by key.
    public func encoded() -> [UInt8] {
        let sortedPositions = keys.indices.sorted { keys[$0] < keys[$1] }
        var rankOfPosition = [Int](repeating: 0, count: keys.count)
        for (rank, position) in sortedPositions.enumerated() { rankOfPosition[position] = rank }

        var bytes = Self.snapshotMagic
        bytes.append(Self.snapshotVersion)
        Varint.append(UInt64(keys.count), to: &bytes)
        for position in sortedPositions {
            let key = keys[position]
            let entry = entries[key]!
            Varint.append(UInt64(key.bytes.count), to: &bytes)
            bytes.append(contentsOf: key.bytes)
            Varint.append(UInt64(entry.value.count), to: &bytes)
            bytes.append(contentsOf: entry.value)
            if let expiresAt = entry.expiresAtMilliseconds {
                bytes.append(1)
                withUnsafeBytes(of: expiresAt.littleEndian) { bytes.append(contentsOf: $0) }
            } else {
                bytes.append(0)
            }
        }
        for rank in rankOfPosition { Varint.append(UInt64(rank), to: &bytes) }
        Varint.append(UInt64(keysWithExpiry.count), to: &bytes)
        for key in keysWithExpiry { Varint.append(UInt64(rankOfPosition[entries[key]!.position]), to: &bytes) }
        withUnsafeBytes(of: digestSum.littleEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Replaces the store with a snapshot, or throws and leaves the store as it was.
    ///
    /// Validates everything before trusting it: magic and version, every length against the bytes left
    /// (so a corrupt count cannot make us allocate), strictly ascending unique keys, both orders being
    /// permutations of the right keys, the digest, and no trailing bytes.
    public mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        var reader = SnapshotReader(bytes: snapshot)
        guard try reader.take(Self.snapshotMagic.count) == Self.snapshotMagic[...] else {
            throw SnapshotError("not a key-value snapshot (bad magic)")
        }
        let version = try reader.take(1).first!
        guard version == Self.snapshotVersion else { throw SnapshotError("unsupported snapshot version \(version)") }

        // Each entry takes at least 3 bytes (two one-byte lengths and the flags), which bounds `count`.
        let count = try reader.count(atMost: reader.remaining / 3, "key count")
        var sortedKeys: [StoreKey] = []
        var sortedEntries: [Entry] = []
        sortedKeys.reserveCapacity(count)
        sortedEntries.reserveCapacity(count)
        var expiringCount = 0
        for _ in 0..<count {
            let key = StoreKey(Array(try reader.take(try reader.count(atMost: reader.remaining, "key length"))))
            if let previous = sortedKeys.last, !(previous < key) {
                throw SnapshotError("keys are not in strictly ascending order")
            }
            let value = Array(try reader.take(try reader.count(atMost: reader.remaining, "value length")))
            let flags = try reader.take(1).first!
            var expiresAt: Int64?
            switch flags {
            case 0: break
            case 1:
                expiresAt = Int64(bitPattern: try reader.fixed64())
                expiringCount += 1
            default: throw SnapshotError("entry flags \(flags) are not 0 or 1")
            }
            sortedKeys.append(key)
            sortedEntries.append(
                Entry(
                    value: value, expiresAtMilliseconds: expiresAt, position: -1, expiryPosition: -1,
                    contentHash: Self.contentHash(key: key.bytes, value: value[...])))
        }

        var restored = KeyValueStore()
        restored.keys.reserveCapacity(count)
        for position in 0..<count {
            let rank = try reader.count(atMost: count - 1, "key order rank")
            guard sortedEntries[rank].position < 0 else { throw SnapshotError("key order names a key twice") }
            sortedEntries[rank].position = position
            restored.keys.append(sortedKeys[rank])
        }
        let expiryOrderCount = try reader.count(atMost: count, "TTL order count")
        guard expiryOrderCount == expiringCount else {
            throw SnapshotError("TTL order has \(expiryOrderCount) keys but \(expiringCount) keys have a TTL")
        }
        restored.keysWithExpiry.reserveCapacity(expiringCount)
        for expiryPosition in 0..<expiringCount {
            let rank = count == 0 ? 0 : try reader.count(atMost: count - 1, "TTL order rank")
            guard sortedEntries[rank].expiresAtMilliseconds != nil else {
                throw SnapshotError("TTL order names a key without a TTL")
            }
            guard sortedEntries[rank].expiryPosition < 0 else { throw SnapshotError("TTL order names a key twice") }
            sortedEntries[rank].expiryPosition = expiryPosition
            restored.keysWithExpiry.append(sortedKeys[rank])
        }
        let recordedDigest = try reader.fixed64()
        guard reader.remaining == 0 else { throw SnapshotError("\(reader.remaining) trailing bytes") }

        restored.entries.reserveCapacity(count)
        for (key, entry) in zip(sortedKeys, sortedEntries) {
            restored.entries[key] = entry
            restored.digestSum &+= Self.entryHash(entry)
        }
        guard restored.digestSum == recordedDigest else {
            throw SnapshotError("contents do not match the recorded digest")
        }
        self = restored
    }
}

/// Reads a snapshot front to back; every read checks the bytes left and throws `SnapshotError` when short.
private struct SnapshotReader {
    let bytes: [UInt8]
    var offset = 0

    var remaining: Int { bytes.count - offset }

    mutating func take(_ count: Int) throws(SnapshotError) -> ArraySlice<UInt8> {
        guard count <= remaining else {
            throw SnapshotError("truncated at byte \(offset): needs \(count) more, has \(remaining)")
        }
        defer { offset += count }
        return bytes[offset..<(offset + count)]
    }

    /// A varint that must be at most `limit`, e.g. a length no longer than the bytes left.
    mutating func count(atMost limit: Int, _ what: String) throws(SnapshotError) -> Int {
        let start = offset
        guard let value = Varint.read(bytes, at: &offset) else {
            throw SnapshotError("\(what) at byte \(start) is truncated or overflows")
        }
        guard value <= UInt64(max(limit, 0)) else {
            throw SnapshotError("\(what) \(value) at byte \(start) exceeds \(limit)")
        }
        return Int(value)
    }

    mutating func fixed64() throws(SnapshotError) -> UInt64 {
        var value: UInt64 = 0
        for (index, byte) in try take(8).enumerated() { value |= UInt64(byte) << (8 * index) }
        return value
    }
}
