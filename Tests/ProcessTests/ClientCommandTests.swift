import Glibc
@testable import LockstepCLI
import LockstepClient
import Posix
import Testing

extension ProcessTests {
    /// `lockstep client`: commands through the client library, one-shot or typed, printed as redis-cli prints them.
    @Suite struct ClientCommandLine {
        @Test("typed lines split into words as redis-cli splits them")
        func wordSplitting() throws {
            #expect(try CommandLineWords.split(#"SET k "a b""#) == ["SET", "k", "a b"])
            #expect(try CommandLineWords.split(#"  SET  'it\'s'  "tab\there\x41\"" "#) == ["SET", "it's", "tab\there" + "A\""])
            #expect(try CommandLineWords.split("") == [])
            #expect(throws: CommandLineWords.SyntaxError.self) { try CommandLineWords.split(#"SET k "open"#) }
            #expect(throws: CommandLineWords.SyntaxError.self) { try CommandLineWords.split(#"SET "a"b"#) }
        }

        @Test("replies print quoted and numbered on a terminal, raw into a pipe")
        func replyFormatting() {
            let nested = RESPReply.array([.bulkString(Array("a\n".utf8)), .array([.integer(1), .bulkString(nil)])])
            #expect(ReplyText.format(nested, isTerminal: true) == "1) \"a\\n\"\n2) 1) (integer) 1\n   2) (nil)")
            #expect(ReplyText.format(nested, isTerminal: false) == "a\n\n1\n")
            #expect(ReplyText.format(.array([]), isTerminal: true) == "(empty array)")
            #expect(ReplyText.format(.error("ERR no"), isTerminal: true) == "(error) ERR no")
            #expect(ReplyText.quoted([0, 0x22, 0xFF]) == #""\x00\"\xff""#)
        }

        @Test("one-shot commands reach the primary from either address and after a kill -9 of it; typed lines too")
        func againstAPair() async throws {
            let pair = try await RunningPair.start("client-command")
            defer { pair.stop(); pair.removeDirectory() }
            let lockstep = try Harness.lockstepPath()
            let addresses = pair.clients.map(\.description)
            let first = try Harness.run(lockstep, ["client"] + addresses + ["--", "INCR", "n"])
            #expect(first.status == .exited(code: 0) && first.standardOutput == "1\n", "\(first)")
            let reversed = try Harness.run(lockstep, ["client"] + addresses.reversed() + ["--", "INCR", "n"])
            #expect(reversed.standardOutput == "2\n", "the backup's address first: the client finds the primary")

            let (primary, _) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            kill(try pair.nodePID(primary), SIGKILL)
            let afterKill = try Harness.run(lockstep, ["client"] + addresses + ["--", "INCR", "n"])
            #expect(afterKill.standardOutput == "3\n", "\(afterKill)\n\(pair.logTail())")

            let wrong = try Harness.run(lockstep, ["client"] + addresses + ["--", "GET"])
            #expect(wrong.status == .exited(code: 1))
            #expect(wrong.standardOutput.hasPrefix("ERR wrong number of arguments for 'get' command"))
            let refused = try Harness.run(lockstep, ["client"] + addresses + ["--", "MULTI"])
            #expect(refused.status == .exited(code: 1) && refused.standardError.contains("MULTI cannot run inside a session"))

            let script = #"printf 'SET k "a b"\nGET k\nINCR n\n' | "# + lockstep + " client " + addresses.joined(separator: " ")
            let typed = try Harness.run("/bin/bash", ["-c", script])
            #expect(typed.status == .exited(code: 0) && typed.standardOutput == "OK\na b\n4\n", "\(typed)")
        }
    }
}
