/// A client command as the cores see it: opaque bytes for the state machine, and a tag the runtime
/// uses to route the reply back to its connection, in order.
public struct ClientCommand: Equatable, Sendable {
    public var tag: UInt64
    public var bytes: [UInt8]
    public init(tag: UInt64, bytes: [UInt8]) {
        self.tag = tag
        self.bytes = bytes
    }
}

/// A reply the core allows out: the output rule is satisfied for it.
public struct Reply: Equatable, Sendable {
    public var tag: UInt64
    public var bytes: [UInt8]
    public init(tag: UInt64, bytes: [UInt8]) {
        self.tag = tag
        self.bytes = bytes
    }
}
