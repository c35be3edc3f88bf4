/// Running totals the runtime keeps, published in `NodeStatus.counters` (and so in `INFO` as `lockstep_<name>`).
///
/// They exist to show how well batching works (IO-FINDINGS: it only pays when both directions batch):
/// `channel_entries_sent / channel_writes` is entries per channel write, `channel_entries_sent / acks_received`
/// entries per ack, `client_commands / client_batches` commands per core batch. Plain integers bumped on the loop
/// thread; copied under a lock when the status is published (at most once a millisecond).
struct RuntimeCounters: Equatable, Sendable {
    /// `write`/`send` calls on logging channels.
    var channelWrites: UInt64 = 0
    /// Frames queued on logging channels, heartbeats included.
    var channelFramesSent: UInt64 = 0
    /// Log entries queued on logging channels.
    var channelEntriesSent: UInt64 = 0
    /// Reads from logging channels that delivered at least one frame.
    var channelDeliveries: UInt64 = 0
    var channelFramesReceived: UInt64 = 0
    /// Acks that arrived (primary) and that were sent (backup, heartbeats included).
    var acksReceived: UInt64 = 0
    var acksSent: UInt64 = 0
    /// Replicated commands handed to the core, and the `.commandsArrived` events that carried them.
    var clientCommands: UInt64 = 0
    var clientBatches: UInt64 = 0
    var clientConnectionsAccepted: UInt64 = 0
    /// Requests parsed on client connections, local and replicated alike (Redis's `total_commands_processed`).
    var clientRequests: UInt64 = 0
    /// Clients disconnected by the runtime: too many connections, unread output past its limit, unknown outcome.
    var clientConnectionsDropped: UInt64 = 0
    /// Clients closed after `clientIdleTimeout` of idleness (counted apart: closing them is routine, not a drop).
    var clientConnectionsIdleClosed: UInt64 = 0
    /// Times the core paused client intake (unacked log or replay lag at its bound, or a stop).
    var intakePauses: UInt64 = 0
    /// The longest gap, in microseconds, between reads from a logging channel since start: heartbeat jitter
    /// under load, to compare with the silence timeout.
    var channelLongestSilenceMicroseconds: UInt64 = 0
    /// Times writing the durable log started failing (a full disk, say); each ends by itself once writes succeed.
    var persistenceFailures: UInt64 = 0
    /// Arbiter answers that were errors, by `ArbiterError.code`: why nobody went live, for programs to read.
    /// At most one key per error kind.
    var arbiterErrors: [String: UInt64] = [:]
    /// Logging channels that closed, by `ChannelCloseReason.code` (a corrupt stream, a silent peer, ...).
    /// At most one key per close kind.
    var channelCloses: [String: UInt64] = [:]
    /// Logging-channel connections refused, failed or evicted before the core heard of them, by
    /// `ChannelRefusal.code`. At most one key per refusal kind.
    var channelRefusals: [String: UInt64] = [:]

    /// This node's role changes, by `RoleChangeReason.code` (a failover is `primary_lost`: the backup went live).
    /// At most one key per reason kind.
    var roleChanges: [String: UInt64] = [:]
    /// Metrics requests answered with the metrics, and those refused by `MetricsRefusal.code` (at most one key per
    /// refusal kind).
    var metricsScrapes: UInt64 = 0
    var metricsRefusals: [String: UInt64] = [:]

    /// snake_case names, as `NodeStatus.counters` wants them.
    var dictionary: [String: UInt64] {
        var named: [String: UInt64] = [
            "channel_writes": channelWrites,
            "channel_frames_sent": channelFramesSent,
            "channel_entries_sent": channelEntriesSent,
            "channel_deliveries": channelDeliveries,
            "channel_frames_received": channelFramesReceived,
            "acks_received": acksReceived,
            "acks_sent": acksSent,
            "client_commands": clientCommands,
            "client_batches": clientBatches,
            "client_connections_accepted": clientConnectionsAccepted,
            "client_requests": clientRequests,
            "client_connections_dropped": clientConnectionsDropped,
            "client_connections_idle_closed": clientConnectionsIdleClosed,
            "intake_pauses": intakePauses,
            "channel_longest_silence_us": channelLongestSilenceMicroseconds,
            "metrics_scrapes": metricsScrapes,
            "persistence_failures": persistenceFailures,
        ]
        for (code, count) in arbiterErrors { named["arbiter_errors_" + code] = count }
        for (code, count) in channelCloses { named["channel_closes_" + code] = count }
        for (code, count) in channelRefusals { named["channel_refusals_" + code] = count }
        for (code, count) in roleChanges { named["role_changes_" + code] = count }
        for (code, count) in metricsRefusals { named["metrics_refusals_" + code] = count }
        return named
    }
}

/// The one `RuntimeCounters` every part of the runtime counts into, shared by reference.
///
/// The client port, the channel port and the driver each count what passes through them; the status publisher
/// copies the totals out. One mutable value behind one reference keeps the counting a plain increment on the loop
/// thread, with nothing to merge at publication.
final class CounterStore {
    var values = RuntimeCounters()
}
