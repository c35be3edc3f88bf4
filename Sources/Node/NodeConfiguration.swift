import Arbiter
import Backup
import Primary

/// Who a node is and how it behaves; the same on both machines but for the addresses.
public struct NodeConfiguration: Sendable {
    /// The node's name in its arbiter claim, its hello and log lines; the two nodes must differ.
    public var nodeName: String
    /// The logging-channel address the peer should dial (`--advertise`).
    public var channelAddress: String
    /// The address this node serves clients on, advertised in its claim and hello.
    public var clientAddress: String
    /// The other node's channel address (`--peer`), dialed when the arbiter names no one else.
    public var peerChannelAddress: String?
    /// The bounds the primary core keeps while this node is primary.
    public var primaryLimits = PrimaryLimits()
    /// The bounds the backup core keeps while this node is backup.
    public var backupLimits = BackupLimits()
    /// How long a joining node waits before looking for a primary again.
    public var joinRetryInterval: Duration = .milliseconds(100)
    /// While joining keeps failing (no arbiter, no primary), the failure is logged at once and then at most once per
    /// this, with the count held back: one line per retry would be 10 a second.
    public var joinFailureNoteInterval: Duration = .seconds(5)
    /// Whether the node keeps a durable log (a data directory): its replies wait for its own disk, its acks say
    /// "durable here", and it may recover from its disk after a restart.
    public var isDurable = false
    /// Accepted channels that have not said hello yet; more are closed at once.
    public var unidentifiedChannelsLimit = 4

    /// Creates a configuration with the default limits and intervals; `peerChannelAddress` may be nil when the arbiter
    /// always names the primary.
    public init(nodeName: String, channelAddress: String, clientAddress: String, peerChannelAddress: String?) {
        self.nodeName = nodeName
        self.channelAddress = channelAddress
        self.clientAddress = clientAddress
        self.peerChannelAddress = peerChannelAddress
    }

    /// What this node tells the arbiter when it takes an epoch.
    public var claim: Claim { Claim(nodeName: nodeName, channelAddress: channelAddress, clientAddress: clientAddress) }
}
