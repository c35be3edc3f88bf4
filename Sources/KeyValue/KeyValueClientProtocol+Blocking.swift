import Replication

/// The blocking pops' side of the protocol (`ClientRequest.blocking`): replies that answer waiting connections, and
/// the entry that ends a wait (`BlockingEntry`, `KeyValueStore+Blocking`).
extension KeyValueClientProtocol {
    /// The parts of a reply the store wrapped because its entry served waiters or made its asker wait.
    public func routedReply(_ reply: ArraySlice<UInt8>) -> RoutedReply? {
        RoutedReplyEncoding.decode(reply)
    }

    /// `lockstep-unblock` for the connection: its waiter, if it still waits, is answered with a null reply, or with
    /// Redis's UNBLOCKED error.
    public func unblockRequest(session: Session, isError: Bool) -> [UInt8] {
        BlockingEntry.unblock(connection: session.clientID, isError: isError)
    }

    /// `CLIENT UNBLOCK client-id [TIMEOUT|ERROR]`: 1 and the wait ended when that connection is blocked, else 0.
    static func unblockAnswer(
        _ arguments: [[UInt8]], among connections: [OpenConnection<Session>]
    ) -> ConnectionsAnswer {
        guard let id = DecimalInteger.parse(arguments[2][...]) else { return ConnectionsAnswer(reply: Replies.notInteger) }
        var isError = false
        if arguments.count == 4 {
            if ASCII.equals(arguments[3], "error") {
                isError = true
            } else if !ASCII.equals(arguments[3], "timeout") {
                return ConnectionsAnswer(
                    reply: RESPWriter.error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"))
            }
        }
        guard id > 0, connections.contains(where: { $0.id == UInt64(id) && $0.isBlocked }) else {
            return ConnectionsAnswer(reply: Replies.zero)
        }
        return ConnectionsAnswer(reply: Replies.one, unblocking: (UInt64(id), isError))
    }
}
