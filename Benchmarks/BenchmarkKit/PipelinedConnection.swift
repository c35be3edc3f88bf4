import Glibc
import Posix

/// One client connection that keeps many requests in flight without an event loop: the scale benchmark's loader
/// and latency probe.
///
/// Sending never blocks on a full socket while replies wait unread (both sides would stall): whenever the kernel takes
/// no more, the connection reads the replies that arrived before waiting again.
final class PipelinedConnection {
    /// Bytes read and not yet scanned into replies; at most one reply's worth stays here between calls.
    private var input: [UInt8] = []
    private let fd: FileDescriptor
    /// Replies read so far, and how many were errors (with the first error's text, for the report).
    private(set) var replies = 0
    private(set) var errors = 0
    private(set) var firstError: String?

    /// Bytes read per `read`; large enough that a pipeline of thousands of `+OK` takes one call.
    static let readChunkBytes = 256 << 10

    init(to address: SocketAddress, timeoutNanoseconds: UInt64 = 2_000_000_000) throws(BenchmarkError) {
        do {
            fd = try Sockets.connect(to: address, timeoutNanoseconds: timeoutNanoseconds)
        } catch {
            throw .system(error)
        }
    }

    deinit { try? fd.close() }  // nothing to report: the benchmark is done with it

    /// Sends every byte of `bytes` by `deadline`, reading replies whenever the kernel takes no more.
    func send(_ bytes: [UInt8], deadline: UInt64) throws(BenchmarkError) {
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
            try wait(for: Int16(POLLOUT | POLLIN), deadline: deadline, doing: "sending")
            try readAvailable()
        }
    }

    /// Waits until `count` replies in all have arrived, or throws at `deadline`.
    func awaitReplies(_ count: Int, deadline: UInt64) throws(BenchmarkError) {
        while replies < count {
            try wait(for: Int16(POLLIN), deadline: deadline, doing: "awaiting reply \(replies + 1) of \(count)")
            try readAvailable()
        }
    }

    private func wait(for events: Int16, deadline: UInt64, doing what: String) throws(BenchmarkError) {
        let now = monotonicNanoseconds()
        guard now < deadline else { throw .timedOut(what) }
        do {
            _ = try Sockets.waitUntil(fd, events: events, timeoutNanoseconds: min(deadline - now, 100_000_000))
        } catch {
            throw .system(error)
        }
    }

    /// Reads what is there and counts the complete replies in it.
    private func readAvailable() throws(BenchmarkError) {
        var chunk = [UInt8](repeating: 0, count: Self.readChunkBytes)
        // withUnsafeMutableBytes rethrows untyped errors; a Result carries the typed one through.
        let read = chunk.withUnsafeMutableBytes { buffer in
            Result { () throws(SystemError) in try fd.read(into: buffer) }
        }
        let count: Int?
        do {
            count = try read.get()
        } catch {
            throw .system(error)
        }
        guard let count else { return }
        guard count > 0 else { throw .unexpectedReply("the server closed the connection") }
        input.append(contentsOf: chunk[..<count])
        var start = 0
        scanning: while true {
            let scan = input.withUnsafeBytes { RESPReplyScanner.scan($0, from: start) }
            switch scan {
            case .complete(let reply):
                if reply.isError {
                    errors += 1
                    if firstError == nil { firstError = String(decoding: input[start..<start + reply.length], as: UTF8.self) }
                }
                replies += 1
                start += reply.length
            case .incomplete:
                break scanning
            case .malformed:
                throw .unexpectedReply("not RESP at reply \(replies + 1)")
            }
        }
        input.removeFirst(start)
    }
}
