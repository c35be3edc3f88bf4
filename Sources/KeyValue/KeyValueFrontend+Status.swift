#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Replication

/// ROLE and INFO in Redis's formats, so tools that watch Redis replication understand a Lockstep pair.
///
/// Lockstep's primary is Redis's `master`, its backup (or a joining or stopped node) a `slave`; replication
/// offsets are log sequences. INFO adds `lockstep_*` fields that Redis has no words for.
extension KeyValueFrontend {
    /// `ROLE`: `master, offset, [[host, port, acked]]` on a serving node (no entries when solo), and
    /// `slave, host, port, state, offset` elsewhere.
    static func role(_ status: NodeStatus) -> [UInt8] {
        if status.isServing {
            var backups: [[UInt8]] = []
            if status.role == .primary {
                let (host, port) = hostAndPort(status.peerClientAddress)
                backups.append(
                    RESPWriter.array([
                        RESPWriter.bulk(host), RESPWriter.bulk(String(port)),
                        RESPWriter.bulk(String(status.ackedSequence)),
                    ]))
            }
            return RESPWriter.array([
                RESPWriter.bulk("master"), RESPWriter.integer(Int64(clamping: status.logSequence)),
                RESPWriter.array(backups),
            ])
        }
        let (host, port) = hostAndPort(status.peerClientAddress)
        return RESPWriter.array([
            RESPWriter.bulk("slave"), RESPWriter.bulk(host), RESPWriter.integer(Int64(port)),
            RESPWriter.bulk(linkState(status.peerState)), RESPWriter.integer(Int64(clamping: status.logSequence)),
        ])
    }

    /// Redis's replica states (`none`, `connect`, `connecting`, `sync`, `connected`), which `PeerState` spells
    /// the same way on purpose.
    static func linkState(_ state: NodeStatus.PeerState) -> String {
        state.rawValue
    }

    /// INFO's sections in Redis 7.0's order.
    private static let infoSections = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "commandstats", "errorstats",
        "latencystats", "cluster", "keyspace",
    ]

    /// The sections no argument and `default` give: Redis 7.0's defaults, all but the per-command statistics and
    /// latencies.
    private static let defaultInfoSections: Set<String> = [
        "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "errorstats", "cluster",
        "keyspace",
    ]

    /// `INFO [section...]`: Redis's sections as `# Title` and CRLF-terminated `name:value` lines, a blank line
    /// between sections; section names are case-insensitive and unknown ones give nothing, as in Redis. No argument
    /// or `default` gives the default sections, `all` and `everything` every one; each section comes once, in Redis's
    /// order, however often it is asked for. Every figure is a counter, a gauge or a small kernel read, and the
    /// statistics are bounded by the command table: nothing here costs time proportional to the data.
    static func info(
        _ status: NodeStatus, sections: [[UInt8]], statistics: CommandStatistics = CommandStatistics(),
        memoryLimit: MemoryLimit = MemoryLimit()
    ) -> String {
        var wanted = Set(sections.map { String(decoding: ASCII.lowercased($0), as: UTF8.self) })
        if wanted.isEmpty || wanted.contains("default") { wanted.formUnion(defaultInfoSections) }
        let wantsAll = wanted.contains("all") || wanted.contains("everything")
        var rendered: [String] = []
        for section in infoSections where wantsAll || wanted.contains(section) {
            rendered.append(infoSection(section, status, statistics: statistics, memoryLimit: memoryLimit))
        }
        return rendered.joined(separator: "\r\n")
    }

    private static func infoSection(
        _ section: String, _ status: NodeStatus, statistics: CommandStatistics, memoryLimit: MemoryLimit
    ) -> String {
        switch section {
        case "server": serverSection(status)
        case "clients":
            // Nothing tracks here (no CLIENT TRACKING). The waiters of blocking pops and the exactly-once sessions
            // (SESSION OPEN) are replicated state, on every node that holds it.
            lines("Clients", [
                ("connected_clients", String(status.openClientConnections)),
                ("blocked_clients", String(status.machineStatistics["blocked_clients"] ?? 0)),
                ("tracking_clients", "0"), ("lockstep_sessions", String(status.machineStatistics["sessions"] ?? 0)),
            ])
        case "memory": memorySection(status, memoryLimit: memoryLimit)
        case "persistence":
            // The durable log is the AOF's counterpart: on with a data directory, its last write ok or failing.
            lines("Persistence", [
                ("loading", "0"), ("async_loading", "0"), ("rdb_bgsave_in_progress", "0"),
                ("aof_enabled", status.persistedSequence == nil ? "0" : "1"), ("aof_rewrite_in_progress", "0"),
                ("aof_last_write_status", status.persistenceFailure.isEmpty ? "ok" : "err"),
                ("lockstep_persisted_sequence", status.persistedSequence.map(String.init) ?? ""),
                ("lockstep_persistence_failure", status.persistenceFailure),
            ])
        case "stats":
            lines("Stats", [
                ("total_connections_received", String(status.counters["client_connections_accepted"] ?? 0)),
                ("total_commands_processed", String(status.counters["client_requests"] ?? 0)),
                ("total_error_replies", String(statistics.totalErrorReplies)),
            ])
        case "commandstats": lines("Commandstats", statistics.commandLines())
        case "errorstats": lines("Errorstats", statistics.errorLines())
        case "latencystats": lines("Latencystats", statistics.latencyLines())
        case "replication": replicationSection(status)
        case "cpu": lines("CPU", ProcessFigures.cpu())
        case "cluster": lines("Cluster", [("cluster_enabled", "0")])
        default: keyspaceSection(status)
        }
    }

    /// `dbN:keys=K,expires=E,avg_ttl=0` for each database holding keys, in number order (Redis lists empty databases
    /// not at all). `avg_ttl` is Redis's sampled estimate, which this store does not keep: 0, what Redis prints before
    /// it has one.
    private static func keyspaceSection(_ status: NodeStatus) -> String {
        let figures = status.machineStatistics
        let databases = (0..<KeyValueStore.databaseCount).compactMap { database -> (String, String)? in
            // Database 0's figures have the names they had before there were others (`KeyValueStore.statistics`).
            let prefix = database == 0 ? "" : "db\(database)_"
            guard let keys = figures[prefix + "keys"], keys > 0 else { return nil }
            let expires = figures[prefix + "expires"] ?? 0
            return ("db\(database)", "keys=\(keys),expires=\(expires),avg_ttl=0")
        }
        return lines("Keyspace", databases)
    }

    /// `used_memory` is what `maxmemory` weighs (`MemoryLimit.usedBytes`): the node's memory at start plus MEMORY
    /// USAGE summed over every key, as Redis counts its allocator's bytes (which Swift's allocator does not report
    /// cheaply). `used_memory_rss` is the resident set.
    private static func memorySection(_ status: NodeStatus, memoryLimit: MemoryLimit) -> String {
        let used = MemoryLimit.usedBytes(status.machineStatistics)
        var fields = [
            ("used_memory", String(used)), ("used_memory_human", ProcessFigures.human(used)),
            ("used_memory_startup", String(MemoryLimit.startupBytes)),
            ("used_memory_dataset", String(status.machineStatistics[MemoryLimit.datasetFigure] ?? 0)),
        ]
        if let resident = ProcessFigures.residentBytes() {
            fields += [("used_memory_rss", String(resident)), ("used_memory_rss_human", ProcessFigures.human(resident))]
        }
        let limit = memoryLimit.bytes
        fields += [
            ("maxmemory", String(limit)), ("maxmemory_human", ProcessFigures.human(limit)),
            ("maxmemory_policy", "noeviction"),
        ]
        return lines("Memory", fields + [("mem_allocator", "libc")])
    }

    private static func serverSection(_ status: NodeStatus) -> String {
        var fields = [
            ("redis_version", redisVersion),
            ("redis_mode", "standalone"),
            ("os", ProcessFigures.operatingSystem()),
            ("arch_bits", String(Int.bitWidth)),
            ("process_id", String(getpid())),
            ("tcp_port", String(hostAndPort(status.clientAddress).port)),
        ]
        if let uptime = ProcessFigures.uptimeSeconds() {
            fields += [("uptime_in_seconds", String(uptime)), ("uptime_in_days", String(uptime / 86_400))]
        }
        fields.append(("lockstep_node_name", status.nodeName))
        return lines("Server", fields)
    }

    private static func replicationSection(_ status: NodeStatus) -> String {
        var fields: [(String, String)] = []
        let (peerHost, peerPort) = hostAndPort(status.peerClientAddress)
        if status.isServing {
            fields.append(("role", "master"))
            if status.role == .primary {
                let state = status.peerState == .connected ? "online" : "wait_bgsave"
                fields.append(("connected_slaves", "1"))
                fields.append(
                    ("slave0", "ip=\(peerHost),port=\(peerPort),state=\(state),offset=\(status.ackedSequence),lag=0"))
            } else {
                fields.append(("connected_slaves", "0"))
            }
            fields.append(("master_repl_offset", String(status.logSequence)))
        } else {
            fields.append(("role", "slave"))
            fields.append(("master_host", peerHost))
            fields.append(("master_port", String(peerPort)))
            fields.append(("master_link_status", status.peerState == .connected ? "up" : "down"))
            fields.append(("slave_repl_offset", String(status.logSequence)))
            fields.append(("slave_read_only", "1"))
            fields.append(("connected_slaves", "0"))
            fields.append(("master_repl_offset", String(status.logSequence)))
        }
        fields += [
            ("lockstep_role", status.role.rawValue),
            ("lockstep_epoch", String(status.epoch)),
            ("lockstep_log_sequence", String(status.logSequence)),
            ("lockstep_acked_sequence", String(status.ackedSequence)),
            ("lockstep_applied_sequence", String(status.appliedSequence)),
            ("lockstep_peer_state", status.peerState.rawValue),
            ("lockstep_replay_lag", String(status.replayLag)),
            ("lockstep_unacked_entries", String(status.unackedEntries)),
            ("lockstep_unacked_bytes", String(status.unackedBytes)),
            ("lockstep_reason", status.reason),
            ("lockstep_persisted_sequence", status.persistedSequence.map(String.init) ?? ""),
        ]
        if let checkpoint = status.checkpoint {
            // A checkpoint streaming to or from the peer: progress as numbers, and the log's phrase for people.
            fields += [
                ("lockstep_checkpoint", checkpoint.summary),
                ("lockstep_checkpoint_direction", checkpoint.direction.rawValue),
                ("lockstep_checkpoint_sequence", String(checkpoint.sequence)),
                ("lockstep_checkpoint_bytes", String(checkpoint.bytes)),
                ("lockstep_checkpoint_chunks", String(checkpoint.chunks)),
                ("lockstep_checkpoint_estimated_bytes", checkpoint.estimatedBytes.map(String.init) ?? ""),
                ("lockstep_checkpoint_bytes_per_second", checkpoint.bytesPerSecond.map { String(Int($0)) } ?? ""),
                ("lockstep_checkpoint_milliseconds_left", checkpoint.estimatedMillisecondsLeft.map(String.init) ?? ""),
            ]
        }
        // The runtime's running totals (channel writes, acks, ...), sorted so the output is stable across runs.
        for name in status.counters.keys.sorted() {
            fields.append(("lockstep_\(name)", String(status.counters[name] ?? 0)))
        }
        return lines("Replication", fields)
    }

    /// `# title` and `name:value` lines, each ending in CRLF; CR and LF inside a value become spaces.
    private static func lines(_ title: String, _ fields: [(String, String)]) -> String {
        var text = "# \(title)\r\n"
        for (name, value) in fields {
            let flat = String(value.map { $0 == "\r" || $0 == "\n" || $0 == "\r\n" ? " " : $0 })
            text += "\(name):\(flat)\r\n"
        }
        return text
    }

    /// Splits `host:port` (or `[v6]:port`) at the last colon; port 0 when missing or not a number.
    static func hostAndPort(_ address: String) -> (host: String, port: Int) {
        guard let colon = address.lastIndex(of: ":") else { return (address, 0) }
        var host = String(address[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host, Int(address[address.index(after: colon)...]) ?? 0)
    }
}
