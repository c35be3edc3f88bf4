/// HMAC-SHA256 (RFC 2104 with FIPS 180-4's SHA-256), and the constant-time comparison its tags need.
///
/// The logging channel's proofs are HMAC tags keyed by the cluster secret (`ChannelHandshake`); comparing one by
/// ordinary `==` would stop at the first differing byte and let a stranger learn a valid tag byte by byte from
/// timing, hence `isEqualInConstantTime`.
public enum HMAC {
    /// The tag size in bytes: a SHA-256 digest.
    public static let tagBytes = SHA256.digestBytes

    /// The HMAC-SHA256 tag of `message` under `key` (any length: longer than a block is hashed first).
    public static func authenticationCode(for message: some Sequence<UInt8>, key: [UInt8]) -> [UInt8] {
        var block = key.count > SHA256.blockBytes ? SHA256.hash(key) : key
        block.append(contentsOf: repeatElement(0, count: SHA256.blockBytes - block.count))
        var inner = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// Whether `a` and `b` hold the same bytes, taking the same time wherever they differ.
    ///
    /// Lengths are not secret (every tag is `tagBytes`), so unequal lengths return at once.
    public static func isEqualInConstantTime(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
