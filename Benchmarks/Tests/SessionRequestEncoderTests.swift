import Testing

@testable import BenchmarkKit

@Suite("Session requests")
struct SessionRequestEncoderTests {
    /// What the generator writes for request `number` of session `id` on key `index`, through `append`.
    static func appended(id: Int64, number: UInt64, index: Int) -> [UInt8] {
        let workload = Workload.sessionSet(keyspace: 100, valueBytes: 32)
        let encoder = SessionRequestEncoder(sessionID: id, commandElements: workload.sessionCommandElements)
        let output = OutputQueue()
        workload.encodedOperation(index).withUnsafeBytes { encoder.append(number: number, command: $0, to: output) }
        return output.bytes
    }

    @Test(
        "a session request is SESSION EXEC id number SET key value as one RESP array, at every number width",
        arguments: [1, 9, 10, 99, 100, 12_345, 999_999_999, 1_000_000_000, UInt64(Int64.max), UInt64.max])
    func matchesTheCommandEncoding(number: UInt64) {
        let id = Int64.max - 7
        let expected = Workload.command([
            "SESSION", "EXEC", String(id), String(number), "SET", "key:42", Workload.value(42, bytes: 32),
        ])
        #expect(Self.appended(id: id, number: number, index: 42) == expected)
    }

    @Test("the number field is the number's digits as a bulk string, and nothing else is written")
    func numberField() {
        withUnsafeTemporaryAllocation(byteCount: SessionRequestEncoder.numberFieldBytesLimit, alignment: 1) { buffer in
            buffer.initializeMemory(as: UInt8.self, repeating: 0)
            let count = SessionRequestEncoder.writeNumberField(1_234_567_890_123, into: buffer)
            #expect(Array(buffer[..<count]) == Array("$13\r\n1234567890123\r\n".utf8))
            #expect(buffer[count...].allSatisfy { $0 == 0 })
            #expect(SessionRequestEncoder.writeNumberField(0, into: buffer) == 7)
            #expect(Array(buffer[..<7]) == Array("$1\r\n0\r\n".utf8))
        }
    }

    @Test("a session workload carries only the command's elements; plain workloads stay whole commands")
    func workloadShapes() {
        let session = Workload.sessionSet(keyspace: 10, valueBytes: 8)
        let plain = Workload.set(keyspace: 10, valueBytes: 8)
        #expect(session.isSession && !plain.isSession)
        #expect(plain.encodedOperation(3) == Array("*3\r\n".utf8) + session.encodedOperation(3))
    }
}
