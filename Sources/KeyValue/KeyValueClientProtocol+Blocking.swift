import Replication

/// The blocking pops' side of the protocol (`ClientRequest.blocking`): replies that answer waiting connections, and
/// the entry that ends a wait (`BlockingEntry`, `KeyValueStore+Blocking`).
extension KeyValueClientProtocol {
    /// The parts of a reply the store wrapped because its entry served waiters or made its asker wait.
    public func routedReply(_ reply: ArraySlice<UInt8>) -> RoutedReply? {
        RoutedReplyEncoding.decode(reply)
    }

    /// `lockstep-unblock` for the connection: its waiter, if it still waits, is answered with a null reply.
    public func unblockRequest(session: Session) -> [UInt8] {
        BlockingEntry.unblock(connection: session.clientID)
    }
}
