import Glibc
import Posix

/// One RESP2 reply as the fault suite's clients see it.
enum Reply: Equatable, Sendable, CustomStringConvertible {
    case simple(String)
    case error(String)
    case integer(Int64)
    /// `nil` is the null bulk string.
    case bulk([UInt8]?)
    /// `nil` is the null array.
    case array([Reply]?)

    /// The text of a simple, error or bulk reply; nil otherwise.
    var text: String? {
        switch self {
        case .simple(let text), .error(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    var description: String {
        switch self {
        case .simple(let text): "+\(text)"
        case .error(let text): "-\(text)"
        case .integer(let value): ":\(value)"
        case .bulk(let bytes?): "$\"\(String(decoding: bytes.prefix(80), as: UTF8.self))\""
        case .bulk(nil): "$nil"
        case .array(let elements?): "[\(elements.map(\.description).joined(separator: ", "))]"
        case .array(nil): "*nil"
        }
    }
}

/// Why a RESP exchange ended without a reply. Only `connectFailed` means the command surely was not sent; the
/// others leave its outcome unknown.
enum ConnectionError: Error, Equatable, CustomStringConvertible {
    case connectFailed(String)
    case timedOut(String)
    case closed
    case protocolViolation(String)

    var description: String {
        switch self {
        case .connectFailed(let reason): "connect failed: \(reason)"
        case .timedOut(let what): "timed out waiting for \(what)"
        case .closed: "the server closed the connection"
        case .protocolViolation(let reason): "not RESP: \(reason)"
        }
    }
}

/// A blocking RESP2 connection owned by one thread, with a deadline on every wait.
///
/// The suite's own client rather than the CLI's, so the workload's notion of "unknown" (timeout, close) is
/// defined here, next to the checker that relies on it. Every wait is bounded: a frozen or partitioned node
/// turns into `timedOut`, never a hang.
final class RedisConnection {
    /// Largest reply accepted: the workload's APPEND keys stay far below this.
    static let replyBytesLimit = 64 << 20

    let address: SocketAddress
    let timeout: Duration
    private var descriptor: FileDescriptor?
    private var buffer: [UInt8] = []
    private var readIndex = 0

    init(address: SocketAddress, timeout: Duration) throws(ConnectionError) {
        self.address = address
        self.timeout = timeout
        let progress: TCP.ConnectProgress
        do {
            progress = try TCP.connect(to: address)
        } catch {
            throw .connectFailed(error.description)
        }
        descriptor = progress.descriptor
        guard case .inProgress(let fd) = progress else { return }
        guard Self.waitFor(Int16(POLLOUT), on: fd, until: Self.deadline(after: timeout)) else {
            close()
            throw .connectFailed("no answer within \(timeout)")
        }
        do {
            try TCP.completeConnect(fd)
        } catch {
            close()
            throw .connectFailed(error.description)
        }
    }

    deinit { close() }

    var isOpen: Bool { descriptor != nil }

    func close() {
        // Closing a connected socket cannot fail in a way a test client could act on.
        try? descriptor?.close()
        descriptor = nil
    }

    /// Sends one command and waits for its reply; an error reply is a value, not a throw.
    func command(_ arguments: [String], timeout: Duration? = nil) throws(ConnectionError) -> Reply {
        try send(Self.encode(arguments))
        return try readReply(timeout: timeout)
    }

    /// Sends bytes as they are (the bad-input test sends malformed ones).
    func send(_ bytes: [UInt8]) throws(ConnectionError) {
        guard let fd = descriptor else { throw .closed }
        let deadline = Self.deadline(after: timeout)
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try fd.send(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch result {
            case .success(let sent?): offset += sent
            case .success(nil):
                guard Self.waitFor(Int16(POLLOUT), on: fd, until: deadline) else {
                    throw .timedOut("the socket to take the request")
                }
            case .failure: throw .closed
            }
        }
    }

    /// Waits for the next reply.
    func readReply(timeout: Duration? = nil) throws(ConnectionError) -> Reply {
        let deadline = Self.deadline(after: timeout ?? self.timeout)
        while true {
            var cursor = readIndex
            if let value = try Self.parse(buffer, at: &cursor) {
                readIndex = cursor
                if readIndex == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    readIndex = 0
                }
                return value
            }
            guard buffer.count - readIndex < Self.replyBytesLimit else { throw .protocolViolation("reply too big") }
            try fill(until: deadline)
        }
    }

    /// Reads and discards until the server closes (true) or `wait` passes (false).
    func waitForClose(within wait: Duration) -> Bool {
        let deadline = Self.deadline(after: wait)
        while true {
            do {
                try fill(until: deadline)
                buffer.removeAll(keepingCapacity: true)
                readIndex = 0
            } catch .timedOut {
                return false
            } catch {
                return true
            }
        }
    }

    private func fill(until deadline: UInt64) throws(ConnectionError) {
        guard let fd = descriptor else { throw .closed }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let result = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) in try fd.read(into: raw) }
            }
            switch result {
            case .success(let count?):
                guard count > 0 else { throw .closed }
                buffer.append(contentsOf: chunk[..<count])
                return
            case .success(nil):
                guard Self.waitFor(Int16(POLLIN), on: fd, until: deadline) else { throw .timedOut("a reply") }
            case .failure:
                throw .closed
            }
        }
    }

    /// poll(2) on one descriptor until `deadline` (monotonic nanoseconds): whether it became ready (readiness
    /// includes hangup and error, which the next read or send reports).
    static func waitFor(_ events: Int16, on fd: FileDescriptor, until deadline: UInt64) -> Bool {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { return false }
            var request = pollfd(fd: fd.rawValue, events: events, revents: 0)
            let milliseconds = CInt(clamping: (deadline - now + 999_999) / 1_000_000)
            // -1 can only be EINTR here (valid descriptor and arguments): poll again with the time left.
            if poll(&request, 1, milliseconds) > 0 { return true }
        }
    }

    static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return monotonicNanoseconds() &+ UInt64(max(0, seconds)) &* 1_000_000_000
            &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// A command as a RESP array of bulk strings.
    static func encode(_ arguments: [String]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            let utf8 = Array(argument.utf8)
            bytes += Array("$\(utf8.count)\r\n".utf8) + utf8 + [13, 10]
        }
        return bytes
    }

    /// Parses one reply at `cursor`; nil (cursor unchanged) when more bytes are needed.
    static func parse(_ bytes: [UInt8], at cursor: inout Int, depth: Int = 0) throws(ConnectionError) -> Reply? {
        guard depth < 16 else { throw .protocolViolation("arrays nested too deep") }
        var position = cursor
        guard position < bytes.count else { return nil }
        let kind = bytes[position]
        position += 1
        var lineEnd = position
        while lineEnd + 1 < bytes.count, !(bytes[lineEnd] == 13 && bytes[lineEnd + 1] == 10) { lineEnd += 1 }
        guard lineEnd + 1 < bytes.count else { return nil }
        let line = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
        position = lineEnd + 2
        let value: Reply
        switch kind {
        case UInt8(ascii: "+"): value = .simple(line)
        case UInt8(ascii: "-"): value = .error(line)
        case UInt8(ascii: ":"):
            guard let number = Int64(line) else { throw .protocolViolation("integer \(line)") }
            value = .integer(number)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1, length <= replyBytesLimit else {
                throw .protocolViolation("bulk length \(line)")
            }
            if length == -1 {
                value = .bulk(nil)
            } else {
                guard bytes.count >= position + length + 2 else { return nil }
                value = .bulk(Array(bytes[position..<position + length]))
                position += length + 2
            }
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1, count <= 1 << 20 else {
                throw .protocolViolation("array length \(line)")
            }
            if count == -1 {
                value = .array(nil)
            } else {
                var elements: [Reply] = []
                for _ in 0..<count {
                    guard let element = try parse(bytes, at: &position, depth: depth + 1) else { return nil }
                    elements.append(element)
                }
                value = .array(elements)
            }
        default:
            throw .protocolViolation("type byte \(kind)")
        }
        cursor = position
        return value
    }
}

extension RedisConnection {
    /// `INFO` as a dictionary of `name:value` lines; nil when the node does not answer.
    static func info(_ address: SocketAddress, timeout: Duration = .milliseconds(500)) -> [String: String]? {
        guard let connection = try? RedisConnection(address: address, timeout: timeout),
            let reply = try? connection.command(["INFO"]), case .bulk(let bytes?) = reply
        else { return nil }
        var fields: [String: String] = [:]
        for line in String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\r\n" || $0 == "\n" }) {
            guard let colon = line.firstIndex(of: ":"), !line.hasPrefix("#") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }
}
