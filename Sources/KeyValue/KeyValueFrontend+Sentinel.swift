import Replication

/// `SENTINEL ...` in Redis Sentinel's reply shapes, so Sentinel-aware clients find the pair's primary.
///
/// Clients give a library both nodes' client addresses as their "sentinels"; the library asks each in turn for the
/// master of a named service (redis-py: `SENTINEL MASTERS`, skipping entries flagged `s_down` or `o_down`; Jedis
/// and Lettuce: `SENTINEL GET-MASTER-ADDR-BY-NAME`, where null means "ask the next one"), then connects there.
/// Field names, flags, their order and the errors are Redis 7's (`addReplySentinelRedisInstance` in sentinel.c).
/// What the answers say comes from `SentinelService.primaryAddress`; fields that describe a real Sentinel's
/// probing (ping times, pending commands) are zero, because nothing here probes: the nodes know.
extension KeyValueFrontend {
    /// The subcommands answered, with their Redis arities.
    enum SentinelSubcommand: String, CaseIterable {
        case masters, master, replicas, slaves, sentinels, myid, help
        case getMasterAddrByName = "get-master-addr-by-name"

        var arity: Int {
            switch self {
            case .masters, .myid, .help: 2
            case .master, .replicas, .slaves, .sentinels, .getMasterAddrByName: 3
            }
        }
    }

    /// Sentinel's subcommands that change or probe a Sentinel's own monitoring; the pair's arbiter decides
    /// failovers, so these are refused by name rather than called unknown.
    static let unsupportedSentinelSubcommands: Set<String> = [
        "monitor", "remove", "set", "failover", "reset", "ckquorum", "flushconfig", "config", "debug", "info-cache",
        "is-master-down-by-addr", "pending-scripts", "simulate-failure",
    ]

    static func sentinelCommand(_ arguments: [[UInt8]], status: NodeStatus, service: SentinelService) -> [UInt8] {
        let word = String(decoding: ASCII.lowercased(arguments[1]), as: UTF8.self)
        guard let subcommand = SentinelSubcommand(rawValue: word) else {
            if unsupportedSentinelSubcommands.contains(word) {
                return RESPWriter.error(
                    "ERR SENTINEL \(word.uppercased()) is not supported: the pair fails over by itself, through its "
                        + "arbiter")
            }
            return unknownSubcommand(arguments[1], of: "SENTINEL")
        }
        guard arguments.count == subcommand.arity else { return Replies.wrongArity("sentinel|\(word)") }
        switch subcommand {
        case .masters:
            return RESPWriter.array([masterEntry(status, service: service)])
        case .getMasterAddrByName:
            guard service.isNamed(arguments[2]), let primary = SentinelService.primaryAddress(status) else {
                return RESPWriter.nullArray
            }
            let (host, port) = hostAndPort(primary)
            return RESPWriter.array([RESPWriter.bulk(host), RESPWriter.bulk(String(port))])
        case .myid:
            return RESPWriter.bulk(sentinelID(status.clientAddress))
        case .help:
            return sentinelHelp
        case .master, .replicas, .slaves, .sentinels:
            guard service.isNamed(arguments[2]) else { return noSuchMaster }
            switch subcommand {
            case .master: return masterEntry(status, service: service)
            case .sentinels: return RESPWriter.array(otherSentinels(status).map { sentinelEntry($0, service: service) })
            default: return RESPWriter.array(replicaEntries(status, service: service))
            }
        }
    }

    /// Sentinel's error for a master name it does not watch.
    static let noSuchMaster = RESPWriter.error("ERR No such master with that name")

    private static var sentinelHelp: [UInt8] {
        let lines = [
            "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET-MASTER-ADDR-BY-NAME <master-name>", "    Return the ip and port number of the master with that name.",
            "MASTER <master-name>", "    Show the state and info of the specified master.",
            "MASTERS", "    Show a list of monitored masters and their state.",
            "MYID", "    Return the ID of the Sentinel instance.",
            "REPLICAS <master-name>", "    Show a list of replicas for this master and their state.",
            "SENTINELS <master-name>", "    Show a list of Sentinel instances for this master and their state.",
            "HELP", "    Print this help.",
        ]
        return RESPWriter.array(lines.map(RESPWriter.simpleString))
    }

    // MARK: Instances

    /// The one master this node watches. When the node is not sure who is primary, the entry says so with the
    /// flags `s_down,o_down` (redis-py skips such a master and asks the next sentinel), naming the last primary
    /// the node heard of, if any.
    static func masterEntry(_ status: NodeStatus, service: SentinelService) -> [UInt8] {
        let primary = SentinelService.primaryAddress(status)
        let address = primary ?? status.peerClientAddress
        let (host, port) = address.isEmpty ? ("?", 0) : hostAndPort(address)
        let isSure = primary != nil
        var fields: [(String, String)] = [
            ("name", service.name), ("ip", host), ("port", String(port)),
            ("runid", address.isEmpty ? "" : instanceID(address)),
            ("flags", isSure ? "master" : "s_down,o_down,master,disconnected"),
        ]
        fields += probeFields(isDown: !isSure, service: service)
        fields += [
            ("info-refresh", "0"), ("role-reported", "master"), ("role-reported-time", "0"),
            ("config-epoch", String(status.epoch)),
            ("num-slaves", String(replicaEntries(status, service: service).count)),
            ("num-other-sentinels", String(otherSentinels(status).count)),
            ("quorum", "1"), ("failover-timeout", String(service.downAfterMilliseconds)), ("parallel-syncs", "1"),
        ]
        return flatMap(fields)
    }

    /// The backup, when this node is sure of the primary and a backup is linked to it: itself on a backup, the
    /// peer on a primary. `master-link-status` is `ok` once the backup protects the primary (Redis's replica link
    /// `up`), `err` while its checkpoint is still installing. The backup serves no reads (README), so clients should
    /// use it only to know it is there, not with a replica read pool.
    static func replicaEntries(_ status: NodeStatus, service: SentinelService) -> [[UInt8]] {
        guard let primary = SentinelService.primaryAddress(status) else { return [] }
        let replica: String
        switch status.role {
        case .primary: replica = status.peerClientAddress
        case .backup: replica = status.clientAddress
        case .solo, .joining, .stopped: return []
        }
        guard !replica.isEmpty else { return [] }
        let (host, port) = hostAndPort(replica)
        let (primaryHost, primaryPort) = hostAndPort(primary)
        var fields: [(String, String)] = [
            ("name", replica), ("ip", host), ("port", String(port)), ("runid", instanceID(replica)),
            ("flags", "slave"),
        ]
        fields += probeFields(isDown: false, service: service)
        fields += [
            ("info-refresh", "0"), ("role-reported", "slave"), ("role-reported-time", "0"),
            ("master-link-down-time", "0"), ("master-link-status", status.peerState == .connected ? "ok" : "err"),
            ("master-host", primaryHost), ("master-port", String(primaryPort)), ("slave-priority", "100"),
            ("slave-repl-offset", String(status.ackedSequence)), ("replica-announced", "1"),
        ]
        return [flatMap(fields)]
    }

    /// The other node's client address, when this node is sure of the primary and linked to the other node: each
    /// node is a sentinel too, so a library that counts sentinels (`min_other_sentinels`) counts the pair.
    static func otherSentinels(_ status: NodeStatus) -> [String] {
        guard SentinelService.primaryAddress(status) != nil, status.role == .primary || status.role == .backup,
            !status.peerClientAddress.isEmpty
        else { return [] }
        return [status.peerClientAddress]
    }

    private static func sentinelEntry(_ address: String, service: SentinelService) -> [UInt8] {
        let (host, port) = hostAndPort(address)
        let id = sentinelID(address)
        var fields: [(String, String)] = [
            ("name", id), ("ip", host), ("port", String(port)), ("runid", id), ("flags", "sentinel"),
        ]
        fields += probeFields(isDown: false, service: service)
        fields += [("last-hello-message", "0"), ("voted-leader", "?"), ("voted-leader-epoch", "0")]
        return flatMap(fields)
    }

    /// The fields about a Sentinel's probing of an instance, from `link-pending-commands` to
    /// `down-after-milliseconds`; the down times are there only for a down instance, as in Redis.
    private static func probeFields(isDown: Bool, service: SentinelService) -> [(String, String)] {
        var fields: [(String, String)] = [
            ("link-pending-commands", "0"), ("link-refcount", "1"), ("last-ping-sent", "0"),
            ("last-ok-ping-reply", "0"), ("last-ping-reply", "0"),
        ]
        if isDown { fields += [("s-down-time", "0"), ("o-down-time", "0")] }
        fields.append(("down-after-milliseconds", String(service.downAfterMilliseconds)))
        return fields
    }

    private static func flatMap(_ fields: [(String, String)]) -> [UInt8] {
        RESPWriter.array(fields.flatMap { [RESPWriter.bulk($0.0), RESPWriter.bulk($0.1)] })
    }

    // MARK: Identities

    /// The Sentinel id of the node at `address`: 40 hex digits, as Redis's, derived from the address so that each
    /// node and its peer agree on it and it survives restarts (a Sentinel keeps its id in its configuration file).
    static func sentinelID(_ address: String) -> String {
        hexIdentity("sentinel " + address)
    }

    /// The `runid` of the Redis instance at `address` (what Redis's `INFO` calls `run_id`).
    static func instanceID(_ address: String) -> String {
        hexIdentity("instance " + address)
    }

    private static func hexIdentity(_ text: String) -> String {
        // FNV-1a folds the text into a seed; SplitMix64 stretches it to the 160 bits of a Redis id.
        var seed: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 { seed = (seed ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        var generator = SplitMix64(seed: seed)
        let digits = (0..<3).map { _ in hexDigits(generator.next()) }.joined()
        return String(digits.prefix(40))
    }
}
