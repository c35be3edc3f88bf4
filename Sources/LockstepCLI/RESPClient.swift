import Glibc
import Posix

/// One RESP2 reply, as a client sees it.
enum RESPValue: Equatable, Sendable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    /// `nil` is the null bulk string (`$-1`).
    case bulk([UInt8]?)
    /// `nil` is the null array (`*-1`).
    case array([RESPValue]?)

    /// The text of a simple string or bulk string, or of an error; nil otherwise.
    var text: String? {
        switch self {
        case .simpleString(let text), .error(let text): text
        case .bulk(let bytes?): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }
}

/// Why a RESP exchange failed.
enum RESPClientError: Error, Equatable, CustomStringConvertible {
    case connectFailed(address: String, reason: String)
    case timedOut(address: String, waitingFor: String)
    case closed(address: String)
    case ioFailed(address: String, reason: String)
    case protocolViolation(address: String, reason: String)

    var description: String {
        switch self {
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .timedOut(let address, let waitingFor): "\(address) did not answer in time (waiting for \(waitingFor))"
        case .closed(let address): "\(address) closed the connection"
        case .ioFailed(let address, let reason): "talking to \(address) failed: \(reason)"
        case .protocolViolation(let address, let reason): "\(address) sent something that is not RESP: \(reason)"
        }
    }
}

/// A tiny blocking RESP2 client with a deadline on every step: for `lockstep status` and the process tests.
///
/// Every wait is bounded by `timeout` (connect, each send, each reply), so a node that is frozen (SIGSTOP) or a
/// port held by something that never answers makes `status` report it rather than hang. One request at a time,
/// or several pipelined with `send` then `readReply`.
final class RESPClient {
    /// Largest reply accepted; `INFO` is about 1 KiB, so more is a stranger on the port.
    static let replyBytesLimit = 64 << 20
    /// Deepest nesting of arrays accepted (ROLE nests three levels).
    static let nestingLimit = 16

    let address: SocketAddress
    let timeout: Duration
    private var descriptor: FileDescriptor?
    private var buffer: [UInt8] = []
    private var readIndex = 0

    init(address: SocketAddress, timeout: Duration = .seconds(1)) throws(RESPClientError) {
        self.address = address
        self.timeout = timeout
        let progress: TCP.ConnectProgress
        do {
            progress = try TCP.connect(to: address)
        } catch {
            throw .connectFailed(address: address.description, reason: error.description)
        }
        descriptor = progress.descriptor
        guard case .inProgress(let fd) = progress else { return }
        let isConnected: Bool
        do {
            isConnected = try Self.waitFor(Int16(POLLOUT), on: fd, until: Self.deadline(after: timeout))
            if isConnected { try TCP.completeConnect(fd) }
        } catch {
            close()
            throw .connectFailed(address: address.description, reason: error.description)
        }
        guard isConnected else {
            close()
            throw .timedOut(address: address.description, waitingFor: "connect")
        }
    }

    deinit { close() }

    func close() {
        // Closing a connected TCP socket cannot fail in a way worth reporting to a short-lived client.
        try? descriptor?.close()
        descriptor = nil
    }

    /// Sends one command and waits for its reply. An `-ERR` reply is a value (`.error`), not a throw.
    func command(_ arguments: [String]) throws(RESPClientError) -> RESPValue {
        try send(arguments)
        return try readReply()
    }

    /// Sends one command as a RESP array of bulk strings.
    func send(_ arguments: [String]) throws(RESPClientError) {
        try sendRaw(Self.encode(arguments.map { Array($0.utf8) }))
    }

    /// Sends bytes as they are: for tests that send malformed requests.
    func sendRaw(_ bytes: [UInt8]) throws(RESPClientError) {
        guard let fd = descriptor else { throw .closed(address: address.description) }
        let deadline = Self.deadline(after: timeout)
        var offset = 0
        while offset < bytes.count {
            let sent: Int?
            let result = bytes.withUnsafeBytes { raw in
                Result { () throws(SystemError) in try fd.send(UnsafeRawBufferPointer(rebasing: raw[offset...])) }
            }
            switch result {
            case .success(let count):
                sent = count
            case .failure(let error):
                throw error.errno == EPIPE || error.errno == ECONNRESET
                    ? .closed(address: address.description)
                    : .ioFailed(address: address.description, reason: error.description)
            }
            if let sent {
                offset += sent
                continue
            }
            guard try waitFor(Int16(POLLOUT), until: deadline) else {
                throw .timedOut(address: address.description, waitingFor: "the socket to take the request")
            }
        }
    }

    /// Waits for the next reply.
    func readReply() throws(RESPClientError) -> RESPValue {
        let deadline = Self.deadline(after: timeout)
        while true {
            var cursor = readIndex
            do {
                if let value = try Self.parse(buffer, at: &cursor, depth: 0) {
                    readIndex = cursor
                    if readIndex == buffer.count {
                        buffer.removeAll(keepingCapacity: true)
                        readIndex = 0
                    }
                    return value
                }
            } catch {
                throw .protocolViolation(address: address.description, reason: error.reason)
            }
            guard buffer.count - readIndex < Self.replyBytesLimit else {
                throw .protocolViolation(address: address.description, reason: "reply over 64 MiB")
            }
            try fill(until: deadline)
        }
    }

    /// Reads until the peer closes (true) or `wait` passes (false), discarding data: how a test sees that the
    /// server dropped a connection.
    func waitForClose(within wait: Duration) throws(RESPClientError) -> Bool {
        let deadline = Self.deadline(after: wait)
        while true {
            do {
                try fill(until: deadline)
            } catch .closed {
                return true
            } catch .timedOut {
                return false
            } catch .ioFailed {
                return true  // a reset is a close, too
            }
        }
    }

    private func fill(until deadline: UInt64) throws(RESPClientError) {
        guard let fd = descriptor else { throw .closed(address: address.description) }
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let count: Int?
            let result = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) in try fd.read(into: raw) }
            }
            switch result {
            case .success(let read):
                count = read
            case .failure(let error):
                throw error.errno == ECONNRESET
                    ? .closed(address: address.description)
                    : .ioFailed(address: address.description, reason: error.description)
            }
            if let count {
                guard count > 0 else { throw .closed(address: address.description) }
                if readIndex > 0 && readIndex == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    readIndex = 0
                }
                buffer.append(contentsOf: chunk[..<count])
                return
            }
            guard try waitFor(Int16(POLLIN), until: deadline) else {
                throw .timedOut(address: address.description, waitingFor: "a reply")
            }
        }
    }

    private func waitFor(_ events: Int16, until deadline: UInt64) throws(RESPClientError) -> Bool {
        guard let fd = descriptor else { throw .closed(address: address.description) }
        do {
            return try Self.waitFor(events, on: fd, until: deadline)
        } catch {
            throw .ioFailed(address: address.description, reason: error.description)
        }
    }

    /// poll(2) on one descriptor until `deadline` (monotonic nanoseconds): whether it became ready.
    ///
    /// The one syscall here that `Posix` does not wrap; it goes through the same errno funnel.
    private static func waitFor(
        _ events: Int16, on fd: FileDescriptor, until deadline: UInt64
    ) throws(SystemError) -> Bool {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else { return false }
            var request = pollfd(fd: fd.rawValue, events: events, revents: 0)
            let milliseconds = CInt(clamping: (deadline - now + 999_999) / 1_000_000)
            let ready = try retryingInterrupts("poll") { poll(&request, 1, milliseconds) }
            // Readiness includes hangup and error: the following read or send reports what happened.
            if ready > 0 { return true }
        }
    }

    private static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return monotonicNanoseconds() &+ UInt64(max(0, seconds)) * 1_000_000_000
            &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    /// A command as a RESP array of bulk strings.
    static func encode(_ arguments: [[UInt8]]) -> [UInt8] {
        var bytes = Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments {
            bytes += Array("$\(argument.count)\r\n".utf8)
            bytes += argument
            bytes += [13, 10]
        }
        return bytes
    }

    struct ParseError: Error {
        var reason: String
    }

    /// Parses one value starting at `cursor`; nil (cursor unchanged) when more bytes are needed.
    static func parse(_ bytes: [UInt8], at cursor: inout Int, depth: Int) throws(ParseError) -> RESPValue? {
        guard depth < nestingLimit else { throw ParseError(reason: "arrays nested deeper than \(nestingLimit)") }
        var position = cursor
        guard position < bytes.count else { return nil }
        let kind = bytes[position]
        position += 1
        guard let lineEnd = lineEnd(in: bytes, from: position) else {
            guard bytes.count - position < 64 << 10 else { throw ParseError(reason: "a header line over 64 KiB") }
            return nil
        }
        let line = String(decoding: bytes[position..<lineEnd], as: UTF8.self)
        position = lineEnd + 2
        let value: RESPValue
        switch kind {
        case UInt8(ascii: "+"):
            value = .simpleString(line)
        case UInt8(ascii: "-"):
            value = .error(line)
        case UInt8(ascii: ":"):
            guard let number = Int64(line) else { throw ParseError(reason: "integer \"\(line)\"") }
            value = .integer(number)
        case UInt8(ascii: "$"):
            guard let length = Int(line), length >= -1, length <= replyBytesLimit else {
                throw ParseError(reason: "bulk length \"\(line)\"")
            }
            if length == -1 {
                value = .bulk(nil)
            } else {
                guard bytes.count >= position + length + 2 else { return nil }
                guard bytes[position + length] == 13, bytes[position + length + 1] == 10 else {
                    throw ParseError(reason: "bulk string without its CRLF")
                }
                value = .bulk(Array(bytes[position..<position + length]))
                position += length + 2
            }
        case UInt8(ascii: "*"):
            guard let count = Int(line), count >= -1, count <= replyBytesLimit else {
                throw ParseError(reason: "array length \"\(line)\"")
            }
            if count == -1 {
                value = .array(nil)
            } else {
                var elements: [RESPValue] = []
                for _ in 0..<count {
                    guard let element = try parse(bytes, at: &position, depth: depth + 1) else { return nil }
                    elements.append(element)
                }
                value = .array(elements)
            }
        default:
            throw ParseError(reason: "type byte \(kind)")
        }
        cursor = position
        return value
    }

    private static func lineEnd(in bytes: [UInt8], from start: Int) -> Int? {
        var index = start
        while index + 1 < bytes.count {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }
}
