import Replication

/// The service a node names to Sentinel-aware clients, and what it believes about the service's primary.
///
/// Each node answers the Sentinel commands client libraries use (`KeyValueFrontend+Sentinel.swift`) as if it were
/// a Sentinel watching one master, named `name`: the pair's primary. Everything it says comes from its own
/// `NodeStatus`, which is right: a serving node holds the epoch at the arbiter, and a backup follows the primary
/// that holds it. A node without such knowledge (joining, stopped, a backup that has not learned the primary's
/// address) says it is not sure, rather than guess: Redis Sentinel's words for that are the master's `s_down`
/// and `o_down` flags, and a null address.
public struct SentinelService: Equatable, Sendable {
    /// What `--service-name` defaults to.
    public static let defaultName = "lockstep"
    /// The longest service name: it is part of every `+switch-master` message and Sentinel reply.
    public static let nameBytesLimit = 128

    /// The master's name clients ask for (`master_for("lockstep")`, Jedis's `masterName`).
    public var name: String
    /// How long a silent peer is presumed alive (the runtime's silence timeout), reported as Sentinel's
    /// `down-after-milliseconds`.
    public var downAfterMilliseconds: Int

    /// The service `name`, with `downAfterMilliseconds` reported as the peer silence timeout.
    public init(name: String = SentinelService.defaultName, downAfterMilliseconds: Int = 300) {
        self.name = name
        self.downAfterMilliseconds = downAfterMilliseconds
    }

    /// Whether `name` can be a service name: 1 to `nameBytesLimit` printable ASCII bytes without spaces, since
    /// `+switch-master` messages separate their words with spaces.
    public static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        return !bytes.isEmpty && bytes.count <= nameBytesLimit && bytes.allSatisfy { $0 > 32 && $0 < 127 }
    }

    /// Whether `argument` names this service (Sentinel's master names are case-sensitive).
    func isNamed(_ argument: [UInt8]) -> Bool {
        argument.elementsEqual(name.utf8)
    }

    /// The primary's client address as `status` knows it, nil when the node is not sure.
    ///
    /// A serving node names itself; a backup names the primary it follows, once it knows that primary's client
    /// address (from the primary's arbiter record or its hello). A joining or stopped node names nobody: it may
    /// know who was primary, but not who is.
    static func primaryAddress(_ status: NodeStatus) -> String? {
        switch status.role {
        case .primary, .solo: status.clientAddress.isEmpty ? nil : status.clientAddress
        case .backup: status.peerClientAddress.isEmpty ? nil : status.peerClientAddress
        case .joining, .stopped: nil
        }
    }
}
