import Replication

/// The node's status and running totals in Prometheus' text exposition format, version 0.0.4.
///
/// Every family has its `# HELP` and `# TYPE` lines; names start with `lockstep_`, counters end in `_total`, and
/// units are base units (seconds, bytes). A family whose members are known (roles, peer states, checkpoint
/// directions) has one sample per member, 1 for the current one, so a dashboard never sees a series vanish;
/// families counted by typed code (`RoleChangeReason.code`, `ArbiterError.code`, ...) have one sample per code seen
/// so far. The figures are the ones INFO shows, read from the status the loop already has and the runtime's
/// counters: rendering costs the same whatever the size of the replicated state.
struct MetricsExposition {
    /// What one scrape shows.
    struct Snapshot {
        var status: NodeStatus
        var counters: RuntimeCounters
        /// Client connections open now.
        var openClientConnections: Int
    }

    /// The media type of the format, for `Content-Type`.
    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private var text = ""

    /// The exposition of `snapshot`.
    static func render(_ snapshot: Snapshot) -> String {
        var exposition = MetricsExposition()
        exposition.text.reserveCapacity(8 << 10)
        exposition.addStatus(snapshot.status, openClientConnections: snapshot.openClientConnections)
        exposition.addCheckpoint(snapshot.status.checkpoint)
        exposition.addCounters(snapshot.counters)
        return exposition.text
    }

    private mutating func addStatus(_ status: NodeStatus, openClientConnections: Int) {
        gauge("lockstep_node_info", "The node's name and client address, as labels; always 1.",
            [([("name", status.nodeName), ("client_address", status.clientAddress)], 1)])
        gauge("lockstep_role", "The node's role: 1 for the current one, 0 for the others.",
            NodeStatus.Role.allCases.map { ([("role", $0.rawValue)], $0 == status.role ? 1 : 0) })
        gauge("lockstep_peer_state", "How far the backup has come with its primary: 1 for the current state.",
            NodeStatus.PeerState.allCases.map { ([("state", $0.rawValue)], $0 == status.peerState ? 1 : 0) })
        gauge("lockstep_epoch", "The epoch the node serves or follows in; 0 before it knows one.", status.epoch)
        gauge("lockstep_log_sequence", "Highest entry appended (primary) or received (backup).", status.logSequence)
        gauge("lockstep_acked_sequence", "Highest entry the backup has acked as received.", status.ackedSequence)
        gauge("lockstep_applied_sequence", "Highest entry the backup has replayed.", status.appliedSequence)
        gauge("lockstep_replay_lag_entries", "Entries the backup has received and not yet replayed.", status.replayLag)
        gauge("lockstep_unacked_entries", "Entries the primary has logged that the backup has not acked.",
            UInt64(status.unackedEntries))
        gauge("lockstep_unacked_bytes", "Payload bytes of the entries the backup has not acked.",
            UInt64(status.unackedBytes))
        gauge("lockstep_client_connections", "Client connections open now.", UInt64(openClientConnections))
    }

    private mutating func addCheckpoint(_ checkpoint: CheckpointProgress?) {
        gauge("lockstep_checkpoint_in_progress",
            "A checkpoint streaming to (sending) or from (receiving) the peer: 1 for the direction in progress.",
            CheckpointProgress.Direction.allCases.map {
                ([("direction", $0.rawValue)], checkpoint?.direction == $0 ? 1 : 0)
            })
        gauge("lockstep_checkpoint_sequence", "The entry the checkpoint in progress is the state after; 0 when none.",
            checkpoint?.sequence ?? 0)
        gauge("lockstep_checkpoint_bytes", "Checkpoint bytes sent or installed so far; 0 when none is in progress.",
            UInt64(checkpoint?.bytes ?? 0))
        gauge("lockstep_checkpoint_chunks", "Checkpoint chunks sent or installed so far; 0 when none is in progress.",
            UInt64(checkpoint?.chunks ?? 0))
        gauge("lockstep_checkpoint_elapsed_seconds", "Time since the checkpoint in progress started; 0 when none.",
            checkpoint?.elapsed.secondsValue ?? 0)
        gauge("lockstep_checkpoint_estimated_bytes",
            "The checkpoint's estimated size; NaN with none in progress.",
            checkpoint?.estimatedBytes.map(Double.init) ?? .nan)
        gauge("lockstep_checkpoint_bytes_per_second", "The checkpoint's average rate so far; NaN where unknown.",
            checkpoint?.bytesPerSecond ?? .nan)
        gauge("lockstep_checkpoint_seconds_left", "The checkpoint's estimated time left; NaN where unknown.",
            checkpoint?.estimatedTimeLeft?.secondsValue ?? .nan)
    }

    private mutating func addCounters(_ counters: RuntimeCounters) {
        counter("lockstep_failovers_total", "Times this node went live because its primary was lost (role changes "
            + "with reason primary_lost).", counters.roleChanges["primary_lost"] ?? 0)
        counter("lockstep_role_changes_total", "This node's role changes, by typed reason.",
            byCode(counters.roleChanges, label: "reason"))
        counter("lockstep_client_connections_accepted_total", "Client connections accepted.",
            counters.clientConnectionsAccepted)
        counter("lockstep_client_connections_dropped_total",
            "Client connections refused or disconnected by the node (limits, unread output, unknown outcome).",
            counters.clientConnectionsDropped)
        counter("lockstep_client_connections_idle_closed_total", "Client connections closed for idleness.",
            counters.clientConnectionsIdleClosed)
        counter("lockstep_client_commands_total", "Replicated client commands handed to the core.",
            counters.clientCommands)
        counter("lockstep_client_batches_total", "Batches of client commands handed to the core.",
            counters.clientBatches)
        counter("lockstep_intake_pauses_total",
            "Times the primary stopped reading clients (unacked log or replay lag at its bound, or a stop).",
            counters.intakePauses)
        counter("lockstep_arbiter_errors_total", "Arbiter answers that were errors, by code.",
            byCode(counters.arbiterErrors, label: "code"))
        counter("lockstep_channel_closes_total", "Logging channels closed, by code.",
            byCode(counters.channelCloses, label: "code"))
        counter("lockstep_channel_refusals_total",
            "Logging-channel connections refused before the core heard of them, by code.",
            byCode(counters.channelRefusals, label: "code"))
        gauge("lockstep_channel_longest_silence_seconds",
            "The longest gap between reads from a logging channel since start, against the silence timeout.",
            Double(counters.channelLongestSilenceMicroseconds) / 1e6)
        counter("lockstep_channel_writes_total", "Write calls on logging channels.", counters.channelWrites)
        counter("lockstep_channel_frames_sent_total", "Frames queued on logging channels, heartbeats included.",
            counters.channelFramesSent)
        counter("lockstep_channel_entries_sent_total", "Log entries queued on logging channels.",
            counters.channelEntriesSent)
        counter("lockstep_channel_frames_received_total", "Frames received on logging channels.",
            counters.channelFramesReceived)
        counter("lockstep_acks_received_total", "Acks received from the backup.", counters.acksReceived)
        counter("lockstep_acks_sent_total", "Acks sent to the primary, heartbeats included.", counters.acksSent)
        counter("lockstep_metrics_scrapes_total", "Metrics requests answered with the metrics.", counters.metricsScrapes)
        counter("lockstep_metrics_refusals_total", "Metrics requests refused, by code.",
            byCode(counters.metricsRefusals, label: "code"))
    }

    // MARK: Writing

    private typealias Labels = [(name: String, value: String)]

    private func byCode(_ counts: [String: UInt64], label: String) -> [(Labels, UInt64)] {
        // Sorted: dictionary order varies by process, and scrapes should be stable.
        counts.keys.sorted().map { ([(label, $0)], counts[$0] ?? 0) }
    }

    private mutating func gauge(_ name: String, _ help: String, _ value: UInt64) {
        family(name, help, type: "gauge", [([], Self.format(value))])
    }

    private mutating func gauge(_ name: String, _ help: String, _ value: Double) {
        family(name, help, type: "gauge", [([], Self.format(value))])
    }

    private mutating func gauge(_ name: String, _ help: String, _ samples: [(Labels, UInt64)]) {
        family(name, help, type: "gauge", samples.map { ($0.0, Self.format($0.1)) })
    }

    private mutating func counter(_ name: String, _ help: String, _ value: UInt64) {
        family(name, help, type: "counter", [([], Self.format(value))])
    }

    private mutating func counter(_ name: String, _ help: String, _ samples: [(Labels, UInt64)]) {
        family(name, help, type: "counter", samples.map { ($0.0, Self.format($0.1)) })
    }

    private mutating func family(_ name: String, _ help: String, type: String, _ samples: [(Labels, String)]) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(type)\n"
        for (labels, value) in samples {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.name)=\"\(Self.escapeLabelValue($0.value))\"" }.joined(separator: ",")
                text += "}"
            }
            text += " \(value)\n"
        }
    }

    static func format(_ value: UInt64) -> String { String(value) }

    /// Go's `ParseFloat` spellings, which Prometheus reads: `NaN`, `+Inf`, `-Inf`, or a decimal.
    static func format(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        return "\(value)"
    }

    /// A `# HELP` text: backslash and line feed escaped, as the format requires.
    static func escapeHelp(_ text: String) -> String {
        escape(text, quote: false)
    }

    /// A label value: backslash, double quote and line feed escaped, as the format requires.
    static func escapeLabelValue(_ text: String) -> String {
        escape(text, quote: true)
    }

    private static func escape(_ text: String, quote: Bool) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\"" where quote: escaped += "\\\""
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
