import Ledger
import Lockstep
import Testing

/// The line protocol: how bytes become requests, and what each role answers without the log.
@Suite struct LedgerProtocolTests {
    let ledgerProtocol = LedgerProtocol()
    static let primary = NodeStatus(
        role: .primary, nodeName: "a", epoch: 1, peerState: .connected, peerClientAddress: "127.0.0.1:7002",
        clientAddress: "127.0.0.1:7001")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 1, peerState: .connected, peerClientAddress: "127.0.0.1:7001",
        clientAddress: "127.0.0.1:7002")

    /// Feeds `bytes` in pieces of `chunk` bytes and collects every request the protocol cuts out.
    func requests(_ text: String, chunk: Int = .max, status: NodeStatus = primary) -> [ClientRequest] {
        var session = ledgerProtocol.makeSession(clientID: 1)
        var requests: [ClientRequest] = []
        let bytes = Array(text.utf8)
        for start in stride(from: 0, to: bytes.count, by: min(chunk, bytes.count)) {
            bytes[start..<min(start + chunk, bytes.count)].withUnsafeBytes { ledgerProtocol.append($0, to: &session) }
            while let request = ledgerProtocol.nextRequest(from: &session, status: status, digest: { 0xABC }) {
                requests.append(request)
                if case .malformed = request { return requests }
            }
        }
        return requests
    }

    static func local(_ line: String) -> ClientRequest { .local(reply: Array((line + "\n").utf8)) }
    static func replicated(_ line: String) -> ClientRequest { .replicated(Array(line.utf8)) }

    @Test("on the primary a valid command goes into the log as its canonical line")
    func commandIsReplicated() {
        #expect(requests("transfer  alice\tbob 030\r\n") == [Self.replicated("TRANSFER alice bob 30")])
    }

    @Test("pipelined lines come out one by one, however the bytes are split")
    func everyChunking() {
        let text = "OPEN alice\nDEPOSIT alice 100\r\nPING\nBALANCE alice\n"
        let expected = [
            Self.replicated("OPEN alice"), Self.replicated("DEPOSIT alice 100"), Self.local("PONG"),
            Self.replicated("BALANCE alice"),
        ]
        for chunk in 1...text.utf8.count { #expect(requests(text, chunk: chunk) == expected, "chunk \(chunk)") }
    }

    @Test("a backup refuses ledger commands, names the primary, and says nothing was done")
    func backupRefuses() {
        #expect(requests("DEPOSIT alice 5\n", status: Self.backup) == [
            Self.local(
                "REFUSED this node is a backup, not the primary; the primary is at 127.0.0.1:7001; "
                    + "the command was not executed")
        ])
    }

    @Test("PING, ROLE and STATUS are answered by the node itself, on a backup too")
    func localCommands() {
        #expect(requests("PING\nROLE\n", status: Self.backup) == [
            Self.local("PONG"), Self.local("backup epoch=1 peer=127.0.0.1:7001"),
        ])
        guard case .local(let reply) = requests("status\n", status: Self.primary).first else {
            Issue.record("STATUS was not answered locally")
            return
        }
        #expect(String(decoding: reply, as: UTF8.self).hasPrefix("role=primary node=a epoch=1 client=127.0.0.1:7001 "))
    }

    @Test("a joining node has no ledger to digest, and says so rather than digest nothing")
    func digestWithoutState() {
        var session = ledgerProtocol.makeSession(clientID: 1)
        Array("DIGEST\n".utf8).withUnsafeBytes { ledgerProtocol.append($0, to: &session) }
        let joining = NodeStatus(role: .joining, nodeName: "b")
        #expect(ledgerProtocol.nextRequest(from: &session, status: joining, digest: { nil })
            == Self.local("ERR this node holds no ledger yet (joining)"))
    }

    @Test("malformed commands are answered with ERR, are not logged, and keep the connection")
    func malformedCommands() {
        let cases: [(String, String)] = [
            ("FLY alice", "ERR unknown command 'FLY'"),
            ("TRANSFER alice bob", "ERR wrong arguments; usage: TRANSFER from to amount"),
            ("TRANSFER alice alice 5", "ERR a transfer needs two different accounts"),
            ("DEPOSIT alice -5", "ERR amounts are whole numbers from 1 to 1000000000000"),
            ("DEPOSIT alice 0", "ERR amounts are whole numbers from 1 to 1000000000000"),
            ("DEPOSIT al!ce 5", "ERR account names are 1 to 32 letters, digits, '-' or '_'"),
            ("HISTORY alice 101", "ERR history counts are whole numbers from 1 to 100"),
            ("PING extra", "ERR wrong arguments; usage: PING"),
            ("", "ERR empty line; send a command such as PING or BALANCE alice"),
        ]
        for (line, reply) in cases { #expect(requests(line + "\n") == [Self.local(reply)], "\(line)") }
    }

    @Test("a line past the bound closes the connection, whether or not its newline has come")
    func overlongLine() {
        let tooLong = String(repeating: "x", count: LedgerLimits().lineBytesLimit + 1)
        let closing = ClientRequest.malformed(
            reply: Array("ERR line longer than 1024 bytes; closing the connection\n".utf8))
        #expect(requests(tooLong) == [closing])
        #expect(requests(tooLong + "\n") == [closing])
        let longest = String(tooLong.dropLast()) + "\n"
        #expect(requests(longest) == [Self.local("ERR unknown command '\(tooLong.prefix(32))'")])
    }

    @Test("QUIT is answered and then the connection closes")
    func quit() {
        #expect(requests("QUIT\n") == [.quit(reply: Array("BYE\n".utf8))])
    }

    @Test("a stopped node's refusal names the node that took over")
    func stoppedRefusal() {
        var stopped = Self.backup
        stopped.role = .stopped
        stopped.reason = "deposed"
        let reply = ledgerProtocol.rejectionReply(reason: "this node has stopped", status: stopped)
        #expect(String(decoding: reply, as: UTF8.self)
            == "REFUSED this node has stopped; the primary is at 127.0.0.1:7001; the command was not executed\n")
    }
}
