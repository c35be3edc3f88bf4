import Replication

/// Sentinel's `+switch-master`, pushed to connections that subscribed to it when the node's view of the primary
/// moves.
extension KeyValueClientProtocol {
    /// The Sentinel event channel a role change publishes on.
    public static let switchMasterChannel: [UInt8] = Array("+switch-master".utf8)

    /// `+switch-master` with `<service> <old ip> <old port> <new ip> <new port>` (Sentinel's words, which Jedis
    /// splits on spaces), for a session subscribed to the channel or a pattern matching it, when the primary this
    /// node names (`SentinelService.primaryAddress`) changed from one address to another.
    ///
    /// A node that named nobody before or names nobody now says nothing: a node that goes from unsure to sure has no
    /// old address to report, and the node that took over tells its own subscribers.
    public func roleChangeNotice(from old: NodeStatus, to new: NodeStatus, session: Session) -> [UInt8]? {
        guard !session.subscriptions.isEmpty, let before = SentinelService.primaryAddress(old),
            let after = SentinelService.primaryAddress(new), before != after
        else { return nil }
        let (oldHost, oldPort) = KeyValueFrontend.hostAndPort(before)
        let (newHost, newPort) = KeyValueFrontend.hostAndPort(after)
        let payload = "\(service.name) \(oldHost) \(oldPort) \(newHost) \(newPort)"
        let messages = session.subscriptions.messages(channel: Self.switchMasterChannel, payload: Array(payload.utf8))
        return messages.map { session.connection.protocolVersion == 2 ? $0 : RESP3.convert($0, .push) }
    }
}
