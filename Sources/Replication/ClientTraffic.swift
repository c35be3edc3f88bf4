/// A client command as the cores see it: opaque bytes for the state machine, and a tag the runtime
/// uses to route the reply back to its connection, in order.
public struct ClientCommand: Equatable, Sendable {
    /// The runtime's name for the request, unique among those pending, that its reply carries back.
    public var tag: UInt64
    /// The command as the state machine's `apply` takes it.
    public var bytes: [UInt8]
    /// A command `bytes` to be answered under `tag`.
    public init(tag: UInt64, bytes: [UInt8]) {
        self.tag = tag
        self.bytes = bytes
    }
}

/// A reply the core allows out: the output rule is satisfied for it.
public struct Reply: Equatable, Sendable {
    /// The tag of the command that produced this reply.
    public var tag: UInt64
    /// The reply as the state machine's `apply` or `read` gave it, ready for the client's connection.
    ///
    /// A slice, because the replies of reads answered one after another share one array (`StateMachine.read`): an
    /// array of its own for each would cost an allocation per read.
    public var bytes: ArraySlice<UInt8>
    /// The reply `bytes` to the command tagged `tag`.
    public init(tag: UInt64, bytes: ArraySlice<UInt8>) {
        self.tag = tag
        self.bytes = bytes
    }
    /// The tag of a tick's output (`StateMachine.tickWithOutput`), which no command is answered under: the runtime
    /// keeps the highest tags for its own commands, which no connection reads.
    public static let tickTag = UInt64.max

    /// The reply `bytes`, the whole array, to the command tagged `tag`.
    public init(tag: UInt64, bytes: [UInt8]) {
        self.init(tag: tag, bytes: bytes[...])
    }
}
