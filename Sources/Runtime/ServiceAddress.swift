import Glibc
import Posix

/// The address clients use for the service, held by whichever node is live (the seeds' IP address takeover).
///
/// The live node (primary or solo) adds it to `device` and announces it with gratuitous ARP, so clients that
/// know only this address follow a failover without a discovery step; a node that stops being live removes it,
/// and a node removes a stale copy (left by a crash) before it listens. Needs `CAP_NET_ADMIN` (the address) and
/// `CAP_NET_RAW` (the announcement).
public struct ServiceAddress: Equatable, Sendable, CustomStringConvertible {
    /// Longest device name Linux allows (IFNAMSIZ less its terminating zero).
    public static let deviceNameCharactersLimit = 15

    /// The address and its prefix length on the device.
    public var prefix: IPv4Prefix
    /// The network device the address goes on, e.g. `eth0`; both nodes name the device on their own segment.
    public var device: String

    /// Parses `ADDR/PREFIX` (`10.0.0.100/24`) and checks the device name; refuses addresses no service can
    /// own (0.0.0.0, loopback, multicast, broadcast).
    public init(parsing text: String, device: String) throws(ServiceAddressError) {
        guard let slash = text.firstIndex(of: "/") else {
            throw .invalidAddress(text, "write ADDR/PREFIX, e.g. 10.0.0.100/24")
        }
        let lengthText = text[text.index(after: slash)...]
        guard !lengthText.isEmpty, lengthText.count <= 2, lengthText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let length = UInt8(lengthText), (1...32).contains(length)
        else { throw .invalidAddress(text, "the prefix length must be a number from 1 to 32") }
        let host: SocketAddress
        do {
            host = try SocketAddress(parsing: text[..<slash] + ":0")
        } catch {
            throw .invalidAddress(text, "the address must be a dotted IPv4 address")
        }
        let first = host.ipv4 >> 24
        guard host.ipv4 != 0, first != 127, first < 224 else {
            throw .invalidAddress(text, "0.0.0.0, loopback, multicast and reserved addresses cannot be a service's")
        }
        guard !device.isEmpty, device.utf8.count <= Self.deviceNameCharactersLimit, device != ".", device != "..",
            device.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 32 && $0 != "/" && $0 != ":" })
        else { throw .invalidDevice(device) }
        self.prefix = IPv4Prefix(address: host.ipv4, prefixLength: length)
        self.device = device
    }

    /// `198.18.0.10/24 on eth0`.
    public var description: String { "\(prefix) on \(device)" }
}

/// Why the service address could not be configured, added, removed or announced.
public enum ServiceAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    /// `--service-address` is not `ADDR/PREFIX` with a usable address; the text and what is wrong.
    case invalidAddress(String, String)
    /// The device name cannot be a Linux device's.
    case invalidDevice(String)
    /// No device of that name exists in the node's network namespace.
    case deviceMissing(String)
    /// The process may not change addresses or send raw frames (`EPERM`): it lacks `CAP_NET_ADMIN` or
    /// `CAP_NET_RAW`.
    case notPermitted(Step, SystemError)
    /// One step failed for another reason.
    case failed(Step, SystemError)

    /// What the node was doing with the address.
    public enum Step: String, Equatable, Sendable {
        /// Looking the device up (its index and hardware address).
        case lookUpDevice = "look up the device"
        /// Adding the address.
        case add = "add the address"
        /// Removing the address.
        case remove = "remove the address"
        /// Sending a gratuitous ARP.
        case announce = "announce the address"
    }

    /// The typed error for `error`, which happened at `step` for `device`.
    static func classify(_ error: SystemError, at step: Step, device: String) -> ServiceAddressError {
        if error.errno == ENODEV { return .deviceMissing(device) }
        if error.errno == EPERM || error.errno == EACCES { return .notPermitted(step, error) }
        return .failed(step, error)
    }

    /// A stable snake_case name for the kind of failure.
    public var code: String {
        switch self {
        case .invalidAddress: "invalid_address"
        case .invalidDevice: "invalid_device"
        case .deviceMissing: "device_missing"
        case .notPermitted: "not_permitted"
        case .failed: "failed"
        }
    }

    /// One sentence: what happened (what follows is the caller's to say).
    public var description: String {
        switch self {
        case .invalidAddress(let text, let why): "service address \"\(text)\" is invalid: \(why)"
        case .invalidDevice(let name):
            "service device \"\(name)\" is not a device name (1 to \(ServiceAddress.deviceNameCharactersLimit) "
                + "characters, no spaces, '/' or ':')"
        case .deviceMissing(let name): "there is no network device \(name) in this node's network namespace"
        case .notPermitted(let step, let error):
            "not permitted to \(step.rawValue) (\(error)): the node needs CAP_NET_ADMIN and CAP_NET_RAW"
        case .failed(let step, let error): "cannot \(step.rawValue): \(error)"
        }
    }
}
