import Glibc

/// A blocking client of the ledger's line protocol on 127.0.0.1: send a line, read the reply line.
///
/// Every read and write has a timeout (SO_RCVTIMEO, SO_SNDTIMEO), so a node that hangs costs a test an error, never
/// a hang. Used from the test's task for setup and checks, and from the load's own threads.
final class LineClient {
    /// The longest reply accepted: a `HISTORY` of 100 entries is about 5 KiB.
    static let replyBytesLimit = 64 << 10

    private let socket: CInt
    private var unread: [UInt8] = []

    init(port: UInt16, timeout: Duration = .seconds(2)) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw HarnessError("socket() failed: errno \(errno)") }
        let seconds = timeout.components.seconds
        var limit = timeval(tv_sec: Int(seconds), tv_usec: Int(timeout.components.attoseconds / 1_000_000_000_000))
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(socket, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let code = errno
            close(socket)
            throw HarnessError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    deinit { close(socket) }

    /// Sends `line` and returns the reply line without its newline.
    func request(_ line: String) throws -> String {
        let bytes = Array((line + "\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw HarnessError("send failed: errno \(errno)") }
            sent += count
        }
        var chunk = [UInt8](repeating: 0, count: 4_096)
        while true {
            if let newline = unread.firstIndex(of: UInt8(ascii: "\n")) {
                let reply = String(decoding: unread[..<newline], as: UTF8.self)
                unread.removeFirst(newline + 1)
                return reply
            }
            guard unread.count < Self.replyBytesLimit else { throw HarnessError("reply longer than the limit") }
            let count = recv(socket, &chunk, chunk.count, 0)
            guard count > 0 else {
                throw HarnessError(count == 0 ? "connection closed" : "recv failed: errno \(errno)")
            }
            unread += chunk[..<count]
        }
    }
}
