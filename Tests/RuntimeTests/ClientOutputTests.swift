import Posix
import Testing

@testable import Runtime

@Suite("a connection's output buffer")
struct ClientOutputTests {
    @Test("replies written whole leave at most a few kilobytes behind, and a partial write keeps what is unwritten")
    func writtenBytesDropped() throws {
        // Given a connection (its socket a pipe nobody reads: only the buffer is under test)
        let loop = try EventLoop()
        let pipe = try FileDescriptor.pipe()
        defer { try? pipe.write.close() }
        let registration = try loop.register(pipe.read, interest: .readable) { _ in }
        let connection = ClientConnection(
            index: 0, id: 1, registration: registration, session: 0, pendingRepliesLimit: 16)
        let reply: [UInt8] = Array("+OK\r\n".utf8)
        // When many short replies are each written whole
        for _ in 0..<2_000 {
            connection.output.append(contentsOf: reply)
            connection.markWritten(reply.count)
            #expect(connection.unwrittenOutputBytes == 0)
            #expect(connection.output.count < ClientConnection<Int>.keptWrittenBytes + reply.count)
        }
        // Then a reply written in part keeps its unwritten bytes, in order
        connection.output.append(contentsOf: Array("$5\r\nhello\r\n".utf8))
        connection.markWritten(4)
        #expect(Array(connection.output[connection.outputOffset...]) == Array("hello\r\n".utf8))
    }
}
