import Testing
@testable import KeyValue
import Replication

/// SENTINEL on the client port: each node answers for the service from its own view, in Redis Sentinel's shapes.
@Suite("SENTINEL commands")
struct SentinelCommandTests {
    static let service = SentinelService(name: "orders", downAfterMilliseconds: 300)
    static let primary = NodeStatus(
        role: .primary, nodeName: "a", epoch: 3, logSequence: 120, ackedSequence: 118, peerState: .connected,
        peerClientAddress: "10.0.0.2:7001", clientAddress: "10.0.0.1:7000")
    static let solo = NodeStatus(role: .solo, nodeName: "a", epoch: 4, clientAddress: "10.0.0.1:7000")
    static let backup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, logSequence: 120, ackedSequence: 120, peerState: .connected,
        peerClientAddress: "10.0.0.1:7000", clientAddress: "10.0.0.2:7001")
    static let syncingBackup = NodeStatus(
        role: .backup, nodeName: "b", epoch: 3, peerState: .sync, peerClientAddress: "10.0.0.1:7000",
        clientAddress: "10.0.0.2:7001")
    static let lostBackup = NodeStatus(role: .backup, nodeName: "b", epoch: 3, clientAddress: "10.0.0.2:7001")
    static let joining = NodeStatus(
        role: .joining, nodeName: "b", epoch: 3, peerState: .connecting, peerClientAddress: "10.0.0.1:7000",
        clientAddress: "10.0.0.2:7001")
    static let stopped = NodeStatus(
        role: .stopped, nodeName: "a", epoch: 3, peerClientAddress: "10.0.0.2:7001", clientAddress: "10.0.0.1:7000")

    /// Redis 7.0's field names, in its order, for a master a Sentinel sees up (captured from `redis-server
    /// --sentinel`; `addReplySentinelRedisInstance`).
    static let masterFieldNames = [
        "name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount", "last-ping-sent",
        "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds", "info-refresh", "role-reported",
        "role-reported-time", "config-epoch", "num-slaves", "num-other-sentinels", "quorum", "failover-timeout",
        "parallel-syncs",
    ]
    static let replicaFieldNames = [
        "name", "ip", "port", "runid", "flags", "link-pending-commands", "link-refcount", "last-ping-sent",
        "last-ok-ping-reply", "last-ping-reply", "down-after-milliseconds", "info-refresh", "role-reported",
        "role-reported-time", "master-link-down-time", "master-link-status", "master-host", "master-port",
        "slave-priority", "slave-repl-offset", "replica-announced",
    ]

    static func sentinel(_ words: String..., status: NodeStatus) -> DecodedReply? {
        guard case .local(let reply) = KeyValueFrontend.route(
            (["SENTINEL"] + words).map(bytes), status: status, digest: { 0 }, service: service)
        else { return nil }
        return DecodedReply.one(reply)
    }

    static func masterAddress(_ status: NodeStatus) -> DecodedReply? {
        sentinel("get-master-addr-by-name", "orders", status: status)
    }

    @Test("a primary and a solo node name themselves as the service's master")
    func servingNodeNamesItself() throws {
        for status in [Self.primary, Self.solo] {
            #expect(Self.masterAddress(status) == .array([.bulk("10.0.0.1"), .bulk("7000")]))
            let masters = try #require(Self.sentinel("masters", status: status))
            #expect(masters.elements.count == 1)
            let master = masters.elements[0]
            #expect(master.fields.map(\.name) == Self.masterFieldNames)
            #expect(master[field: "name"] == "orders")
            #expect(master[field: "ip"] == "10.0.0.1")
            #expect(master[field: "port"] == "7000")
            #expect(master[field: "flags"] == "master")
            #expect(master[field: "config-epoch"] == String(status.epoch))
            #expect(master[field: "down-after-milliseconds"] == "300")
            #expect(Self.sentinel("master", "orders", status: status) == master)
        }
    }

    @Test("a primary lists its backup as the replica and the other sentinel; solo lists neither")
    func primaryListsItsBackup() throws {
        let master = try #require(Self.sentinel("master", "orders", status: Self.primary))
        #expect(master[field: "num-slaves"] == "1")
        #expect(master[field: "num-other-sentinels"] == "1")
        let replicas = try #require(Self.sentinel("replicas", "orders", status: Self.primary))
        #expect(Self.sentinel("slaves", "orders", status: Self.primary) == replicas)
        #expect(replicas.elements.count == 1)
        let replica = replicas.elements[0]
        #expect(replica.fields.map(\.name) == Self.replicaFieldNames)
        #expect(replica[field: "name"] == "10.0.0.2:7001")
        #expect(replica[field: "ip"] == "10.0.0.2")
        #expect(replica[field: "port"] == "7001")
        #expect(replica[field: "flags"] == "slave")
        #expect(replica[field: "master-link-status"] == "ok")
        #expect(replica[field: "master-host"] == "10.0.0.1")
        #expect(replica[field: "master-port"] == "7000")
        #expect(replica[field: "slave-repl-offset"] == "118")
        let sentinels = try #require(Self.sentinel("sentinels", "orders", status: Self.primary))
        #expect(sentinels.elements.count == 1)
        #expect(sentinels.elements.first?[field: "ip"] == "10.0.0.2")
        #expect(sentinels.elements.first?[field: "port"] == "7001")
        #expect(sentinels.elements.first?[field: "flags"] == "sentinel")

        let solo = try #require(Self.sentinel("master", "orders", status: Self.solo))
        #expect(solo[field: "num-slaves"] == "0")
        #expect(solo[field: "num-other-sentinels"] == "0")
        #expect(Self.sentinel("replicas", "orders", status: Self.solo) == .array([]))
        #expect(Self.sentinel("sentinels", "orders", status: Self.solo) == .array([]))
    }

    @Test("a backup names its primary, and lists itself as the replica with the state of its link")
    func backupNamesItsPrimary() throws {
        #expect(Self.masterAddress(Self.backup) == .array([.bulk("10.0.0.1"), .bulk("7000")]))
        let master = try #require(Self.sentinel("master", "orders", status: Self.backup))
        #expect(master[field: "flags"] == "master")
        #expect(master[field: "ip"] == "10.0.0.1")
        let replica = try #require(Self.sentinel("replicas", "orders", status: Self.backup)?.elements.first)
        #expect(replica[field: "ip"] == "10.0.0.2")
        #expect(replica[field: "master-link-status"] == "ok")
        let syncing = try #require(Self.sentinel("replicas", "orders", status: Self.syncingBackup)?.elements.first)
        #expect(syncing[field: "master-link-status"] == "err")
        #expect(Self.sentinel("sentinels", "orders", status: Self.backup)?.elements.first?[field: "port"] == "7000")
    }

    @Test("a node not sure of the primary says so: no address, and a master flagged down, which redis-py skips")
    func unsureNodeSaysSo() throws {
        for status in [Self.lostBackup, Self.joining, Self.stopped] {
            #expect(Self.masterAddress(status) == .array(nil), "\(status.role)")
            let master = try #require(Self.sentinel("master", "orders", status: status))
            let flags = Set((master[field: "flags"] ?? "").split(separator: ",").map(String.init))
            #expect(flags.isSuperset(of: ["master", "s_down", "o_down"]), "\(status.role): \(flags)")
            #expect(master[field: "s-down-time"] != nil)
            #expect(master[field: "num-slaves"] == "0")
            #expect(Self.sentinel("masters", status: status)?.elements == [master])
            #expect(Self.sentinel("replicas", "orders", status: status) == .array([]))
            #expect(Self.sentinel("sentinels", "orders", status: status) == .array([]))
        }
    }

    @Test("another service name: a null address, and Sentinel's error for the rest")
    func unknownName() {
        #expect(Self.sentinel("get-master-addr-by-name", "lockstep", status: Self.primary) == .array(nil))
        for subcommand in ["master", "replicas", "slaves", "sentinels"] {
            let reply = Self.sentinel(subcommand, "Orders", status: Self.primary)
            #expect(reply == .error("ERR No such master with that name"))
        }
    }

    @Test("wrong arities and unknown subcommands get Redis's errors")
    func arityErrors() {
        func error(_ words: String...) -> DecodedReply? {
            guard case .local(let reply) = KeyValueFrontend.route(
                words.map(bytes), status: Self.primary, digest: { 0 }, service: Self.service)
            else { return nil }
            return DecodedReply.one(reply)
        }
        #expect(error("SENTINEL") == .error("ERR wrong number of arguments for 'sentinel' command"))
        #expect(error("SENTINEL", "master") == .error("ERR wrong number of arguments for 'sentinel|master' command"))
        #expect(
            error("SENTINEL", "MASTERS", "x") == .error("ERR wrong number of arguments for 'sentinel|masters' command"))
        #expect(
            error("SENTINEL", "get-master-addr-by-name")
                == .error("ERR wrong number of arguments for 'sentinel|get-master-addr-by-name' command"))
        #expect(
            error("SENTINEL", "replicas", "orders", "x")
                == .error("ERR wrong number of arguments for 'sentinel|replicas' command"))
        #expect(error("SENTINEL", "foo") == .error("ERR unknown subcommand 'foo'. Try SENTINEL HELP."))
        guard case .error(let refusal)? = error("SENTINEL", "failover", "orders") else {
            Issue.record("SENTINEL FAILOVER was not refused")
            return
        }
        #expect(refusal.hasPrefix("ERR SENTINEL FAILOVER is not supported"))
    }

    @Test("MYID is 40 hex digits, stable for an address, and the peer lists this node under it")
    func sentinelIdentity() throws {
        guard case .bulk(let id?)? = Self.sentinel("myid", status: Self.backup) else {
            Issue.record("MYID did not answer a bulk string")
            return
        }
        #expect(id.count == 40 && id.allSatisfy(\.isHexDigit))
        #expect(Self.sentinel("myid", status: Self.backup) == .bulk(id))
        #expect(Self.sentinel("myid", status: Self.primary) != .bulk(id))
        let listed = try #require(Self.sentinel("sentinels", "orders", status: Self.primary)?.elements.first)
        #expect(listed[field: "name"] == id)
        #expect(listed[field: "runid"] == id)
    }
}
