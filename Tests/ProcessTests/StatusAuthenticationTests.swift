import Glibc
@testable import LockstepCLI
import Posix
import Testing

extension ProcessTests {
    /// `lockstep status --requirepass-file` against real nodes: AUTH before INFO, and a node whose password was
    /// not given, or given wrong, listed as such rather than as unreachable.
    @Suite struct StatusAuthentication {
        /// Writes `password` and a line break to a fresh mode-0600 file in `directory`; returns its path.
        static func writePasswordFile(_ password: String, in directory: String, named name: String) throws -> String {
            let path = directory + "/" + name
            let file = try FileDescriptor.open(path, flags: O_WRONLY | O_CREAT | O_TRUNC, permissions: 0o600)
            try Array((password + "\n").utf8).withUnsafeBytes { try file.writeAll($0) }
            try file.close()
            return path
        }

        /// `lockstep status` with `arguments` after the node's address.
        static func status(_ node: SoloNode, _ arguments: [String] = []) throws -> Harness.Output {
            try Harness.run(try Harness.lockstepPath(), ["status", node.client.description] + arguments)
        }

        /// The table's row for `node`, split into its columns (the reason is several words).
        static func row(_ output: Harness.Output, _ node: SoloNode) -> [Substring] {
            output.standardOutput.split(separator: "\n").first { $0.hasPrefix(node.client.description + " ") }?
                .split(separator: " ") ?? []
        }

        @Test("a node with a password: status answers with the right file, noauth without one, wrongpass with another")
        func passwordProtectedNode() async throws {
            let password = "status-\(getpid())"
            let directory = try Harness.temporaryDirectory("status-auth")
            defer { Harness.removeTree(directory) }
            let right = try Self.writePasswordFile(password, in: directory, named: "password")
            let wrong = try Self.writePasswordFile("not-" + password, in: directory, named: "wrong")
            let node = try await SoloNode.start("status-auth", flags: ["--requirepass-file", right], password: password)
            defer {
                node.stop()
                node.remove()
            }

            let answered = try Self.status(node, ["--requirepass-file", right])
            print("lockstep status --requirepass-file (right):\n\(answered.standardOutput)")
            #expect(answered.status == .exited(code: 0), "\(answered.standardOutput)\(answered.standardError)")
            #expect(Self.row(answered, node).dropFirst().prefix(2) == ["a", "solo"], "\(answered.standardOutput)")

            let withoutPassword = try Self.status(node)
            print("lockstep status (no password):\n\(withoutPassword.standardOutput)")
            #expect(withoutPassword.status == .exited(code: 1))
            #expect(Self.row(withoutPassword, node).dropFirst(2).first == "noauth", "\(withoutPassword.standardOutput)")
            #expect(withoutPassword.standardOutput.contains("authentication required"))

            let wrongPassword = try Self.status(node, ["--requirepass-file", wrong])
            print("lockstep status --requirepass-file (wrong):\n\(wrongPassword.standardOutput)")
            #expect(wrongPassword.status == .exited(code: 1))
            #expect(Self.row(wrongPassword, node).dropFirst(2).first == "wrongpass", "\(wrongPassword.standardOutput)")
            #expect(wrongPassword.standardOutput.contains("wrong password"))

            let json = try Self.status(node, ["--json"])
            #expect(json.standardOutput.contains("\"reachable\": true, \"role\": \"noauth\""), "\(json.standardOutput)")
            #expect(!node.log.contains(password), "the password appeared in the node's log")
            for output in [answered, withoutPassword, wrongPassword, json] {
                #expect(!(output.standardOutput + output.standardError).contains(password), "status printed it")
            }
        }

        @Test("a node without a password still answers status given --requirepass-file")
        func nodeWithoutPassword() async throws {
            let node = try await SoloNode.start("status-open")
            defer {
                node.stop()
                node.remove()
            }
            let file = try Self.writePasswordFile("unused", in: node.directory, named: "password")
            let output = try Self.status(node, ["--requirepass-file", file])
            #expect(output.status == .exited(code: 0), "\(output.standardOutput)\(output.standardError)")
            #expect(Self.row(output, node).dropFirst(2).first == "solo", "\(output.standardOutput)")
        }

        @Test("an unreadable or empty password file is a failure before any node is asked")
        func badPasswordFile() throws {
            let directory = try Harness.temporaryDirectory("status-badfile")
            defer { Harness.removeTree(directory) }
            let empty = try Self.writePasswordFile("", in: directory, named: "empty")
            let lockstep = try Harness.lockstepPath()
            for path in [empty, directory + "/missing"] {
                let output = try Harness.run(lockstep, ["status", "127.0.0.1:1", "--requirepass-file", path])
                #expect(output.status == .exited(code: 1), "\(output.standardError)")
                #expect(output.standardOutput.isEmpty, "a node was asked: \(output.standardOutput)")
                #expect(output.standardError.contains("--requirepass-file"), "\(output.standardError)")
            }
        }
    }
}
