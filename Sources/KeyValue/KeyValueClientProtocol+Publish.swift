import Replication

/// PUBLISH's delivery and PUBSUB's answers, from each connection's subscriptions (`Subscriptions`).
///
/// A PUBLISH, alone or in a transaction, and a PUBSUB in a transaction come back from the store held beside the
/// reply (`ReleaseEnvelope`): at the release the runtime takes the messages out in order, offers each to every
/// listener, and has the counts and the PUBSUB answers written into the reply where the store left placeholders.
extension KeyValueClientProtocol {
    /// The messages of a released PUBLISH or transaction, in log order: its held PUBLISH commands.
    public func broadcastMessages(_ reply: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        guard let (held, _) = ReleaseEnvelope.decode(reply) else { return [] }
        return held.map(\.command).filter(Self.isPublish)
    }

    /// The messages `session` receives for `message`, a held PUBLISH; nil when the connection subscribes to
    /// neither the channel nor a pattern matching it. A RESP3 connection gets them as push frames.
    public func broadcastNotice(_ message: ArraySlice<UInt8>, session: Session) -> (notice: [UInt8], deliveries: Int)? {
        guard !session.subscriptions.isEmpty, let published = KeyValueStore.publishedMessage(message) else { return nil }
        return session.subscriptions.deliveries(channel: published.channel, payload: published.payload).map {
            (session.connection.protocolVersion == 2 ? $0.bytes : RESP3.convert($0.bytes, .push), $0.count)
        }
    }

    /// Whether a released reply is an envelope (`ReleaseEnvelope`): a PUBLISH's or PUBSUB's, or any entry's whose
    /// keyspace notifications ride in it (`KeyValueStore+Notifications`).
    @inline(__always)
    public func carriesBroadcast(_ reply: ArraySlice<UInt8>) -> Bool { ReleaseEnvelope.isEnvelope(reply) }

    /// The asker's reply: each held PUBLISH's count of deliveries (a channel subscription and each matching pattern
    /// one each, as Redis counts) and each held PUBSUB's answer from `listeners`, written where the store left their
    /// placeholders. A reply with nothing held (an aborted EXEC, an error) is passed on as it is; an empty one (the
    /// asker turned replies off, `CLIENT REPLY`) stays empty, its messages sent all the same.
    public func broadcastReply<Listeners: Sequence<Session>>(
        _ reply: ArraySlice<UInt8>, deliveries: [Int], listeners: Listeners
    ) -> [UInt8] {
        guard let (held, own) = ReleaseEnvelope.decode(reply) else { return Array(reply) }
        guard !own.isEmpty else { return [] }
        var counts = deliveries.makeIterator()
        var answers: [(position: Int?, reply: [UInt8])] = []
        answers.reserveCapacity(held.count)
        for command in held {
            if Self.isPublish(command.command) {
                let count = counts.next() ?? 0
                // A notification's count goes to nobody, as Redis's own publishing of one answers no client.
                guard !command.isNotification else { continue }
                answers.append((command.position, RESPWriter.integer(Int64(count))))
            } else if let arguments = try? KeyValueCommand.decode(Array(command.command)), arguments.count >= 2 {
                let answer = Self.pubsubAnswer(arguments, among: listeners.lazy.map(\.subscriptions))
                answers.append((command.position, answer))
            } else {
                // Only this node's store holds commands; one that does not decode is a bug, answered as one.
                answers.append((command.position, RESPWriter.error("ERR malformed held command")))
            }
        }
        if answers.isEmpty { return Array(own) }  // notifications only
        if answers.count == 1, answers[0].position == nil { return answers[0].reply }
        return Self.replacingElements(of: Array(own), with: answers)
    }

    /// Whether a held command is a PUBLISH (the others are PUBSUBs): the ones whose messages go out.
    private static func isPublish(_ command: ArraySlice<UInt8>) -> Bool {
        CommandArguments.peek(Array(command))?.name == publishName
    }

    private static let publishName = CommandName(Array("publish".utf8))!

    /// `array`, a transaction's reply, with the elements at the answers' positions replaced by the answers; `array`
    /// as it is when it does not parse as one (only a bug writes such a reply).
    private static func replacingElements(
        of array: [UInt8], with answers: [(position: Int?, reply: [UInt8])]
    ) -> [UInt8] {
        guard array.first == UInt8(ascii: "*"), let headerEnd = array.firstIndex(of: 13),
            let count = DecimalInteger.parse(array[1..<headerEnd]), count >= 0
        else { return array }
        var index = headerEnd + 2
        var replacements: [Int: [UInt8]] = [:]
        for answer in answers { if let position = answer.position { replacements[position] = answer.reply } }
        var output = Array(array[..<index])
        output.reserveCapacity(array.count + 16 * answers.count)
        for position in 0..<Int(count) {
            let start = index
            // One level at a time: nested aggregates are skipped, not built.
            guard RESP3.parse(array, at: &index, depth: RESP3.depthLimit) != nil else { return array }
            if let replacement = replacements[position] {
                output.append(contentsOf: replacement)
            } else {
                output.append(contentsOf: array[start..<index])
            }
        }
        output.append(contentsOf: array[index...])
        return output
    }

    /// `PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB` over the subscriptions of every open connection (at a
    /// transaction's release, of every listening one), Redis 7.0's replies.
    static func pubsubAnswer<All: Sequence<Subscriptions>>(_ arguments: [[UInt8]], among all: All) -> [UInt8] {
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "channels") {
            let pattern = arguments.count == 3 ? GlobPattern(arguments[2]) : nil
            var seen = Set<[UInt8]>()
            var writer = RESPWriter()
            var names: [[UInt8]] = []
            for subscriptions in all {
                for channel in subscriptions.channels
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
            for subscriptions in all {
                for channel in subscriptions.channels where counts[channel] != nil {
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
            for subscriptions in all { patterns.formUnion(subscriptions.patterns) }
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
