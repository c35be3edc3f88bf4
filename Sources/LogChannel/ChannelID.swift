/// Names one logging-channel connection for the cores, which never hold sockets.
public typealias ChannelID = UInt64
