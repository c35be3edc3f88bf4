import Glibc

/// An IPv4 address and TCP port, written `"HOST:PORT"`.
///
/// IPv4 literals only, plus `localhost`: the logging channel is configured by address, and resolving names
/// would add a blocking DNS dependency to failover. Port 0 parses, so a listener can ask the kernel for a free port.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The IPv4 address in host byte order (`127.0.0.1` is `0x7F00_0001`).
    public var ipv4: UInt32
    /// The TCP port in host byte order; 0 asks a listener for any free port.
    public var port: UInt16

    /// The address `ipv4` (host byte order) and `port`.
    public init(ipv4: UInt32, port: UInt16) {
        self.ipv4 = ipv4
        self.port = port
    }

    /// `127.0.0.1:port`.
    public static func loopback(port: UInt16) -> SocketAddress { SocketAddress(ipv4: 0x7F00_0001, port: port) }

    /// Parses `"a.b.c.d:port"` or `"localhost:port"`.
    public init(parsing text: String) throws(SocketAddressError) {
        guard let colon = text.lastIndex(of: ":") else { throw .missingPort(text) }
        let host = text[..<colon]
        let portText = text[text.index(after: colon)...]
        guard !portText.isEmpty, portText.allSatisfy({ $0.isASCII && $0.isNumber }), let port = UInt16(portText)
        else { throw .invalidPort(text) }
        if host == "localhost" {
            self.init(ipv4: 0x7F00_0001, port: port)
            return
        }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { throw .invalidHost(text) }
        var ipv4: UInt32 = 0
        for part in parts {
            // Leading zeros are refused: inet_aton reads them as octal, a classic surprise.
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part == "0" || part.first != "0", let octet = UInt8(part)
            else { throw .invalidHost(text) }
            ipv4 = ipv4 << 8 | UInt32(octet)
        }
        self.init(ipv4: ipv4, port: port)
    }

    /// The IPv4 address in dotted form, e.g. `127.0.0.1`.
    public var host: String {
        "\(ipv4 >> 24).\(ipv4 >> 16 & 0xFF).\(ipv4 >> 8 & 0xFF).\(ipv4 & 0xFF)"
    }

    /// `HOST:PORT`, the form `init(parsing:)` reads back.
    public var description: String { "\(host):\(port)" }

    /// The kernel's form, in network byte order.
    var sockaddr: sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: ipv4.bigEndian)
        return address
    }

    init(_ address: sockaddr_in) {
        self.init(ipv4: UInt32(bigEndian: address.sin_addr.s_addr), port: UInt16(bigEndian: address.sin_port))
    }
}

/// Why a `"HOST:PORT"` string is not a `SocketAddress`.
public enum SocketAddressError: Error, Equatable, Sendable, CustomStringConvertible {
    /// No `:` separates a port.
    case missingPort(String)
    /// The port is empty, not a number, or above 65535.
    case invalidPort(String)
    /// The host is neither a dotted IPv4 address nor `localhost`.
    case invalidHost(String)

    /// One sentence naming the bad text and the form expected.
    public var description: String {
        switch self {
        case .missingPort(let text):
            "address \"\(text)\" has no port; write HOST:PORT, e.g. 127.0.0.1:7000"
        case .invalidPort(let text):
            "address \"\(text)\" has no valid port; the port must be a number from 0 to 65535"
        case .invalidHost(let text):
            "address \"\(text)\" has an unsupported host; use an IPv4 address such as 10.0.0.5, or localhost"
        }
    }
}
