import Testing
@testable import KeyValue
import Replication

/// Pub/Sub on the client port, as a Sentinel client uses it: subscribing, Redis's subscribed-mode rules, and the
/// `+switch-master` notice a role change brings.
@Suite("subscriptions and +switch-master")
struct SubscribedModeTests {
    static let backupOfA = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, peerState: .connected, peerClientAddress: "10.0.0.1:7000",
        clientAddress: "10.0.0.2:7001")
    static let soloB = NodeStatus(role: .solo, nodeName: "b", epoch: 4, clientAddress: "10.0.0.2:7001")
    static let primaryB = NodeStatus(
        role: .primary, nodeName: "b", epoch: 4, peerState: .connected, peerClientAddress: "10.0.0.1:7000",
        clientAddress: "10.0.0.2:7001")
    static let joiningA = NodeStatus(role: .joining, nodeName: "a", clientAddress: "10.0.0.1:7000")

    /// One connection's session, fed whole requests.
    struct Connection {
        let wire: KeyValueClientProtocol
        var session: KeyValueClientProtocol.Session
        var status = SubscribedModeTests.backupOfA

        init(password: String? = nil) {
            wire = KeyValueClientProtocol(
                requiredPassword: password.flatMap { ClientPassword(Array($0.utf8)) },
                service: SentinelService(name: "lockstep"))
            session = wire.makeSession(clientID: 1)
        }

        /// The request as the runtime gets it.
        mutating func request(_ arguments: String...) -> ClientRequest? {
            var request = "*\(arguments.count)\r\n"
            for argument in arguments { request += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            return wire.nextRequest(from: &session, status: status, digest: { 7 })
        }

        /// The decoded replies to one request answered at once, and whether it leaves the connection listening
        /// (nil for a plain local answer).
        mutating func send(_ arguments: String...) -> (replies: [DecodedReply], isListening: Bool?) {
            var request = "*\(arguments.count)\r\n"
            for argument in arguments { request += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
            Array(request.utf8).withUnsafeBytes { wire.append($0, to: &session) }
            switch wire.nextRequest(from: &session, status: status, digest: { 7 }) {
            case .local(let reply)?: return (DecodedReply.all(reply) ?? [], nil)
            case .listen(let reply, let isListening)?: return (DecodedReply.all(reply) ?? [], isListening)
            case let other: return ([.error("not answered locally: \(String(describing: other))")], nil)
            }
        }

        func notice(from old: NodeStatus, to new: NodeStatus) -> [DecodedReply]? {
            wire.roleChangeNotice(from: old, to: new, session: session).map { DecodedReply.all($0) ?? [] }
        }
    }

    static func confirmation(_ kind: String, _ name: String?, _ count: Int64) -> DecodedReply {
        .array([.bulk(kind), .bulk(name), .integer(count)])
    }

    @Test("SUBSCRIBE confirms each channel with the count, and makes the connection a listener")
    func subscribeConfirms() {
        var client = Connection()
        let subscribed = client.send("SUBSCRIBE", "+switch-master", "+sdown", "+switch-master")
        #expect(subscribed.isListening == true)
        #expect(
            subscribed.replies == [
                Self.confirmation("subscribe", "+switch-master", 1), Self.confirmation("subscribe", "+sdown", 2),
                Self.confirmation("subscribe", "+switch-master", 2),
            ])
        #expect(client.send("PSUBSCRIBE", "*").replies == [Self.confirmation("psubscribe", "*", 3)])
    }

    @Test("while subscribed, only the subscription commands, PING, QUIT and RESET run, with Redis's errors")
    func subscribedModeRules() {
        var client = Connection()
        _ = client.send("SUBSCRIBE", "+switch-master")
        let only = "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        #expect(client.send("GET", "k").replies == [.error("ERR Can't execute 'get': \(only)")])
        #expect(client.send("SET", "k", "v").replies == [.error("ERR Can't execute 'set': \(only)")])
        #expect(
            client.send("SENTINEL", "masters").replies == [.error("ERR Can't execute 'sentinel|masters': \(only)")])
        #expect(client.send("INFO").replies == [.error("ERR Can't execute 'info': \(only)")])
        #expect(client.send("COMMAND").replies == [.error("ERR Can't execute 'command': \(only)")])
        #expect(client.send("CONFIG", "GET", "save").replies == [.error("ERR Can't execute 'config|get': \(only)")])
        // Unknown commands and wrong arities keep their own errors, which Redis checks first.
        #expect(client.send("NOPE").replies == [.error("ERR unknown command 'NOPE', with args beginning with: ")])
        #expect(client.send("GET").replies == [.error("ERR wrong number of arguments for 'get' command")])
        #expect(client.send("PING").replies == [.array([.bulk("pong"), .bulk("")])])
        #expect(client.send("PING", "hi").replies == [.array([.bulk("pong"), .bulk("hi")])])
        guard case .quit? = client.request("QUIT") else {
            Issue.record("QUIT did not close a subscribed connection")
            return
        }
    }

    @Test("UNSUBSCRIBE names what it drops; with nothing left the connection leaves subscribed mode")
    func unsubscribe() {
        var client = Connection()
        _ = client.send("SUBSCRIBE", "a", "b")
        #expect(client.send("UNSUBSCRIBE", "b").replies == [Self.confirmation("unsubscribe", "b", 1)])
        #expect(client.send("UNSUBSCRIBE", "zzz").replies == [Self.confirmation("unsubscribe", "zzz", 1)])
        let all = client.send("UNSUBSCRIBE")
        #expect(all.replies == [Self.confirmation("unsubscribe", "a", 0)])
        #expect(all.isListening == false)
        #expect(client.send("UNSUBSCRIBE").replies == [Self.confirmation("unsubscribe", nil, 0)])
        #expect(client.send("PUNSUBSCRIBE").replies == [Self.confirmation("punsubscribe", nil, 0)])
        #expect(client.send("PING").replies == [.simple("PONG")])
        #expect(client.send("SUBSCRIBE").replies == [.error("ERR wrong number of arguments for 'subscribe' command")])
    }

    @Test("RESET drops every subscription and, with a password set, the authentication")
    func reset() {
        var client = Connection(password: "secret")
        #expect(client.send("RESET").replies == [.simple("RESET")])  // allowed before AUTH, as in Redis
        #expect(client.send("AUTH", "secret").replies == [.simple("OK")])
        _ = client.send("SUBSCRIBE", "a")
        let reset = client.send("RESET")
        #expect(reset.replies == [.simple("RESET")])
        #expect(reset.isListening == false)
        #expect(client.send("PING").replies == [.error("NOAUTH Authentication required.")])
    }

    @Test("subscriptions are bounded: a SUBSCRIBE past the bound is refused whole and changes nothing")
    func bounded() {
        var client = Connection()
        let names = (0..<Subscriptions.countLimit).map { "c\($0)" }
        var subscribe = "*\(names.count + 1)\r\n$9\r\nSUBSCRIBE\r\n"
        for name in names { subscribe += "$\(name.utf8.count)\r\n\(name)\r\n" }
        Array(subscribe.utf8).withUnsafeBytes { client.wire.append($0, to: &client.session) }
        _ = client.wire.nextRequest(from: &client.session, status: client.status, digest: { 7 })
        guard case .error(let message)? = client.send("SUBSCRIBE", "one-more", "c1").replies.first else {
            Issue.record("a subscription past the bound was accepted")
            return
        }
        #expect(message.hasPrefix("ERR this connection may hold \(Subscriptions.countLimit) channels"))
        #expect(client.send("UNSUBSCRIBE", "one-more").replies == [
            Self.confirmation("unsubscribe", "one-more", Int64(Subscriptions.countLimit))
        ])
    }

    @Test("a takeover tells +switch-master subscribers the old and new master, channel first, then patterns")
    func switchMasterNotice() {
        var client = Connection()
        _ = client.send("SUBSCRIBE", "+switch-master")
        _ = client.send("PSUBSCRIBE", "*", "+switch-*", "+sdown")
        let payload = "lockstep 10.0.0.1 7000 10.0.0.2 7001"
        #expect(
            client.notice(from: Self.backupOfA, to: Self.soloB) == [
                .array([.bulk("message"), .bulk("+switch-master"), .bulk(payload)]),
                .array([.bulk("pmessage"), .bulk("*"), .bulk("+switch-master"), .bulk(payload)]),
                .array([.bulk("pmessage"), .bulk("+switch-*"), .bulk("+switch-master"), .bulk(payload)]),
            ])
    }

    @Test("no notice when the master stays, when either side names nobody, or for other channels")
    func noNotice() {
        var client = Connection()
        #expect(client.notice(from: Self.backupOfA, to: Self.soloB) == nil)  // not subscribed
        _ = client.send("SUBSCRIBE", "+sdown")
        #expect(client.notice(from: Self.backupOfA, to: Self.soloB) == nil)  // another channel
        _ = client.send("SUBSCRIBE", "+switch-master")
        #expect(client.notice(from: Self.soloB, to: Self.primaryB) == nil)  // a backup joined: same master
        #expect(client.notice(from: Self.joiningA, to: Self.backupOfA) == nil)  // no old master to name
        #expect(client.notice(from: Self.backupOfA, to: Self.joiningA) == nil)  // no new master to name
        #expect(client.notice(from: Self.backupOfA, to: Self.soloB) != nil)
    }
}
