import Posix

/// What the core orders the I/O thread to do, performed in array order.
enum ClientAction: Sendable, Equatable {
    /// Open a TCP connection to the node; the outcome returns as `.connected` or `.connectionFailed`.
    case connect(SocketAddress)
    /// Write these bytes on the open connection.
    case send([UInt8])
    /// Close the open (or opening) connection; nothing more is reported about it.
    case disconnect
    /// Give the caller of this request its outcome.
    case complete(RequestID, Result<RESPReply, LockstepClientError>)
    /// Everything is settled: stop the I/O thread and wake whoever awaits `close()`.
    case finishClose
}
