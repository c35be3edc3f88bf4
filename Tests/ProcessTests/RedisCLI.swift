import Posix
import Testing

/// `redis-cli` run as a user would, one command per process, with its output as text.
///
/// With stdout not a terminal redis-cli prints replies raw: `OK`, the value, an integer, one element per line,
/// an error as its message (e.g. `READONLY ...`).
struct RedisCLI {
    let path: String
    let address: SocketAddress

    init(_ address: SocketAddress) throws {
        path = try Harness.redisTool("redis-cli")
        self.address = address
    }

    /// The output, without its final newline, of `redis-cli -h HOST -p PORT ARGUMENTS...`.
    func callAsFunction(_ arguments: String...) throws -> String {
        let output = try Harness.run(
            path, ["-h", address.host, "-p", String(address.port)] + arguments, timeout: .seconds(10))
        guard output.status == .exited(code: 0) else {
            let command = arguments.joined(separator: " ")
            throw HarnessError("redis-cli \(command) \(output.status): \(output.standardError)")
        }
        var text = output.standardOutput
        if text.hasSuffix("\n") { text.removeLast() }  // one: a nil in MGET's output is an empty line
        return text
    }
}
