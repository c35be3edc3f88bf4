import Posix

/// Why a logging-channel connection closed. Every case is an operating condition, reported once to the owner.
public enum ChannelCloseReason: Error, Equatable, Sendable, CustomStringConvertible {
    /// The peer closed the stream on a frame boundary.
    case endOfStream
    /// The bytes received are not a valid frame stream (or ended mid-frame); frames before the bad one were
    /// delivered, nothing after it.
    case decodeFailed(FrameError)
    /// Dialing failed (refused, unreachable, or not connected within `connectTimeout`).
    case connectFailed(SystemError)
    /// A read, write or epoll call failed on an open connection (e.g. the peer reset it).
    case ioFailed(SystemError)
    /// Nothing arrived for this long, at least `silenceTimeout`: the peer is presumed dead.
    case peerSilent(Duration)
    /// The owner called `close`.
    case closedLocally
    /// The address to dial is not `HOST:PORT`.
    case unparsableAddress(String)
    /// The node already has this many logging channels open (its bound), so it opened no other.
    case tooManyChannels(Int)
    /// The send buffer refused a frame: its bound on unwritten bytes was reached, so the peer reads too slowly.
    case sendBufferFull(unwrittenBytesLimit: Int)
    /// The peer did not prove it holds the cluster secret (`ChannelHandshake`); nothing it sent reached the owner.
    case authenticationFailed(AuthenticationFailure)
    /// The peer had not yet proved it holds the cluster secret when a newer connection needed its place among
    /// the owner's `unauthenticatedLimit` unauthenticated ones (`ChannelConnection.evictBeforeHandshake`).
    case evictedBeforeHandshake(unauthenticatedLimit: Int)

    /// A stable snake_case name for this kind of close, for counters and metrics (the description is for people).
    public var code: String {
        switch self {
        case .endOfStream: "end_of_stream"
        case .decodeFailed: "decode_failed"
        case .connectFailed: "connect_failed"
        case .ioFailed: "io_failed"
        case .peerSilent: "peer_silent"
        case .closedLocally: "closed_locally"
        case .unparsableAddress: "unparsable_address"
        case .tooManyChannels: "too_many_channels"
        case .sendBufferFull: "send_buffer_full"
        case .authenticationFailed: "authentication_failed"
        case .evictedBeforeHandshake: "evicted_before_handshake"
        }
    }

    /// One sentence for the log saying why the channel closed.
    public var description: String {
        switch self {
        case .endOfStream:
            "the peer closed the logging channel"
        case .decodeFailed(let error):
            "the logging channel carried an invalid frame stream: \(error)"
        case .connectFailed(let error):
            "could not open the logging channel: \(error)"
        case .ioFailed(let error):
            "the logging channel failed: \(error)"
        case .peerSilent(let silence):
            "the peer sent nothing for \(silence.milliseconds) ms and is presumed dead; the channel was closed"
        case .closedLocally:
            "the logging channel was closed by this node"
        case .unparsableAddress(let reason):
            "the logging channel's address is not HOST:PORT (\(reason))"
        case .tooManyChannels(let count):
            "\(count) logging channels are open already"
        case .sendBufferFull(let limit):
            "the peer left \(limit) bytes unread on the logging channel; the channel was closed"
        case .authenticationFailed(let failure):
            "the peer \(failure); the channel was closed before any other frame"
        case .evictedBeforeHandshake(let limit):
            "the peer had not proved the cluster secret when a newer connection needed its place among \(limit) "
                + "unauthenticated ones; the channel was closed"
        }
    }
}
