import LogChannel

/// The password a scrape must present on the metrics port when the node has one (`RuntimeConfiguration.metricsPassword`).
///
/// Every port that accepts a peer authenticates it: the metrics show what INFO shows, and INFO on a node with a
/// password needs AUTH, so the metrics need the same password. Prometheus' scrape configuration sends it either way:
/// `authorization: {credentials_file: ...}` as `Authorization: Bearer <password>`, or `basic_auth: {username: ...,
/// password_file: ...}` as Basic with any user name (the node has one password and no users).
///
/// Only the password's SHA-256 is kept, and a candidate is hashed and compared with `HMAC.isEqualInConstantTime`,
/// so the time taken depends on the candidate's length alone: neither where it differs from the password nor the
/// password's length can be learnt by timing.
struct MetricsPassword: Sendable {
    private let digest: [UInt8]

    /// The password `bytes`; nil when empty (no password).
    init?(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return nil }
        digest = SHA256.hash(bytes)
    }

    /// Whether an `Authorization` header value carries the password, as Bearer or Basic credentials.
    func isAuthorized(by authorization: String?) -> Bool {
        guard let candidate = authorization.flatMap(Self.presentedPassword) else { return false }
        return HMAC.isEqualInConstantTime(SHA256.hash(candidate), digest)
    }

    /// The password in `Bearer <password>` or `Basic <base64(user:password)>`; nil for any other form.
    static func presentedPassword(_ authorization: String) -> [UInt8]? {
        let bytes = Array(authorization.utf8)
        guard let space = bytes.firstIndex(of: UInt8(ascii: " ")) else { return nil }
        let scheme = String(decoding: bytes[..<space], as: UTF8.self).lowercased()
        let credentials = Array(bytes[(space + 1)...].drop { $0 == UInt8(ascii: " ") })
        switch scheme {
        case "bearer":
            return credentials.isEmpty ? nil : credentials
        case "basic":
            guard let decoded = Base64.decode(credentials), let colon = decoded.firstIndex(of: UInt8(ascii: ":"))
            else { return nil }
            return Array(decoded[(colon + 1)...])
        default:
            return nil
        }
    }
}

/// RFC 4648 base64 decoding, as Basic credentials need; strict: padding required, no whitespace inside.
enum Base64 {
    /// The bytes `text` encodes, nil if it is not canonical padded base64.
    static func decode(_ text: [UInt8]) -> [UInt8]? {
        guard text.count % 4 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 4 * 3)
        var index = 0
        while index < text.count {
            let isLast = index + 4 == text.count
            var group: UInt32 = 0
            var padding = 0
            for offset in 0..<4 {
                let character = text[index + offset]
                if character == UInt8(ascii: "=") {
                    // Padding only at the end of the last group, at most two.
                    guard isLast, offset >= 2 else { return nil }
                    padding += 1
                    group <<= 6
                    continue
                }
                guard padding == 0, let value = sextet(character) else { return nil }
                group = group << 6 | UInt32(value)
            }
            bytes.append(UInt8(truncatingIfNeeded: group >> 16))
            if padding < 2 { bytes.append(UInt8(truncatingIfNeeded: group >> 8)) }
            if padding < 1 { bytes.append(UInt8(truncatingIfNeeded: group)) }
            index += 4
        }
        return bytes
    }

    private static func sextet(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
