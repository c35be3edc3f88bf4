import Replication

/// Broadcasts (`ClientRequest.broadcast`, Redis's PUBLISH): when the core releases such a command's reply, each
/// message it carries goes to every listening connection the protocol says takes it, and the asker learns how many did.
///
/// The messages leave where any reply leaves, in the release, so they are out only once their entry is on the backup,
/// and messages reach each listener in log order, after the replies to what that listener sent before.
extension ClientPort {
    /// Offers each message of `reply` in turn to each listening connection and returns the asker's reply. A listener
    /// whose pipeline is full is closed, as for a notice (`announceRoleChange`): a subscriber that does not read is
    /// never buffered without end. One pass over the table per message, and only while someone listens; at most
    /// `connectionsLimit` connections.
    func deliverBroadcast(_ reply: ArraySlice<UInt8>) -> [UInt8] {
        let messages = clientProtocol.broadcastMessages(reply)
        var deliveries = [Int](repeating: 0, count: messages.count)
        if listeningCount > 0 {
            for (index, message) in messages.enumerated() {
                for case let listener? in clients where listener.isListening && !listener.isClosed {
                    guard let (notice, count) = clientProtocol.broadcastNotice(message, session: listener.session)
                    else { continue }
                    guard !listener.pipeline.isFull else {
                        log(.clientClosed(id: listener.id, .noticeUnqueued(limit: pendingRepliesLimit)))
                        counters.values.clientConnectionsDropped += 1
                        closeClient(listener)
                        continue
                    }
                    listener.pipeline.appendFilled(notice)
                    queueFlush(listener)
                    deliveries[index] += count
                }
            }
        }
        // Lazy: walked only by a reply that reports on the listeners.
        let listeners = clients.lazy.compactMap { $0 }.filter { $0.isListening && !$0.isClosed }.map(\.session)
        return clientProtocol.broadcastReply(reply, deliveries: deliveries, listeners: listeners)
    }

    /// Forgets the broadcast tags of commands that will never be released: `tags`, or every tag of a closed
    /// connection's that never reached the core.
    func forgetBroadcasts<Tags: Sequence<UInt64>>(_ tags: Tags) {
        guard !broadcastTags.isEmpty else { return }
        for tag in tags { broadcastTags.remove(tag) }
    }
}
