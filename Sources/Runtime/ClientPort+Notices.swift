import Replication

/// Notices: what listening connections are told after a role change, worded by the protocol per connection.
extension ClientPort {
    /// Records whether `client` listens for notices, keeping `listeningCount` in step.
    func setListening(_ client: Client, _ isListening: Bool) {
        guard client.isListening != isListening else { return }
        client.isListening = isListening
        listeningCount += isListening ? 1 : -1
    }

    /// The core changed role and now reports `status`: each listening connection gets the protocol's notice, if
    /// any, after the replies to what it sent before.
    ///
    /// A notice takes a reply slot already filled, so it leaves in order with the replies, and it counts against
    /// the connection's output bound like any reply: a listener that does not read is disconnected, never buffered
    /// without end. The pass over the table happens once per role change, and only while someone listens.
    func announceRoleChange(to status: NodeStatus) {
        let old = noticedStatus ?? status
        noticedStatus = status
        guard listeningCount > 0 else { return }
        for case let client? in clients where client.isListening && !client.isClosed {
            guard let notice = clientProtocol.roleChangeNotice(from: old, to: status, session: client.session) else {
                continue
            }
            guard !client.pipeline.isFull else {
                log(.clientClosed(id: client.id, .noticeUnqueued(limit: pendingRepliesLimit)))
                counters.values.clientConnectionsDropped += 1
                closeClient(client)
                continue
            }
            client.pipeline.appendFilled(notice)
            queueFlush(client)
        }
    }
}
