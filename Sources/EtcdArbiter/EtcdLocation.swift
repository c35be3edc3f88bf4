import Posix

/// Where an etcd arbiter lives: `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`, as `--arbiter` takes it.
///
/// Several endpoints name members of one etcd cluster, tried in order: any member serves the same linearizable
/// reads and transactions, so the list is only for reaching one while others are down. Hosts are IPv4 literals or
/// `localhost`, as everywhere in Lockstep (`SocketAddress`): resolving names would put a blocking DNS lookup on
/// the failover path. The prefix keeps clusters apart on one etcd; it holds no secret and is not a permission.
public struct EtcdLocation: Equatable, Sendable, CustomStringConvertible {
    /// The scheme that marks an `--arbiter` value as etcd rather than a shared directory.
    public static let scheme = "etcd://"
    /// Endpoints in one location; more would mean waiting `requestTimeout` on each dead one in turn.
    public static let endpointsLimit = 16
    /// Longest prefix; etcd keys may be far longer, but a prefix is a name an operator types.
    public static let prefixCharactersLimit = 200

    /// The cluster's client endpoints (its `--listen-client-urls`), in the order they are tried.
    public var endpoints: [SocketAddress]
    /// The key prefix, without leading or trailing `/`; records live under `PREFIX/epoch/`.
    public var prefix: String

    /// A location from its parts; `prefix` must already be valid (see `init(parsing:)`).
    public init(endpoints: [SocketAddress], prefix: String) {
        precondition(!endpoints.isEmpty && endpoints.count <= Self.endpointsLimit, "1 to 16 endpoints")
        precondition(Self.isValidPrefix(prefix), "invalid etcd prefix \(prefix)")
        self.endpoints = endpoints
        self.prefix = prefix
    }

    /// Whether `text` asks for an etcd arbiter at all (as opposed to a directory).
    public static func isEtcd(_ text: String) -> Bool { text.hasPrefix(scheme) }

    /// Parses `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`.
    public init(parsing text: String) throws(EtcdLocationError) {
        guard text.hasPrefix(Self.scheme) else { throw .notEtcd(text) }
        let rest = text.dropFirst(Self.scheme.count)
        guard let slash = rest.firstIndex(of: "/") else { throw .missingPrefix(text) }
        var prefix = Substring(rest[rest.index(after: slash)...])
        while prefix.hasSuffix("/") { prefix = prefix.dropLast() }
        guard !prefix.isEmpty else { throw .missingPrefix(text) }
        guard Self.isValidPrefix(String(prefix)) else { throw .invalidPrefix(String(prefix)) }
        let hosts = rest[..<slash].split(separator: ",", omittingEmptySubsequences: false)
        guard hosts.count <= Self.endpointsLimit else { throw .tooManyEndpoints(hosts.count) }
        var endpoints: [SocketAddress] = []
        for host in hosts {
            do {
                endpoints.append(try SocketAddress(parsing: String(host)))
            } catch {
                throw .invalidEndpoint(String(host), error.description)
            }
        }
        self.init(endpoints: endpoints, prefix: String(prefix))
    }

    /// The form `init(parsing:)` reads back.
    public var description: String {
        Self.scheme + endpoints.map(\.description).joined(separator: ",") + "/" + prefix
    }

    /// Letters, digits and `- _ . /`, no empty path segment, within the length limit: a key an operator can
    /// type into `etcdctl get --prefix` without quoting, and one no other prefix's range can contain.
    static func isValidPrefix(_ prefix: String) -> Bool {
        guard !prefix.isEmpty, prefix.count <= prefixCharactersLimit, !prefix.hasPrefix("/"),
            !prefix.hasSuffix("/"), !prefix.contains("//")
        else { return false }
        return prefix.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./".unicodeScalars.contains($0))
        }
    }
}

/// Why an `--arbiter etcd://...` value cannot be used.
public enum EtcdLocationError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text does not start with `etcd://`.
    case notEtcd(String)
    /// No `/PREFIX` after the endpoints (a prefix is required so two clusters never share records by accident).
    case missingPrefix(String)
    /// The prefix has characters or segments outside the allowed set.
    case invalidPrefix(String)
    /// One endpoint is not `HOST:PORT` with an IPv4 host or `localhost`.
    case invalidEndpoint(String, String)
    /// More endpoints than `EtcdLocation.endpointsLimit`.
    case tooManyEndpoints(Int)

    /// One sentence naming the bad part and the form expected.
    public var description: String {
        switch self {
        case .notEtcd(let text):
            "\"\(text)\" is not an etcd location; write etcd://HOST:PORT[,HOST:PORT...]/PREFIX"
        case .missingPrefix(let text):
            "etcd location \"\(text)\" has no prefix; write etcd://HOST:PORT/PREFIX (e.g. /lockstep/prod), so "
                + "clusters never share epochs"
        case .invalidPrefix(let prefix):
            "etcd prefix \"\(prefix)\" may hold only letters, digits and - _ . / (no empty segments, at most "
                + "\(EtcdLocation.prefixCharactersLimit) characters)"
        case .invalidEndpoint(let endpoint, let reason):
            "etcd endpoint \"\(endpoint)\" is unusable: \(reason)"
        case .tooManyEndpoints(let count):
            "etcd location lists \(count) endpoints; at most \(EtcdLocation.endpointsLimit)"
        }
    }
}
