import Replication

/// A PUBLISH entry: it changes nothing, and its reply is left for the release (`ReleaseEnvelope`), where the primary
/// delivers the message to its subscribers and answers the count (`KeyValueClientProtocol+Publish`). In the log so
/// that messages keep one order on both nodes with the writes around them.
extension KeyValueStore {
    /// Applies `PUBLISH channel message`: the command is held for the release, its reply a placeholder.
    mutating func applyPublish(_ arguments: CommandArguments) -> [UInt8] {
        guard arguments.count == 3 else { return Replies.wrongArity("publish") }
        heldForRelease.append(ReleaseEnvelope.Held(position: nil, command: arguments.encoding[...]))
        return ReleaseEnvelope.placeholder
    }

    /// The channel and payload of a held `PUBLISH channel message`; nil for anything else.
    static func publishedMessage(_ command: ArraySlice<UInt8>) -> (channel: [UInt8], payload: [UInt8])? {
        guard let parts = try? KeyValueCommand.decode(Array(command)), parts.count == 3, ASCII.equals(parts[0], "publish")
        else { return nil }
        return (parts[1], parts[2])
    }
}
