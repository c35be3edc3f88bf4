import Replication

/// `PUBLISH` and `PUBSUB` on the client port. A message goes through the log, so messages keep one order on both
/// nodes and leave only under the output rule; who listens is each connection's (`Subscriptions`), so the runtime
/// delivers a released message to the listeners (`ClientRequest.broadcast`, `KeyValueClientProtocol+Publish`).
extension KeyValueFrontend {
    /// `PUBLISH channel message`: its entry on a serving node, refused as a write elsewhere (the client publishes on
    /// the primary, where the subscribers that hear it are).
    static func publishCommand(_ arguments: [[UInt8]], status: NodeStatus) -> KeyValueRequest {
        guard status.isServing else { return .local(reply: readOnlyReply(status)) }
        return .publish(KeyValueCommand.encode(arguments))
    }

    /// `PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP`: answered from
    /// every open connection's subscriptions (`ClientRequest.aboutConnections`); this node has no shard channels.
    static func pubsubCommand(_ arguments: [[UInt8]]) -> KeyValueRequest {
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "help"), arguments.count == 2 {
            return .local(reply: RESPWriter.array(pubsubHelp.map { RESPWriter.simpleString($0) }))
        }
        let isKnown =
            ASCII.equals(subcommand, "channels") && arguments.count <= 3
            || ASCII.equals(subcommand, "numsub")
            || ASCII.equals(subcommand, "numpat") && arguments.count == 2
            || ASCII.equals(subcommand, "shardchannels") && arguments.count <= 3
            || ASCII.equals(subcommand, "shardnumsub")
        guard isKnown else { return .local(reply: unknownSubcommand(subcommand, of: "PUBSUB")) }
        return .connections(arguments)
    }

    static let pubsubHelp = [
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> (default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, excluding",
        "    pattern subscriptions(default: no channels).",
        "SHARDCHANNELS [<pattern>]",
        "    Return the currently active shard level channels matching a <pattern> (default: '*').",
        "SHARDNUMSUB [<shardchannel> ...]",
        "    Return the number of subscribers for the specified shard level channel(s)",
        "HELP",
        "    Print this help.",
    ]
}
