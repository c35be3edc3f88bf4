import Durability
import Posix

/// Why a node runtime could not start or keep running. Every case is an operating error with one log line's worth
/// of description: what happened and what follows (STYLE 5).
public enum RuntimeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A listening socket could not be made, e.g. the port is in use. `role` is "client" or "logging channel".
    case cannotListen(role: String, address: String, SystemError)
    /// The configuration cannot work (an unparsable address, limits that contradict each other).
    case invalidConfiguration(String)
    /// The event loop could not be made or `epoll_wait` failed.
    case eventLoopFailed(SystemError)
    /// The arbiter's or the signals' helper thread could not be started.
    case cannotStartThread(SystemError)
    /// The signal handlers could not be installed.
    case cannotHandleSignals(SystemError)
    /// The service address cannot be managed: no such device, no permission, or a failed first removal.
    case serviceAddressUnusable(ServiceAddressError)
    /// The data directory cannot be opened or its state cannot be read (locked, corrupt before the tail, unreadable).
    case durableStateUnusable(DurabilityError)

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .cannotListen(let role, let address, let error):
            "cannot listen for \(role) connections on \(address): \(error); the node does not start"
        case .invalidConfiguration(let reason):
            "invalid configuration: \(reason); the node does not start"
        case .eventLoopFailed(let error):
            "the event loop failed: \(error); the node stops"
        case .cannotStartThread(let error):
            "cannot start a helper thread: \(error); the node does not start"
        case .cannotHandleSignals(let error):
            "cannot install the signal handlers: \(error); the node does not start"
        case .serviceAddressUnusable(let error):
            "\(error); the node does not start"
        case .durableStateUnusable(let error):
            "\(error); the node does not start"
        }
    }
}
