@testable import LockstepCLI
import Posix

// The fault suite talks RESP through the CLI's `RESPClient`; this file holds only what the suite adds on top.
//
// How the workload classifies what it learns (the checker relies on it): an error thrown while opening a
// `RESPClient` (refused, unreachable, no answer to the connect) means the command surely was not sent, so it is
// not an operation at all; any error thrown by `command` once connected (timed out, closed, I/O failure, not RESP)
// leaves the command's outcome unknown. Every wait is bounded by the client's timeout: a frozen or partitioned
// node turns into `timedOut`, never a hang.

extension RESPValue: CustomStringConvertible {
    /// A short form for failure messages and the bad-input log.
    public var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes?): "$\"\(String(decoding: bytes.prefix(80), as: UTF8.self))\""
        case .bulk(nil): "$nil"
        case .array(let elements?): "[\(elements.map(\.description).joined(separator: ", "))]"
        case .array(nil): "*nil"
        }
    }
}

extension RESPClient {
    /// `INFO` as a dictionary of `name:value` lines; nil when the node does not answer.
    static func info(_ address: SocketAddress, timeout: Duration = .milliseconds(500)) -> [String: String]? {
        guard let client = try? RESPClient(address: address, timeout: timeout),
            let reply = try? client.command(["INFO"]), case .bulk(let bytes?) = reply
        else { return nil }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}
