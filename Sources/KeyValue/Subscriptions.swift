/// What one connection listens to: Redis Pub/Sub channels and glob patterns, in the order subscribed.
///
/// The node publishes its own news here (Sentinel's `+switch-master`, `KeyValueClientProtocol+Notices.swift`), and
/// replicated `PUBLISH` delivers through the same matching (`KeyValueClientProtocol+Publish.swift`). Replies follow Redis 7 in
/// RESP2: one `subscribe`/`unsubscribe` confirmation per name with the connection's count after it, `message`
/// for a channel match, then a `pmessage` per matching pattern.
///
/// Bounded per connection: `countLimit` channels and patterns and `nameBytesLimit` bytes of their names (a
/// Sentinel client subscribes to one or two short names). A request that would pass either bound is refused
/// whole, before it changes anything.
public struct Subscriptions: Equatable, Sendable {
    /// Channels and patterns one connection may hold.
    public static let countLimit = 1_024
    /// Bytes of channel and pattern names one connection may hold.
    public static let nameBytesLimit = 64 << 10

    /// One kind of Pub/Sub request, as it arrived.
    public enum Request: Equatable, Sendable {
        /// `SUBSCRIBE`, `PSUBSCRIBE`, `UNSUBSCRIBE`, `PUNSUBSCRIBE` with their channel or pattern names.
        case subscribe([[UInt8]]), psubscribe([[UInt8]]), unsubscribe([[UInt8]]), punsubscribe([[UInt8]])
    }

    private(set) var channels: [[UInt8]] = []
    private(set) var patterns: [[UInt8]] = []
    private var nameBytes = 0

    /// No subscriptions.
    public init() {}

    /// Channels and patterns held: Redis's subscription count.
    public var count: Int { channels.count + patterns.count }
    /// Whether the connection listens to nothing (and so is not in subscribed mode).
    public var isEmpty: Bool { channels.isEmpty && patterns.isEmpty }

    /// Carries out `request` and returns its reply: a confirmation per name, or an error when it would pass a bound.
    public mutating func apply(_ request: Request) -> [UInt8] {
        var writer = RESPWriter()
        switch request {
        case .subscribe(let names), .psubscribe(let names):
            let isPattern = if case .psubscribe = request { true } else { false }
            let added = Set(names).subtracting(isPattern ? patterns : channels)
            let addedBytes = added.reduce(0) { $0 + $1.count }
            guard count + added.count <= Self.countLimit, nameBytes + addedBytes <= Self.nameBytesLimit else {
                return RESPWriter.error(
                    "ERR this connection may hold \(Self.countLimit) channels and patterns of \(Self.nameBytesLimit) "
                        + "bytes in all; none of these was subscribed")
            }
            for name in names {
                if isPattern, !patterns.contains(name) {
                    patterns.append(name)
                    nameBytes += name.count
                } else if !isPattern, !channels.contains(name) {
                    channels.append(name)
                    nameBytes += name.count
                }
                appendConfirmation(isPattern ? "psubscribe" : "subscribe", name, to: &writer)
            }
        case .unsubscribe(let names), .punsubscribe(let names):
            let isPattern = if case .punsubscribe = request { true } else { false }
            let kind = isPattern ? "punsubscribe" : "unsubscribe"
            // No names: every one of this kind; none held: one confirmation naming nothing, as Redis does.
            let targets = names.isEmpty ? (isPattern ? patterns : channels) : names
            if targets.isEmpty { appendConfirmation(kind, nil, to: &writer) }
            for name in targets {
                if isPattern {
                    if let index = patterns.firstIndex(of: name) { nameBytes -= patterns.remove(at: index).count }
                } else if let index = channels.firstIndex(of: name) {
                    nameBytes -= channels.remove(at: index).count
                }
                appendConfirmation(kind, name, to: &writer)
            }
        }
        return writer.bytes
    }

    /// Forgets every subscription (RESET).
    public mutating func removeAll() {
        self = Subscriptions()
    }

    /// What this connection receives for `payload` published on `channel`: `message` if it subscribed to the
    /// channel, then a `pmessage` per pattern that matches it; nil when nothing matches.
    public func messages(channel: [UInt8], payload: [UInt8]) -> [UInt8]? {
        deliveries(channel: channel, payload: payload)?.bytes
    }

    /// `messages(channel:payload:)`, and how many deliveries they are: one for the channel, one per matching pattern,
    /// which PUBLISH's reply adds up over every connection as Redis does.
    public func deliveries(channel: [UInt8], payload: [UInt8]) -> (bytes: [UInt8], count: Int)? {
        var writer = RESPWriter()
        var count = 0
        if channels.contains(channel) {
            writer.appendArrayHeader(count: 3)
            writer.appendBulk("message")
            writer.appendBulk(channel)
            writer.appendBulk(payload)
            count += 1
        }
        for pattern in patterns where GlobPattern(pattern).matches(channel) {
            writer.appendArrayHeader(count: 4)
            writer.appendBulk("pmessage")
            writer.appendBulk(pattern)
            writer.appendBulk(channel)
            writer.appendBulk(payload)
            count += 1
        }
        return count > 0 ? (writer.bytes, count) : nil
    }

    private func appendConfirmation(_ kind: String, _ name: [UInt8]?, to writer: inout RESPWriter) {
        writer.appendArrayHeader(count: 3)
        writer.appendBulk(kind)
        if let name { writer.appendBulk(name) } else { writer.appendNullBulk() }
        writer.appendInteger(Int64(count))
    }
}
