import Glibc
import Posix

/// A decoded RESP2 reply, for control commands (INFO, ROLE, WAIT, probes); the load path never builds these.
public indirect enum RESPValue: Equatable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int64)
    case bulk(String?)
    case array([RESPValue]?)

    /// The text of a simple or bulk string.
    public var text: String? {
        switch self {
        case .simple(let text): text
        case .bulk(let text): text
        default: nil
        }
    }

    /// Decodes the reply at the start of `bytes` (which the scanner found complete).
    static func decode(_ bytes: ArraySlice<UInt8>) -> (RESPValue, Int)? {
        guard let first = bytes.first, let lineEnd = findCRLF(bytes) else { return nil }
        let line = String(decoding: bytes[(bytes.startIndex + 1)..<lineEnd], as: UTF8.self)
        let after = lineEnd + 2
        switch first {
        case UInt8(ascii: "+"): return (.simple(line), after - bytes.startIndex)
        case UInt8(ascii: "-"): return (.error(line), after - bytes.startIndex)
        case UInt8(ascii: ":"): return Int64(line).map { (.integer($0), after - bytes.startIndex) }
        case UInt8(ascii: "$"):
            guard let length = Int(line) else { return nil }
            if length < 0 { return (.bulk(nil), after - bytes.startIndex) }
            guard after + length + 2 <= bytes.endIndex else { return nil }
            let text = String(decoding: bytes[after..<(after + length)], as: UTF8.self)
            return (.bulk(text), after + length + 2 - bytes.startIndex)
        case UInt8(ascii: "*"):
            guard let count = Int(line) else { return nil }
            if count < 0 { return (.array(nil), after - bytes.startIndex) }
            var elements: [RESPValue] = []
            var position = after
            for _ in 0..<count {
                guard let (element, length) = decode(bytes[position...]) else { return nil }
                elements.append(element)
                position += length
            }
            return (.array(elements), position - bytes.startIndex)
        default:
            return nil
        }
    }

    private static func findCRLF(_ bytes: ArraySlice<UInt8>) -> Int? {
        var index = bytes.startIndex
        while index + 1 < bytes.endIndex {
            if bytes[index] == 13 && bytes[index + 1] == 10 { return index }
            index += 1
        }
        return nil
    }
}

/// A blocking RESP client for control commands: one request, wait (with a deadline), one reply.
///
/// Runs on the harness thread, outside any event loop; `poll` bounds every wait, so a stopped or dead server costs a
/// timeout, never a hang.
public final class ControlClient {
    public let address: SocketAddress
    private var descriptor: FileDescriptor?
    private var input: [UInt8] = []

    /// Replies larger than this are refused: INFO is a few KiB.
    static let replyBytesLimit = 1 << 20

    public init(address: SocketAddress) {
        self.address = address
    }

    deinit { close() }

    public func close() {
        try? descriptor?.close()  // nothing to tell anyone
        descriptor = nil
        input = []
    }

    /// Sends `arguments` as one command and returns the reply; reconnects first if needed.
    public func command(_ arguments: [String], timeoutNanoseconds: UInt64 = 2_000_000_000) throws(BenchmarkError)
        -> RESPValue
    {
        let deadline = monotonicNanoseconds() + timeoutNanoseconds
        let fd = try connected(deadline: deadline)
        do {
            try sendAll(Workload.command(arguments), on: fd, deadline: deadline)
            return try readReply(on: fd, deadline: deadline)
        } catch {
            close()
            throw error
        }
    }

    /// `INFO section` as name → value.
    public func info(_ section: String, timeoutNanoseconds: UInt64 = 2_000_000_000) throws(BenchmarkError)
        -> [String: String]
    {
        let reply = try command(["INFO", section], timeoutNanoseconds: timeoutNanoseconds)
        guard let text = reply.text else { throw .unexpectedReply("INFO \(section) answered \(reply)") }
        return Self.parseInfo(text)
    }

    /// Redis INFO text (`name:value` lines, `#` headings) as a dictionary.
    public static func parseInfo(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(whereSeparator: { $0 == "\r\n" || $0 == "\n" || $0 == "\r" }) {
            guard !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    private func connected(deadline: UInt64) throws(BenchmarkError) -> FileDescriptor {
        if let descriptor { return descriptor }
        let now = monotonicNanoseconds()
        do {
            let fd = try Sockets.connect(to: address, timeoutNanoseconds: deadline > now ? deadline - now : 1)
            descriptor = fd
            return fd
        } catch {
            throw .system(error)
        }
    }

    private func sendAll(_ bytes: [UInt8], on fd: FileDescriptor, deadline: UInt64) throws(BenchmarkError) {
        var offset = 0
        while offset < bytes.count {
            let sent: Int?
            do {
                sent = try Sockets.send(bytes, from: offset, on: fd)
            } catch {
                throw .system(error)
            }
            if let sent {
                offset += sent
                continue
            }
            try wait(fd, for: Int16(POLLOUT), deadline: deadline, doing: "sending to \(address)")
        }
    }

    private func readReply(on fd: FileDescriptor, deadline: UInt64) throws(BenchmarkError) -> RESPValue {
        let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 1)
        defer { chunk.deallocate() }
        while true {
            switch RESPReplyScanner.scan(input) {
            case .complete(let reply):
                guard let (value, _) = RESPValue.decode(input[0..<reply.length]) else {
                    throw .unexpectedReply("undecodable reply from \(address)")
                }
                input.removeFirst(reply.length)
                return value
            case .malformed:
                throw .unexpectedReply("malformed reply from \(address)")
            case .incomplete:
                break
            }
            guard input.count < Self.replyBytesLimit else { throw .unexpectedReply("oversized reply from \(address)") }
            let count: Int?
            do {
                count = try fd.read(into: chunk)
            } catch {
                throw .system(error)
            }
            if let count {
                guard count > 0 else { throw .unexpectedReply("\(address) closed the connection") }
                input.append(contentsOf: chunk.prefix(count))
                continue
            }
            try wait(fd, for: Int16(POLLIN), deadline: deadline, doing: "waiting for a reply from \(address)")
        }
    }

    private func wait(_ fd: FileDescriptor, for events: Int16, deadline: UInt64, doing what: String)
        throws(BenchmarkError)
    {
        let now = monotonicNanoseconds()
        guard now < deadline else { throw .timedOut(what) }
        let isReady: Bool
        do {
            isReady = try Sockets.waitUntil(fd, events: events, timeoutNanoseconds: deadline - now)
        } catch {
            throw .system(error)
        }
        if !isReady { throw .timedOut(what) }
    }
}
