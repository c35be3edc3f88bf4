import Replication

/// MONITOR: the protocol's feed of what every connection asks, pushed to the connections that monitor.
extension ClientPort {
    /// Records whether `client` monitors, keeping `monitoringCount` in step and telling the protocol when the feed
    /// starts or stops being wanted.
    func setMonitoring(_ client: Client, _ isMonitoring: Bool) {
        guard client.isMonitoring != isMonitoring else { return }
        client.isMonitoring = isMonitoring
        monitoringCount += isMonitoring ? 1 : -1
        if monitoringCount == (isMonitoring ? 1 : 0) { clientProtocol.setFeedWanted(isMonitoring) }
    }

    /// Appends the feed built since the last round to every monitoring connection, after its replies.
    ///
    /// The feed takes a reply slot already filled, like a notice, and counts against the connection's output bound:
    /// a monitor that does not read is disconnected, never buffered without end. One pass over the table per round,
    /// only while someone monitors.
    func pushFeed() {
        guard let feed = clientProtocol.takeFeed(), !feed.isEmpty else { return }
        for case let client? in clients where client.isMonitoring && !client.isClosed {
            guard !client.pipeline.isFull else {
                log(.clientClosed(id: client.id, .noticeUnqueued(limit: pendingRepliesLimit)))
                counters.values.clientConnectionsDropped += 1
                closeClient(client)
                continue
            }
            client.pipeline.appendFilled(feed)
            queueFlush(client)
        }
    }
}
