/// The secret both nodes of a pair hold, and nobody else: what lets a node tell its peer from a stranger.
///
/// The logging channel carries the whole replicated state and decides who protects the primary, so a connection
/// is served only once the other end proved it knows this secret (`ChannelHandshake`). The bytes themselves never
/// go on the wire, into a log line or into a description. Two keys are derived from it, each under its own label,
/// so that a MAC computed for one purpose can never stand in for the other, nor for a future use of the same secret
/// (client AUTH, say).
public struct ClusterSecret: Sendable, CustomStringConvertible {
    /// The fewest bytes accepted: 256 bits, the key size of HMAC-SHA256; a shorter secret could be guessed offline
    /// from one recorded proof.
    public static let minimumBytes = 32
    /// The most bytes accepted; a larger "secret" file is a mistaken path (a log, a binary), not a key.
    public static let maximumBytes = 4096

    /// The key every handshake proof is MACed with.
    let proofKey: [UInt8]
    /// Names the cluster in every proof (both ends must compute the same one), without revealing the secret.
    public let clusterID: [UInt8]

    /// Derives the keys from `bytes`, which must hold `minimumBytes...maximumBytes` bytes.
    public init(_ bytes: [UInt8]) throws(ClusterSecretError) {
        guard bytes.count >= Self.minimumBytes else {
            throw .tooShort(bytes: bytes.count, minimum: Self.minimumBytes)
        }
        guard bytes.count <= Self.maximumBytes else {
            throw .tooLong(bytes: bytes.count, maximum: Self.maximumBytes)
        }
        proofKey = HMAC.authenticationCode(for: Array("lockstep logging channel proof key v1".utf8), key: bytes)
        clusterID = HMAC.authenticationCode(for: Array("lockstep cluster id v1".utf8), key: bytes)
    }

    /// Never the bytes: a secret that reached a log line would no longer be one.
    public var description: String { "cluster secret (hidden)" }
}

/// Why bytes cannot serve as a cluster secret.
public enum ClusterSecretError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer bytes than `ClusterSecret.minimumBytes`.
    case tooShort(bytes: Int, minimum: Int)
    /// More bytes than `ClusterSecret.maximumBytes`.
    case tooLong(bytes: Int, maximum: Int)

    /// One sentence: what is wrong and what to do.
    public var description: String {
        switch self {
        case .tooShort(let bytes, let minimum):
            "the cluster secret holds \(bytes) bytes, fewer than the \(minimum) required; generate one with "
                + "`head -c 32 /dev/urandom > FILE` (lockstep pair creates one by itself)"
        case .tooLong(let bytes, let maximum):
            "the cluster secret holds \(bytes) bytes, more than \(maximum); is the path the secret file?"
        }
    }
}
