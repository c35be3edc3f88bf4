import Arbiter
import Backup
import Primary

/// Who a node is and how it behaves; the same on both machines but for the addresses.
public struct NodeConfiguration: Sendable {
    public var nodeName: String
    /// The logging-channel address the peer should dial (`--advertise`).
    public var channelAddress: String
    public var clientAddress: String
    /// The other node's channel address (`--peer`), dialed when the arbiter names no one else.
    public var peerChannelAddress: String?
    public var primaryLimits = PrimaryLimits()
    public var backupLimits = BackupLimits()
    /// How long a joining node waits before looking for a primary again.
    public var joinRetryInterval: Duration = .milliseconds(100)
    /// Accepted channels that have not said hello yet; more are closed at once.
    public var unidentifiedChannelsLimit = 4

    public init(nodeName: String, channelAddress: String, clientAddress: String, peerChannelAddress: String?) {
        self.nodeName = nodeName
        self.channelAddress = channelAddress
        self.clientAddress = clientAddress
        self.peerChannelAddress = peerChannelAddress
    }

    public var claim: Claim { Claim(nodeName: nodeName, channelAddress: channelAddress, clientAddress: clientAddress) }
}
