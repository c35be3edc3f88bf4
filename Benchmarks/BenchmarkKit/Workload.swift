/// What a load generator's connections send, pre-encoded, and how many replies make one operation.
///
/// Commands are encoded once per key before the run, so the generator's hot path only copies bytes: the load
/// generator must cost far less CPU than the server it measures (IO-FINDINGS, benchmark hygiene).
public enum Workload: Sendable, Equatable {
    /// A fixed-size message echoed back byte for byte: the floors.
    case echo(messageBytes: Int)
    /// `SET key:<i> <value>` with a `valueBytes`-byte value, i cycling through `keyspace`.
    case set(keyspace: Int, valueBytes: Int)
    /// `GET key:<i>`.
    case get(keyspace: Int)
    /// `SET key:<i> <value>` then `WAIT 1 <timeoutMilliseconds>`, written together: the operation counts as
    /// acknowledged only when WAIT answers at least 1 (Redis's synchronous-replication idiom). Pipelining the two is
    /// the fastest way a client can do it, so it is the fairest reference.
    case setThenWait(keyspace: Int, valueBytes: Int, timeoutMilliseconds: Int)
    /// `SESSION EXEC <id> <number> SET key:<i> <value>`: each connection in its own session (opened before the run,
    /// `LoadSpecification.sessionIDs`), numbering its requests 1, 2, 3, ... (`SessionRequestEncoder`).
    case sessionSet(keyspace: Int, valueBytes: Int)

    /// Replies that make up one operation.
    public var repliesPerOperation: Int {
        if case .setThenWait = self { return 2 }
        return 1
    }

    /// Distinct commands cycled through (one per key; one for echo).
    var keyspace: Int {
        switch self {
        case .echo: 1
        case .set(let keyspace, _), .get(let keyspace), .setThenWait(let keyspace, _, _),
            .sessionSet(let keyspace, _):
            Swift.max(1, keyspace)
        }
    }

    /// Whether each request goes inside a session: `encodedOperation` then gives the command's elements only.
    public var isSession: Bool {
        if case .sessionSet = self { return true }
        return false
    }

    /// Elements of the command a session request wraps, its name included.
    var sessionCommandElements: Int { 3 }

    /// The bytes of operation `index` (0..<keyspace). For a session workload, the command's elements without their
    /// array header: `SessionRequestEncoder` puts the header and `SESSION EXEC id number` in front, per request.
    public func encodedOperation(_ index: Int) -> [UInt8] {
        switch self {
        case .echo(let messageBytes):
            return [UInt8](repeating: UInt8(ascii: "e"), count: messageBytes)
        case .set(_, let valueBytes):
            return Self.command(["SET", "key:\(index)", Self.value(index, bytes: valueBytes)])
        case .get:
            return Self.command(["GET", "key:\(index)"])
        case .setThenWait(_, let valueBytes, let timeoutMilliseconds):
            return Self.command(["SET", "key:\(index)", Self.value(index, bytes: valueBytes)])
                + Self.command(["WAIT", "1", String(timeoutMilliseconds)])
        case .sessionSet(_, let valueBytes):
            return Self.elements(["SET", "key:\(index)", Self.value(index, bytes: valueBytes)])
        }
    }

    /// A RESP2 command: an array of bulk strings.
    public static func command(_ parts: [String]) -> [UInt8] {
        Array("*\(parts.count)\r\n".utf8) + elements(parts)
    }

    /// The bulk strings of a command without its array header.
    static func elements(_ parts: [String]) -> [UInt8] {
        var bytes: [UInt8] = []
        for part in parts {
            let utf8 = Array(part.utf8)
            bytes += Array("$\(utf8.count)\r\n".utf8)
            bytes += utf8
            bytes += [13, 10]
        }
        return bytes
    }

    /// A value of exactly `bytes` bytes that names its key, so a reader of a dump can tell values apart.
    static func value(_ index: Int, bytes: Int) -> String {
        let stem = "value-\(index)-"
        let padding = String(repeating: "x", count: Swift.max(0, bytes - stem.utf8.count))
        return String((stem + padding).utf8.prefix(bytes))!
    }
}

/// Every operation of a workload, encoded back to back, with offsets: one allocation for the whole keyspace.
final class EncodedOperations: Sendable {
    let bytes: [UInt8]
    /// Start of operation i is `offsets[i]`, its end `offsets[i + 1]`.
    let offsets: [Int]

    init(_ workload: Workload) {
        var bytes: [UInt8] = []
        var offsets = [0]
        for index in 0..<workload.keyspace {
            bytes += workload.encodedOperation(index)
            offsets.append(bytes.count)
        }
        self.bytes = bytes
        self.offsets = offsets
    }

    var count: Int { offsets.count - 1 }
}
