@testable import LockstepClient
import Posix
import Testing

@Suite("what session replies and node answers mean")
struct SessionReplyTests {
    @Test("a command's own errors are replies; the session and refusal codes are not")
    func classification() {
        #expect(SessionReply(.integer(3)) == .reply)
        #expect(SessionReply(.error("ERR value is not an integer or out of range")) == .reply)
        #expect(SessionReply(.error("WRONGTYPE Operation against a key holding the wrong kind of value")) == .reply)
        #expect(SessionReply(.error("NOSESSION unknown session 7")) == .noSession)
        #expect(SessionReply(.error("SESSIONSTALE request 3 is older than the window")) == .numberStale)
        #expect(SessionReply(.error("SESSIONGAP expected 4, got 6")) == .numberGap)
        #expect(SessionReply(.error("NOAUTH Authentication required.")) == .authenticationFailed)
        #expect(SessionReply(.error("LOADING the node is loading")) == .refusal(primary: nil))
        #expect(SessionReply(.error("MISCONF Errors writing to the durable log: EIO")) == .refusal(primary: nil))
    }

    @Test("READONLY and TRYAGAIN name the primary in the server's words")
    func namedPrimary() {
        let readOnly = RESPReply.error("READONLY You can't write against a backup; the primary is at 127.0.0.1:7001")
        #expect(SessionReply(readOnly) == .refusal(primary: .loopback(port: 7001)))
        let unknown = RESPReply.error("READONLY You can't write against a backup; the primary is unknown")
        #expect(SessionReply(unknown) == .refusal(primary: nil))
        let stopped = RESPReply.error("TRYAGAIN the node stopped; the command was not executed; the primary is at 10.0.0.5:7000")
        #expect(SessionReply(stopped) == .refusal(primary: SocketAddress(ipv4: 0x0A00_0005, port: 7000)))
    }

    @Test("ROLE says master only on the serving node; Sentinel's answer is an address or nothing")
    func discoveryAnswers() {
        let master = RESPReply.array([.bulkString(Array("master".utf8)), .integer(5), .array([])])
        let slave = RESPReply.array([.bulkString(Array("slave".utf8)), .bulkString(Array("127.0.0.1".utf8))])
        #expect(SessionReply.isPrimaryRole(master))
        #expect(!SessionReply.isPrimaryRole(slave))
        #expect(!SessionReply.isPrimaryRole(.error("NOAUTH Authentication required.")))
        let address = RESPReply.array([.bulkString(Array("127.0.0.1".utf8)), .bulkString(Array("7002".utf8))])
        #expect(SessionReply.sentinelPrimary(address) == .loopback(port: 7002))
        #expect(SessionReply.sentinelPrimary(.array(nil)) == nil)
        #expect(SessionReply.sentinelPrimary(.error("ERR No such master with that name")) == nil)
    }
}

@Suite("command encoding")
struct RESPCommandTests {
    @Test("a request leaves as SESSION EXEC with its session and number before the command")
    func sessionExecution() throws {
        let command = try RESPCommand([Array("INCR".utf8), Array("counter".utf8)], bytesLimit: 1 << 20)
        var bytes: [UInt8] = []
        command.sessionExecution(session: 42, number: 7, into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self)
            == "*6\r\n$7\r\nSESSION\r\n$4\r\nEXEC\r\n$2\r\n42\r\n$1\r\n7\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n")
    }

    @Test("binary arguments travel unchanged")
    func binaryArguments() throws {
        let value: [UInt8] = [0, 13, 10, 255, 36]
        let command = try RESPCommand([Array("SET".utf8), Array("k".utf8), value], bytesLimit: 1 << 20)
        var bytes: [UInt8] = []
        command.sessionExecution(session: 1, number: 1, into: &bytes)
        var decoder = RESPReplyDecoder(replyBytesLimit: 1 << 20)
        decoder.append(bytes)
        let decoded = try decoder.next()
        #expect(decoded == .array(["SESSION", "EXEC", "1", "1", "SET", "k"].map { .bulkString(Array($0.utf8)) }
            + [.bulkString(value)]))
    }

    @Test("commands a session cannot carry are refused before they are queued")
    func refusals() {
        #expect(throws: LockstepClientError.commandRefused(.empty)) { try RESPCommand([], bytesLimit: 100) }
        #expect(throws: LockstepClientError.commandRefused(.notAllowedInSession("MULTI"))) {
            try RESPCommand([Array("multi".utf8)], bytesLimit: 100)
        }
        #expect(throws: LockstepClientError.commandRefused(.tooLarge(bytes: 217, limit: 100))) {
            try RESPCommand([Array("SET".utf8), Array("k".utf8), [UInt8](repeating: 1, count: 165)], bytesLimit: 100)
        }
    }
}
