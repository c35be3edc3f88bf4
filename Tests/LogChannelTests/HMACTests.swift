import LogChannel
import Testing

/// Lowercase hex of `bytes`, for comparing with published vectors.
func hex(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

@Suite("SHA-256 and HMAC-SHA256")
struct HMACTests {
    @Test(
        "SHA-256 gives the FIPS 180-4 digests",
        arguments: [
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
             "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ])
    func fipsVectors(message: String, digest: String) {
        #expect(hex(SHA256.hash(Array(message.utf8))) == digest)
    }

    @Test("SHA-256 of one million 'a's, fed in uneven pieces, gives the FIPS 180-4 digest")
    func millionA() {
        var hasher = SHA256()
        var fed = 0
        var piece = 1
        while fed < 1_000_000 {
            let count = min(piece, 1_000_000 - fed)
            hasher.update(repeatElement(UInt8(ascii: "a"), count: count))
            fed += count
            piece = piece % 997 + 13  // crosses block boundaries at every offset
        }
        #expect(hex(hasher.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test("messages around the padding boundary hash as one piece or byte by byte alike", arguments: [55, 56, 63, 64, 65])
    func paddingBoundaries(length: Int) {
        let message = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var bytewise = SHA256()
        for byte in message { bytewise.update([byte]) }
        #expect(bytewise.finalize() == SHA256.hash(message))
    }

    @Test(
        "HMAC-SHA256 gives the RFC 4231 tags (case 5 compares its 128-bit truncation)",
        arguments: [
            ([UInt8](repeating: 0x0b, count: 20), Array("Hi There".utf8),
             "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
            (Array("Jefe".utf8), Array("what do ya want for nothing?".utf8),
             "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
            ([UInt8](repeating: 0xaa, count: 20), [UInt8](repeating: 0xdd, count: 50),
             "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
            ((1...25).map { UInt8($0) }, [UInt8](repeating: 0xcd, count: 50),
             "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
            ([UInt8](repeating: 0x0c, count: 20), Array("Test With Truncation".utf8),
             "a3b6167473100ee06e0c796c2955552b"),
            ([UInt8](repeating: 0xaa, count: 131), Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8),
             "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
            ([UInt8](repeating: 0xaa, count: 131),
             Array(("This is a test using a larger than block-size key and a larger than block-size data. The key "
                + "needs to be hashed before being used by the HMAC algorithm.").utf8),
             "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
        ])
    func rfc4231(key: [UInt8], data: [UInt8], tag: String) {
        #expect(hex(HMAC.authenticationCode(for: data, key: key)).hasPrefix(tag))
        #expect(tag.count == 64 || tag.count == 32)
    }

    @Test("tags compare equal only byte for byte, and never across lengths")
    func constantTimeComparison() {
        let tag = HMAC.authenticationCode(for: Array("m".utf8), key: Array("k".utf8))
        #expect(HMAC.isEqualInConstantTime(tag, tag))
        for index in tag.indices {
            var flipped = tag
            flipped[index] ^= 0x01
            #expect(!HMAC.isEqualInConstantTime(tag, flipped))
        }
        #expect(!HMAC.isEqualInConstantTime(tag, Array(tag.dropLast())))
        #expect(HMAC.isEqualInConstantTime([], []))
    }
}
