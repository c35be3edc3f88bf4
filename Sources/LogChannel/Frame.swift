/// One message on the logging channel.
///
/// Every frame on the wire is `header (24 bytes) · body · CRC32C (4 bytes)`; see `FrameCodec` for
/// the layout. The cases are what the protocol needs; `FrameKind` leaves room for more.
public enum Frame: Equatable, Sendable {
    /// A log entry: an opaque, application-encoded payload at `sequence` (strictly increasing from 1).
    case entry(epoch: UInt64, sequence: UInt64, payload: [UInt8])
    /// Cumulative ack from the backup: every entry through `received` has arrived, through `applied`
    /// has been replayed. Also the backup's heartbeat.
    case ack(epoch: UInt64, received: UInt64, applied: UInt64)
    /// The primary's keep-alive when idle; `sequence` is its highest appended entry.
    case heartbeat(epoch: UInt64, sequence: UInt64)
    /// The first frame a joining node sends: who it is and where it can be reached.
    case hello(Hello)
    /// One chunk of the primary's checkpoint: the state after entry `sequence`.
    ///
    /// Every chunk carries `estimatedBytes`, the encoding's size as estimated when the snapshot was taken, so the
    /// installing backup can report a total and a time left from its first chunk on rather than only at the last.
    /// It is at most `Int.max` (the decoder rejects more, the encoder stops on it).
    case checkpoint(
        epoch: UInt64, sequence: UInt64, chunkIndex: UInt32, isLast: Bool, estimatedBytes: UInt64, bytes: [UInt8])
    /// Cumulative ack from a backup installing the checkpoint taken after entry `sequence`: every chunk through
    /// `chunkIndex` is installed. The primary keeps only a window of chunks unacked, so this is what lets the next
    /// ones go; it is also the installing backup's heartbeat, so an ack lost on the way is repeated.
    case checkpointAck(epoch: UInt64, sequence: UInt64, chunkIndex: UInt32)
    /// The backup now holds every entry the primary released output for without an ack; from here on
    /// every reply waits for the backup (DESIGN, re-protection). Sent in-stream after entry `sequence`.
    case protecting(epoch: UInt64, sequence: UInt64)
    /// A planned switchover: the primary has stopped intake, the backup has acked and applied every
    /// entry through `sequence`, and may go live at once.
    case handover(epoch: UInt64, sequence: UInt64)
    /// The receiver cannot serve the sender (e.g. it is not the primary); the channel closes after it.
    case refuse(epoch: UInt64, reason: String)
    /// The first frame each end of a new connection sends: a fresh nonce (`challengeNonceBytes` random bytes) and
    /// the sender's node name. The peer proves it knows the cluster secret by MACing both nonces
    /// (`ChannelHandshake`); no other frame is accepted before that proof.
    case challenge(nonce: [UInt8], nodeName: String)
    /// The sender is about to take a step that may keep it from sending anything for up to `milliseconds` (a large
    /// request to execute and ship, a large entry to replay), so the receiver does not take that silence for death
    /// (`PeerLiveness.excuseSilence`). Handled by the transport itself, never delivered to the owner.
    case busy(milliseconds: UInt32)
    /// The answer to the peer's challenge: an HMAC-SHA256 tag (`HMAC.tagBytes`) over both nonces, the cluster id,
    /// both names and the sender's role (`ChannelHandshake.transcript`).
    case proof(tag: [UInt8])

    /// The size of a challenge's nonce: 256 bits, so a nonce never repeats and a recorded proof is never reusable.
    public static let challengeNonceBytes = 32
    /// The largest body a handshake frame can have: a challenge with the longest node name its u16 count allows.
    /// Before a connection's handshake passes, a frame announcing more is refused at its header, so a stranger can
    /// make a node hold no more than this for a frame it will never complete.
    public static let handshakeBodyBytesLimit = challengeNonceBytes + 2 + Int(UInt16.max)
    /// The fixed fields before a checkpoint chunk's bytes: chunk index, last flag, estimated size (`FrameCodec`).
    public static let checkpointFieldsBytes = 4 + 1 + 8
    /// The largest entry payload one frame carries. A larger entry travels as `FrameKind.entryPart` frames of exactly
    /// this size, then an `.entry` frame with the rest, all back to back; the decoder joins them into one `.entry`.
    /// So no frame on the wire is larger however large a client's request, and a peer's frame body limit can stay
    /// small: it bounds what a stranger's header can make a node hold, while the joined entry is bounded apart
    /// (`FrameDecoder.entryBytesLimit`).
    public static let entryPartBytes = 1 << 20
}

/// What a joining node tells the primary about itself.
public struct Hello: Equatable, Sendable {
    /// The epoch the joiner believes the primary holds, from the arbiter; 0 when it does not know.
    public var epoch: UInt64
    /// The joiner's node name, as in its arbiter claim.
    public var nodeName: String
    /// The logging-channel address the primary could dial back (`--advertise`).
    public var channelAddress: String
    /// Where this node serves clients once it is primary.
    public var clientAddress: String
    /// The joiner's promise, in nanoseconds: once it follows the primary, it asks the arbiter for the next epoch no
    /// sooner than this long after the last frame it received from the primary (a handover aside). So for this
    /// long after sending a frame the backup then acks, the primary knows no other node can have gone live, and may
    /// answer reads alone (`PrimaryCore`, read leases). 0 promises nothing.
    public var readLeaseNanoseconds: UInt64

    /// Creates a hello from the joiner's view of the epoch, its own name and addresses, and its read-lease promise.
    public init(
        epoch: UInt64, nodeName: String, channelAddress: String, clientAddress: String, readLease: Duration = .zero
    ) {
        self.epoch = epoch
        self.nodeName = nodeName
        self.channelAddress = channelAddress
        self.clientAddress = clientAddress
        self.readLeaseNanoseconds = UInt64(max(0, readLease.nanoseconds))
    }

    /// `readLeaseNanoseconds` as a duration.
    public var readLease: Duration { .nanoseconds(Int64(clamping: readLeaseNanoseconds)) }
}

/// The type byte in a frame header. Values are part of the wire format: never reuse one.
public enum FrameKind: UInt8, Sendable, CaseIterable {
    /// One value per `Frame` case, named alike.
    case entry = 1, ack = 2, heartbeat = 3, hello = 4, checkpoint = 5, protecting = 6, handover = 7, refuse = 8
    /// The handshake's two frames (`ChannelHandshake`), the only ones accepted before it succeeds.
    case challenge = 9, proof = 10
    /// The backup's ack of installed checkpoint chunks.
    case checkpointAck = 11
    /// A leading piece of an entry larger than `Frame.entryPartBytes`; never a `Frame` of its own (`FrameDecoder`).
    case entryPart = 12
    /// The transport's own notice of a long step ahead.
    case busy = 13
}

extension Frame {
    /// The kind byte this frame carries in its header.
    public var kind: FrameKind {
        switch self {
        case .entry: .entry
        case .ack: .ack
        case .heartbeat: .heartbeat
        case .hello: .hello
        case .checkpoint: .checkpoint
        case .checkpointAck: .checkpointAck
        case .protecting: .protecting
        case .handover: .handover
        case .refuse: .refuse
        case .challenge: .challenge
        case .proof: .proof
        case .busy: .busy
        }
    }

    /// The epoch the frame was sent in; for a hello, the epoch the joiner expects the primary to hold; 0 for the
    /// handshake's frames, which come before either end has said anything about epochs.
    public var epoch: UInt64 {
        switch self {
        case .entry(let epoch, _, _), .ack(let epoch, _, _), .heartbeat(let epoch, _),
            .checkpoint(let epoch, _, _, _, _, _), .checkpointAck(let epoch, _, _), .protecting(let epoch, _),
            .handover(let epoch, _), .refuse(let epoch, _):
            epoch
        case .hello(let hello): hello.epoch
        case .challenge, .proof, .busy: 0
        }
    }
}
