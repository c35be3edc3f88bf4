/// A connection's transaction between MULTI and EXEC: the commands it queued, and whether one was refused.
///
/// Node-local, in the connection's session: nothing reaches the log until EXEC, which sends the whole queue as one
/// entry (`TransactionEntry.exec`), so both nodes apply it whole or not at all. The queue is bounded by what one entry
/// can carry: its bytes by the protocol's `replicatedBytesLimit`, and its commands by `commandsLimit`.
struct Transaction: Sendable {
    /// A queued command.
    enum Queued: Sendable {
        /// A data command's `KeyValueCommand` encoding, applied by the EXEC entry.
        case data([UInt8])
        /// A node-local command (PING, ECHO, CONFIG GET, CLIENT SETNAME...), answered when EXEC arrives.
        case local(CommandArguments)
        /// A PUBLISH's or PUBSUB's `KeyValueCommand` encoding, answered when the EXEC's reply is released
        /// (`TransactionEntry.Item.atRelease`).
        case atRelease([UInt8])
        /// A node-local command whose work is a command in the entry (DEBUG RELOAD, OBJECT, SET-ACTIVE-EXPIRE): the
        /// store runs it in the EXEC entry, and the protocol counts the call when EXEC sends it, as it counts the same
        /// command sent alone.
        case entry(CommandArguments)
    }

    /// Commands one transaction may queue. An EXEC entry records what its commands read from the clock (once, frozen)
    /// and from the random source (at most once per command), 9 bytes each, within the entry's 64 KiB of room for
    /// recorded values (`RuntimeConfiguration.entryOverheadBytesLimit`): 4,096 leaves room to spare.
    static let commandsLimit = 4_096

    private(set) var queued: [Queued] = []
    /// The EXEC entry's encoding size so far, without the node-local replies (known only at EXEC).
    private(set) var encodedBytes = 64
    /// Redis's `CLIENT_DIRTY_EXEC`: a command was refused while queueing, so EXEC answers EXECABORT.
    var isFlagged = false
    /// Whether a queued command may add data (`DataCommand.isRefusedOutOfMemory`): past `maxmemory`, EXEC is refused.
    var mayAddData = false

    /// Whether the queue holds a data command or a DEBUG that runs in the entry: without one (and without a watch or a
    /// PUBLISH) EXEC needs no entry.
    private(set) var hasData = false
    /// Whether the queue holds a PUBLISH or PUBSUB: EXEC then needs an entry, and its reply goes out by the broadcast
    /// path (`ClientRequest.broadcast`), which delivers the messages and writes those replies in.
    private(set) var hasAtRelease = false

    /// Queues `command`; false, and nothing queued, when it would take the transaction past `commandsLimit` or
    /// past `bytesLimit` of entry.
    mutating func append(_ command: Queued, bytesLimit: Int) -> Bool {
        let bytes: Int
        switch command {
        case .data(let encoding): bytes = TransactionEntry.encodedByteCount(ofItemBytes: encoding.count)
        case .local(let arguments), .entry(let arguments):
            bytes = TransactionEntry.encodedByteCount(ofItemBytes: arguments.encoding.count)
        case .atRelease(let encoding): bytes = TransactionEntry.encodedByteCount(ofItemBytes: encoding.count)
        }
        guard queued.count < Self.commandsLimit, encodedBytes + bytes <= bytesLimit else { return false }
        queued.append(command)
        encodedBytes += bytes
        switch command {
        case .data, .entry: hasData = true
        case .atRelease: hasAtRelease = true
        case .local: break
        }
        return true
    }
}
