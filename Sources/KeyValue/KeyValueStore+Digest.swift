/// The state digest: a hash of the contents that ignores insertion order and costs O(1) to read.
///
/// Each entry hashes to `mix(FNV-1a(key length, key, value, expiry))`; the digest is the wrapping sum of the
/// entry hashes, updated by every mutation (subtract the old entry's hash, add the new one). Addition is
/// order-independent, so stores with equal contents built in different orders agree; FNV-1a with a fixed
/// basis and a fixed finaliser gives the same value in every process, unlike Swift's seeded `Hasher`.
/// A single changed byte always changes an entry's hash: each FNV step and the finaliser are bijections.
extension KeyValueStore {
    /// The wrapping sum of every entry's hash, kept up to date by each mutation, per database
    /// (`databaseDigest`), plus the session table's digest (zero while it holds no sessions) and the blocked clients'
    /// (zero until a client first waited); reading it costs O(databases).
    public func digest() -> UInt64 {
        combinedDigest &+ sessions.digest &+ blocked.tableDigest
    }

    private static let fnvOffsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    private static let fnvPrime: UInt64 = 0x0000_0100_0000_01B3

    /// FNV-1a over `bytes`, continuing from `state`.
    static func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes, from state: UInt64) -> UInt64 {
        var hash = state
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* fnvPrime }
        return hash
    }

    /// FNV-1a over the key's length, the key and the value: the part of an entry's hash APPEND can extend.
    ///
    /// The length prefix makes the key/value boundary unambiguous (`"ab"="c"` differs from `"a"="bc"`).
    static func contentHash(key: ArraySlice<UInt8>, value: ArraySlice<UInt8>) -> UInt64 {
        var hash = fnvOffsetBasis
        withUnsafeBytes(of: UInt64(key.count).littleEndian) { hash = fnv1a($0, from: hash) }
        hash = key.withUnsafeBufferPointer { fnv1a($0, from: hash) }
        return value.withUnsafeBufferPointer { fnv1a($0, from: hash) }
    }

    /// The content hash of a key holding `collection`: FNV-1a over the key's length with the kind in its top byte
    /// (a key length never reaches it, so no string's hash is spelled the same way), the key and the collection's
    /// digest. Inlined: called, it copied the whole collection value to read two fields of it.
    @inline(__always)
    static func contentHash(key: ArraySlice<UInt8>, collection: CollectionValue) -> UInt64 {
        contentHash(key: key, kind: collection.kind, digest: collection.digest)
    }

    private static func contentHash(key: ArraySlice<UInt8>, kind: ValueKind, digest: UInt64) -> UInt64 {
        var hash = fnvOffsetBasis
        let prefix = UInt64(key.count) | UInt64(0x80 | kind.rawValue) << 56
        withUnsafeBytes(of: prefix.littleEndian) { hash = fnv1a($0, from: hash) }
        hash = key.withUnsafeBufferPointer { fnv1a($0, from: hash) }
        withUnsafeBytes(of: digest.littleEndian) { hash = fnv1a($0, from: hash) }
        return hash
    }

    /// An entry's contribution to the digest: its content hash, then its expiry (a presence byte and the
    /// time), finalised.
    @inline(__always)
    static func entryHash(contentHash: UInt64, expiresAtMilliseconds: Int64?) -> UInt64 {
        var hash = contentHash
        if let expiresAt = expiresAtMilliseconds {
            hash = (hash ^ 1) &* fnvPrime
            withUnsafeBytes(of: expiresAt.littleEndian) { hash = fnv1a($0, from: hash) }
        } else {
            hash = (hash ^ 0) &* fnvPrime
        }
        return SplitMix64.mix(hash)
    }
}
