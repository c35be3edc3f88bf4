/// The bytes of `SESSION EXEC <id> <number> <command...>`, assembled from parts encoded before the run.
///
/// The load generator must cost far less CPU than the server it measures (IO-FINDINGS, benchmark hygiene), so only
/// the request number is formatted per request, into a few bytes on the stack. The rest is encoded once: `prefix`
/// (the array header, `SESSION`, `EXEC` and the session id) per connection, the command's own elements per key
/// (`Workload.encodedOperation`).
struct SessionRequestEncoder {
    /// Elements `SESSION EXEC id number` put in front of the command's own.
    static let sessionElements = 4
    /// Room for the number's bulk string: `$`, two length digits, CRLF, at most 20 digits, CRLF.
    static let numberFieldBytesLimit = 32

    /// `*N`, `SESSION`, `EXEC` and the session id, encoded.
    let prefix: [UInt8]

    /// The encoder of session `sessionID` (as `SESSION OPEN` answered it) for a command of `commandElements`
    /// elements, its name included.
    init(sessionID: Int64, commandElements: Int) {
        precondition(sessionID > 0, "session ids are positive")
        precondition(commandElements > 0, "a command has at least its name")
        let header = Array("*\(commandElements + Self.sessionElements)\r\n".utf8)
        prefix = header + Workload.elements(["SESSION", "EXEC", String(sessionID)])
    }

    /// Appends request `number` of the session, whose command's elements are `command`, to `output`.
    func append(number: UInt64, command: UnsafeRawBufferPointer, to output: OutputQueue) {
        output.append(prefix)
        withUnsafeTemporaryAllocation(byteCount: Self.numberFieldBytesLimit, alignment: 1) { buffer in
            let count = Self.writeNumberField(number, into: buffer)
            output.append(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
        }
        output.append(command)
    }

    /// Writes `$<digit count>\r\n<number>\r\n` at the start of `buffer` and returns how many bytes it wrote.
    static func writeNumberField(_ number: UInt64, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        precondition(buffer.count >= numberFieldBytesLimit, "the number field needs \(numberFieldBytesLimit) bytes")
        var digits = 1
        var rest = number / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        let zero = UInt8(ascii: "0")
        buffer[0] = UInt8(ascii: "$")
        var position = 1
        if digits >= 10 {
            buffer[position] = zero + UInt8(digits / 10)
            position += 1
        }
        buffer[position] = zero + UInt8(digits % 10)
        buffer[position + 1] = 13
        buffer[position + 2] = 10
        position += 3
        var value = number
        for index in stride(from: position + digits - 1, through: position, by: -1) {
            buffer[index] = zero + UInt8(value % 10)
            value /= 10
        }
        position += digits
        buffer[position] = 13
        buffer[position + 1] = 10
        return position + 2
    }
}
