import Replication

/// A PUBLISH entry: it changes nothing, and its reply is the message itself (channel and payload), which the primary
/// delivers to its subscribers once the reply is released (`KeyValueClientProtocol+Publish`). In the log so that
/// messages keep one order on both nodes with the writes around them.
extension KeyValueStore {
    /// Applies `PUBLISH channel message`: the `KeyValueCommand` encoding of `[channel, message]`.
    func applyPublish(_ arguments: CommandArguments) -> [UInt8] {
        guard arguments.count == 3 else { return Replies.wrongArity("publish") }
        return KeyValueCommand.encode([arguments[1], arguments[2]])
    }

    /// The channel and payload of a PUBLISH entry's reply; nil for anything else.
    static func publishedMessage(_ reply: ArraySlice<UInt8>) -> (channel: [UInt8], payload: [UInt8])? {
        guard let parts = try? KeyValueCommand.decode(Array(reply)), parts.count == 2 else { return nil }
        return (parts[0], parts[1])
    }
}
