/// The owner of a `ChannelConnection`: a primary or backup runtime, a test.
///
/// Every method runs on the connection's loop thread, never inside a call the owner made into the connection
/// (`send`, `close`), so the owner's state is never re-entered half-updated. Per connection the
/// order is: `connectionOpened` once, then any number of `framesArrived` / `heartbeatFrame`,
/// then `closedBecause` once, last. A dial that fails reports `closedBecause` without `connectionOpened`.
public protocol ChannelConnectionDelegate: AnyObject {
    /// The connection is established and may carry frames (for accepted ones: right after the listener handed it
    /// over, in the same round).
    func connectionOpened(_ connection: ChannelConnection)

    /// Every frame decoded from one socket read, in order: reply with one cumulative ack for all of them.
    ///
    /// Heartbeats arrive here too (they already counted as liveness); ignore them if they carry nothing new. The
    /// frames are handed over: the connection keeps no reference, so the owner may take their payloads without a copy.
    func connection(_ connection: ChannelConnection, framesArrived frames: consuming [Frame])

    /// The connection is closed and will report nothing more; its unwritten frames are gone with it.
    func connection(_ connection: ChannelConnection, closedBecause reason: ChannelCloseReason)

    /// The frame to send when the channel has been idle for a heartbeat interval. Only the owner knows its
    /// epoch and position: the primary answers `.heartbeat`, the backup its latest `.ack`.
    ///
    /// A method rather than a stored closure so that the connection cannot keep its owner alive through it.
    func heartbeatFrame(for connection: ChannelConnection) -> Frame
}
