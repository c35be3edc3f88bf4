/// Why the bytes arriving on a logging channel are not a valid frame stream.
///
/// Every case is an operating error (outside bytes), never a crash: the decoder that reports one is poisoned and
/// the connection must be closed, because once a stream has lost its frame boundaries nothing after the bad frame
/// can be trusted. The peer recovers by reconnecting and rejoining, which resends from a known point, so a rejected
/// stream is never half-applied.
public enum FrameError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first two bytes of a frame are not `FrameCodec.magic`: not a Lockstep peer, or the stream lost its place.
    case badMagic(UInt16)
    /// The peer speaks a wire version this build does not.
    case unsupportedVersion(UInt8)
    /// The kind byte names no `FrameKind`.
    case unknownKind(UInt8)
    /// The header declares a body larger than the decoder's `bodyBytesLimit`; rejected before any body is read.
    case oversized(declared: Int, limit: Int)
    /// The trailer says `expected`, but the header and body hash to `actual`.
    case checksumMismatch(expected: UInt32, actual: UInt32)
    /// The stream ended `available` bytes into a frame that needs `needed`.
    case truncated(needed: Int, available: Int)
    /// The checksum is right but the body does not fit its kind: a sender bug, not line noise.
    case malformedBody(kind: FrameKind, reason: String)
    /// The parts of entry `sequence` add up to more than the decoder's `entryBytesLimit`: a peer whose client
    /// protocol accepts larger requests than this node's, or a sender bug.
    case entryTooLarge(sequence: UInt64, bytes: Int, limit: Int)
    /// The stream ended after `bytes` bytes of entry `sequence`'s parts, before its last frame.
    case entryCutOff(sequence: UInt64, bytes: Int)

    /// One sentence for the log: what was wrong with the stream, and that the channel closes and the peer rejoins.
    public var description: String {
        switch self {
        case .badMagic(let magic):
            "frame starts with \(Self.hex(magic)) instead of \(Self.hex(FrameCodec.magic)), so the peer is not "
                + "Lockstep or the stream lost its place; the channel is closed and the peer must rejoin"
        case .unsupportedVersion(let version):
            "frame uses wire version \(version) but this node speaks version \(FrameCodec.version); "
                + "the channel is closed and the peer must rejoin running a compatible release"
        case .unknownKind(let kind):
            "frame has unknown kind \(kind); the channel is closed and the peer must rejoin"
        case .oversized(let declared, let limit):
            "frame declares a \(declared)-byte body, over the \(limit)-byte limit, so it was rejected before "
                + "reading the body; the channel is closed and the peer must rejoin"
        case .checksumMismatch(let expected, let actual):
            "frame checksum is \(Self.hex(expected)) but its bytes hash to \(Self.hex(actual)), so it is corrupt "
                + "and nothing in it was applied; the channel is closed and the peer must rejoin"
        case .truncated(let needed, let available):
            "stream ended \(available) bytes into a frame that needs \(needed); the partial frame is discarded "
                + "and the peer must rejoin"
        case .malformedBody(let kind, let reason):
            "\(kind) frame has a valid checksum but a malformed body (\(reason)); the channel is closed "
                + "and the peer must rejoin"
        case .entryTooLarge(let sequence, let bytes, let limit):
            "entry \(sequence) grows to \(bytes) bytes, over the \(limit)-byte entry limit (the peers' request limits "
                + "differ?); the channel is closed and the peer must rejoin"
        case .entryCutOff(let sequence, let bytes):
            "stream ended \(bytes) bytes into entry \(sequence), before its last part; the partial entry is "
                + "discarded and the peer must rejoin"
        }
    }

    /// `0x`-prefixed, zero-padded uppercase hex, without Foundation's `String(format:)`.
    private static func hex<T: FixedWidthInteger & UnsignedInteger>(_ value: T) -> String {
        let digits = String(value, radix: 16, uppercase: true)
        let width = T.bitWidth / 4
        return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
