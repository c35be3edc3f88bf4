@testable import LockstepClient
import Posix
import Synchronization

/// A single-node stand-in for a Lockstep primary's session commands, in process, with one fault: it can drop a
/// connection right after applying a request and before answering it (what a primary's death looks like to a
/// client whose request the backup already has). Only INCR, APPEND and GET; enough to check the client's resend
/// rule without processes.
final class FakeSessionServer: @unchecked Sendable {  // unchecked: state below is touched on the loop thread only
    let loop: EventLoop
    let address: SocketAddress
    private var thread: PosixThread?
    /// Drop the connection after applying every `dropEvery`-th request, before its reply (0: never).
    let dropEvery: Int
    private var strings: [String: [UInt8]] = [:]
    private var sessions: [Int64: (applied: UInt64, replies: [UInt64: RESPReply])] = [:]
    private var lastSession: Int64 = 0
    private var executions = 0
    let drops = Atomic<Int>(0)
    let applied = Atomic<Int>(0)

    init(dropEvery: Int) throws {
        self.dropEvery = dropEvery
        loop = try EventLoop()
        let listener = try TCP.listen(on: .loopback(port: 0))
        address = try TCP.localAddress(of: listener)
        _ = try loop.register(listener, interest: .readable) { [unowned self] _ in
            while let connection = try? TCP.accept(from: listener) { serve(connection) }  // errors: try again next round
        }
        thread = try loop.runOnNewThread()
    }

    func stop() {
        loop.stop()
        thread?.join()
        loop.shutdown()
    }

    private func serve(_ descriptor: FileDescriptor) {
        var decoder = RESPReplyDecoder(replyBytesLimit: 1 << 20)
        var registration: EventLoop.Registration?
        var chunk = [UInt8](repeating: 0, count: 4_096)
        registration = try? loop.register(descriptor, interest: .readable) { [unowned self] _ in
            guard let registration else { return }
            let result = chunk.withUnsafeMutableBytes { raw in
                Result { () throws(SystemError) in try descriptor.read(into: raw) }
            }
            guard case .success(let read) = result, read != 0 else { return loop.close(registration) }
            guard let count = read else { return }  // nothing to read yet
            decoder.append(chunk[..<count])
            var out: [UInt8] = []
            // The client under test sends only well-formed requests; anything else ends the batch.
            while case .array(let words?)? = try? decoder.next() {
                guard let reply = answer(words.map { $0.text ?? "" }) else {
                    drops.add(1, ordering: .relaxed)
                    _ = out.withUnsafeBytes { try? descriptor.send($0) }
                    return loop.close(registration)
                }
                Self.encode(reply, into: &out)
            }
            _ = out.withUnsafeBytes { try? descriptor.send($0) }  // loopback, small replies: the buffer takes them
        }
    }

    /// The reply to one request, or nil to drop the connection instead of replying.
    private func answer(_ words: [String]) -> RESPReply? {
        switch words.first?.uppercased() {
        case "ROLE": return .array([.bulkString(Array("master".utf8)), .integer(0), .array([])])
        case "SENTINEL": return .array(nil)
        case "SESSION" where words.count >= 2 && words[1] == "OPEN":
            lastSession += 1
            sessions[lastSession] = (0, [:])
            return .integer(lastSession)
        case "SESSION" where words.count >= 2 && words[1] == "CLOSE":
            return .simpleString("OK")
        case "SESSION" where words.count >= 5 && words[1] == "EXEC":
            guard let id = Int64(words[2]), let number = UInt64(words[3]), var session = sessions[id] else {
                return .error("NOSESSION unknown session")
            }
            if number <= session.applied { return session.replies[number] ?? .error("SESSIONSTALE too old") }
            guard number == session.applied + 1 else { return .error("SESSIONGAP expected \(session.applied + 1)") }
            let reply = apply(Array(words[4...]))
            session.applied = number
            session.replies[number] = reply
            session.replies[number - min(number, 64)] = nil
            sessions[id] = session
            executions += 1
            if dropEvery > 0, executions % dropEvery == 0 { return nil }
            return reply
        default:
            return .error("ERR unknown command")
        }
    }

    private func apply(_ command: [String]) -> RESPReply {
        applied.add(1, ordering: .relaxed)
        let key = command.count > 1 ? command[1] : ""
        switch command[0].uppercased() {
        case "INCR":
            let value = (Int(String(decoding: strings[key] ?? Array("0".utf8), as: UTF8.self)) ?? 0) + 1
            strings[key] = Array(String(value).utf8)
            return .integer(Int64(value))
        case "APPEND":
            strings[key, default: []] += Array(command[2].utf8)
            return .integer(Int64(strings[key]!.count))
        case "GET":
            return .bulkString(strings[key])
        default:
            return .error("ERR unknown command '\(command[0])'")
        }
    }

    static func encode(_ reply: RESPReply, into bytes: inout [UInt8]) {
        switch reply {
        case .simpleString(let text): bytes += Array("+\(text)\r\n".utf8)
        case .error(let text): bytes += Array("-\(text)\r\n".utf8)
        case .integer(let value): bytes += Array(":\(value)\r\n".utf8)
        case .bulkString(nil): bytes += Array("$-1\r\n".utf8)
        case .bulkString(let value?): bytes += Array("$\(value.count)\r\n".utf8) + value + [13, 10]
        case .array(nil): bytes += Array("*-1\r\n".utf8)
        case .array(let elements?):
            bytes += Array("*\(elements.count)\r\n".utf8)
            for element in elements { encode(element, into: &bytes) }
        }
    }
}
