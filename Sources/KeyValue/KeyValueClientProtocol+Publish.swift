import Replication

/// PUBLISH's delivery and PUBSUB's answers, from each connection's subscriptions (`Subscriptions`).
extension KeyValueClientProtocol {
    /// The messages `session` receives for a released PUBLISH entry, whose reply (`KeyValueStore+PubSub`) is the
    /// encoding of its channel and payload; nil when the connection subscribes to neither the channel nor a pattern
    /// matching it. A RESP3 connection gets them as push frames.
    public func broadcastNotice(_ message: ArraySlice<UInt8>, session: Session) -> (notice: [UInt8], deliveries: Int)? {
        guard !session.subscriptions.isEmpty, let published = KeyValueStore.publishedMessage(message) else { return nil }
        return session.subscriptions.deliveries(channel: published.channel, payload: published.payload).map {
            (session.connection.protocolVersion == 2 ? $0.bytes : RESP3.convert($0.bytes, .push), $0.count)
        }
    }

    /// PUBLISH's reply: Redis's count of deliveries, a channel subscription and each matching pattern one each.
    public func broadcastReply(deliveries: Int) -> [UInt8] {
        RESPWriter.integer(Int64(deliveries))
    }

    /// `PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB` over every open connection, Redis 7.0's replies.
    static func pubsubAnswer(_ arguments: [[UInt8]], among connections: [OpenConnection<Session>]) -> [UInt8] {
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "channels") {
            let pattern = arguments.count == 3 ? GlobPattern(arguments[2]) : nil
            var seen = Set<[UInt8]>()
            var writer = RESPWriter()
            var names: [[UInt8]] = []
            for connection in connections {
                for channel in connection.session.subscriptions.channels
                where seen.insert(channel).inserted && pattern?.matches(channel) != false {
                    names.append(channel)
                }
            }
            writer.appendArrayHeader(count: names.count)
            for name in names { writer.appendBulk(name) }
            return writer.bytes
        }
        if ASCII.equals(subcommand, "numsub") {
            // One pass over every subscription, whatever the number of channels asked about.
            var counts: [[UInt8]: Int] = [:]
            for channel in arguments.dropFirst(2) { counts[channel] = 0 }
            for connection in connections {
                for channel in connection.session.subscriptions.channels where counts[channel] != nil {
                    counts[channel]! += 1
                }
            }
            var writer = RESPWriter()
            writer.appendArrayHeader(count: 2 * (arguments.count - 2))
            for channel in arguments.dropFirst(2) {
                writer.appendBulk(channel)
                writer.appendInteger(Int64(counts[channel] ?? 0))
            }
            return writer.bytes
        }
        if ASCII.equals(subcommand, "numpat") {
            // Redis counts distinct patterns, not subscriptions to them.
            var patterns = Set<[UInt8]>()
            for connection in connections { patterns.formUnion(connection.session.subscriptions.patterns) }
            return RESPWriter.integer(Int64(patterns.count))
        }
        if ASCII.equals(subcommand, "shardnumsub") {
            var writer = RESPWriter()
            writer.appendArrayHeader(count: 2 * (arguments.count - 2))
            for channel in arguments.dropFirst(2) {
                writer.appendBulk(channel)
                writer.appendInteger(0)
            }
            return writer.bytes
        }
        return RESPWriter.array([])  // SHARDCHANNELS: this node has no shard channels
    }
}
