import Testing
@testable import KeyValue
import Replication

/// WAIT and the scripting commands: answered by the node itself, never logged.
@Suite("WAIT and scripting")
struct UnreplicatedCommandTests {
    static let protected = NodeStatus(role: .primary, nodeName: "a", epoch: 2, peerState: .connected)
    static let syncing = NodeStatus(role: .primary, nodeName: "a", epoch: 2, peerState: .sync)
    static let solo = NodeStatus(role: .solo, nodeName: "a", epoch: 3)
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 2, peerState: .connected, peerClientAddress: "10.0.0.1:7000")

    /// The reply to a request the node must answer itself; a request that would be logged fails the test.
    static func local(_ arguments: [String], _ status: NodeStatus) -> String {
        let request = KeyValueFrontend.route(arguments.map(bytes), status: status, digest: { 0 })
        guard case .local(let reply) = request else {
            Issue.record("\(arguments) was not answered locally: \(request)")
            return ""
        }
        return text(reply)
    }

    @Test("WAIT counts the backup that protects this primary, at once: every reply already waited for its ack")
    func waitCountsTheProtectingBackup() {
        #expect(Self.local(["WAIT", "1", "0"], Self.protected) == ":1\r\n")
        #expect(Self.local(["wait", "5", "100"], Self.protected) == ":1\r\n")
        // A backup still installing its checkpoint holds nothing yet; a solo primary has none.
        #expect(Self.local(["WAIT", "1", "0"], Self.syncing) == ":0\r\n")
        #expect(Self.local(["WAIT", "0", "0"], Self.solo) == ":0\r\n")
    }

    @Test("WAIT's errors are Redis's: on a backup, a bad count, a bad or negative timeout, the wrong arity")
    func waitErrors() {
        #expect(Self.local(["WAIT", "1", "0"], Self.backup).hasPrefix("-ERR WAIT cannot be used with replica instances."))
        #expect(Self.local(["WAIT", "one", "0"], Self.protected) == "-ERR value is not an integer or out of range\r\n")
        #expect(Self.local(["WAIT", "1", "soon"], Self.protected) == "-ERR timeout is not an integer or out of range\r\n")
        #expect(Self.local(["WAIT", "1", "-1"], Self.protected) == "-ERR timeout is negative\r\n")
        #expect(Self.local(["WAIT", "1"], Self.protected) == "-ERR wrong number of arguments for 'wait' command\r\n")
    }

    @Test("EVAL, EVALSHA, FCALL, SCRIPT, FUNCTION and the read-only forms are refused by name, on every role")
    func scriptingIsRefusedByName() {
        let requests: [(arguments: [String], name: String)] = [
            (["EVAL", "return 1", "0"], "EVAL"), (["evalsha", "abc", "0"], "EVALSHA"),
            (["EVAL_RO", "return 1", "0"], "EVAL_RO"), (["EVALSHA_RO", "abc", "0"], "EVALSHA_RO"),
            (["FCALL", "f", "0"], "FCALL"), (["FCALL_RO", "f", "0"], "FCALL_RO"),
            (["SCRIPT", "LOAD", "return 1"], "SCRIPT"), (["FUNCTION", "LOAD", "#!lua name=l"], "FUNCTION"),
            (["FUNCTION", "DELETE", "l"], "FUNCTION"), (["FUNCTION", "DUMP"], "FUNCTION"),
        ]
        for (arguments, name) in requests {
            for status in [Self.protected, Self.backup] {
                #expect(Self.local(arguments, status) == "-ERR \(name) is not supported: Lockstep runs no scripts or "
                    + "functions; send the commands themselves (each one is atomic)\r\n")
            }
        }
        #expect(Self.local(["EVAL", "return 1"], Self.protected)
            == "-ERR wrong number of arguments for 'eval' command\r\n")
    }

    @Test("FUNCTION FLUSH, LIST, STATS, KILL and SCRIPT FLUSH, EXISTS, KILL answer as Redis does with nothing loaded")
    func emptyLibraryIsAnswered() {
        for status in [Self.protected, Self.backup] {
            #expect(Self.local(["FUNCTION", "FLUSH"], status) == "+OK\r\n")
            #expect(Self.local(["function", "flush", "async"], status) == "+OK\r\n")
            #expect(Self.local(["SCRIPT", "FLUSH", "SYNC"], status) == "+OK\r\n")
            #expect(Self.local(["FUNCTION", "LIST"], status) == "*0\r\n")
            #expect(Self.local(["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "l*"], status) == "*0\r\n")
            #expect(Self.local(["SCRIPT", "EXISTS", "abc", "def"], status) == "*2\r\n:0\r\n:0\r\n")
            #expect(Self.local(["FUNCTION", "KILL"], status) == "-NOTBUSY No scripts in execution right now.\r\n")
            #expect(Self.local(["SCRIPT", "KILL"], status) == "-NOTBUSY No scripts in execution right now.\r\n")
            #expect(Self.local(["FUNCTION", "STATS"], status)
                == "*4\r\n$14\r\nrunning_script\r\n$-1\r\n$7\r\nengines\r\n*0\r\n")
        }
        #expect(Self.local(["FUNCTION", "FLUSH", "later"], Self.protected)
            == "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n")
        #expect(Self.local(["SCRIPT", "FLUSH", "later"], Self.protected)
            == "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n")
        #expect(Self.local(["FUNCTION", "LIST", "LIBRARYNAME"], Self.protected)
            == "-ERR library name argument was not given\r\n")
        #expect(Self.local(["FUNCTION", "LIST", "VERBOSE"], Self.protected) == "-ERR Unknown argument VERBOSE\r\n")

        var connection = ClientConnection(id: 1)
        connection.protocolVersion = 3
        let stats = KeyValueFrontend.route(
            CommandArguments(encoding: [bytes("FUNCTION"), bytes("STATS")]), status: Self.protected, digest: { 0 },
            connection: &connection, service: SentinelService())
        #expect(stats == .local(reply: bytes("%2\r\n$14\r\nrunning_script\r\n_\r\n$7\r\nengines\r\n%0\r\n")))
    }
}
