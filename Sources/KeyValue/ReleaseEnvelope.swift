/// A reply whose PUBLISH and PUBSUB commands are finished when the reply is released, as the store hands it to the
/// runtime (`ClientRequest.broadcast`, `KeyValueClientProtocol+Publish`).
///
/// A PUBLISH's message and its count of receivers, and a PUBSUB's answer, depend on who listens at the moment the
/// output leaves, which only the runtime knows and only under the output rule. So the store, on both nodes alike,
/// leaves a placeholder where each such reply goes and lists the commands beside the reply; at the release the
/// protocol takes the messages out in order and writes the counts and answers in. The layout: `1 · command count
/// (4 LE) · per command: position (4 LE; all ones when the command's reply is the whole reply), length (4 LE), the
/// command's `KeyValueCommand` encoding · the reply`. A keyspace notification (`KeyValueStore+Notifications`) is held
/// as a PUBLISH with no reply of its own, its position `notification`: its message goes out in order with the others
/// and its count of receivers is dropped. A RESP reply never starts with the byte 1 (and a routed one with
/// 0, `RoutedReplyEncoding`), so a plain reply is never mistaken for one.
enum ReleaseEnvelope {
    /// A command left for the release.
    struct Held: Equatable, Sendable {
        /// Its element in the reply, a transaction's array; nil when its reply is the whole reply (a lone PUBLISH).
        var position: Int?
        /// A keyspace notification: a PUBLISH that no client sent, so no reply takes its count (`position` is nil).
        var isNotification = false
        /// Its `KeyValueCommand` encoding, name first: `PUBLISH channel message` or `PUBSUB subcommand ...`.
        var command: ArraySlice<UInt8>
    }

    /// What the store writes where a held command's reply goes until the release.
    static let placeholder = Replies.zero

    private static let tag: UInt8 = 1
    private static let wholeReply: UInt64 = 0xFFFF_FFFF
    private static let notification: UInt64 = 0xFFFF_FFFE

    /// Whether `bytes` is an envelope rather than a plain reply: its first byte alone says.
    @inline(__always)
    static func isEnvelope(_ bytes: ArraySlice<UInt8>) -> Bool { bytes.first == tag }

    /// `reply` with `held` beside it.
    static func encode(_ held: [Held], reply: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = [tag]
        bytes.reserveCapacity(5 + held.reduce(0) { $0 + 8 + $1.command.count } + reply.count)
        func put(_ value: UInt64) {
            for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> shift)) }
        }
        put(UInt64(held.count))
        for command in held {
            put(command.isNotification ? notification : command.position.map(UInt64.init) ?? wholeReply)
            put(UInt64(command.command.count))
            bytes.append(contentsOf: command.command)
        }
        bytes.append(contentsOf: reply)
        return bytes
    }

    /// The held commands and the reply of an envelope, slices of `bytes`; nil for a plain reply (or, defensively, a
    /// malformed envelope).
    static func decode(_ bytes: ArraySlice<UInt8>) -> (held: [Held], reply: ArraySlice<UInt8>)? {
        guard bytes.first == tag else { return nil }
        var offset = bytes.startIndex + 1
        func take() -> UInt64? {
            guard bytes.endIndex - offset >= 4 else { return nil }
            var value: UInt64 = 0
            for index in 0..<4 { value |= UInt64(bytes[offset + index]) << (8 * UInt64(index)) }
            offset += 4
            return value
        }
        guard let count = take() else { return nil }
        var held: [Held] = []
        for _ in 0..<count {
            guard let position = take(), let length = take(), bytes.endIndex - offset >= Int(length) else {
                return nil
            }
            let isPlaced = position != wholeReply && position != notification
            held.append(Held(
                position: isPlaced ? Int(position) : nil, isNotification: position == notification,
                command: bytes[offset..<(offset + Int(length))]))
            offset += Int(length)
        }
        return (held, bytes[offset...])
    }
}
