/// Which family a case belongs to: what `--only` selects and how the report groups its rows.
public enum CaseGroup: String, Sendable, CaseIterable {
    /// Loopback ping-pong and relay measured by the harness itself: the cost of the network alone.
    case floors
    /// A `lockstep node` pair.
    case lockstep
    /// A Redis primary with one replica: what a user would pick instead.
    case redis
    /// A `lockstep node` pair again, `SESSION EXEC` beside plain requests on it: what exactly-once costs.
    case sessions
}

/// One benchmark case: what is measured, independent of any round.
public struct CaseDefinition: Sendable, Hashable {
    /// Stable identifier used by ratios and the JSON report, e.g. `lockstep-set@1`.
    public var key: String
    public var group: CaseGroup
    /// What a reader sees in the table, e.g. `Lockstep SET`.
    public var title: String
    public var connections: Int
    /// Requests each connection keeps outstanding; 1 is a plain closed loop.
    public var pipelineDepth: Int

    public init(key: String, group: CaseGroup, title: String, connections: Int, pipelineDepth: Int = 1) {
        self.key = key
        self.group = group
        self.title = title
        self.connections = connections
        self.pipelineDepth = pipelineDepth
    }
}

/// What one case measured in one round.
public struct CaseMeasurement: Sendable {
    /// Operations acknowledged inside the measured interval (after warm-up).
    public var operations: UInt64
    public var elapsedNanoseconds: UInt64
    public var histogram: LatencyHistogram
    /// Error replies, disconnects and operations left unanswered at the end.
    public var errors: UInt64
    /// The first few error texts, to say what went wrong without flooding the report.
    public var errorSamples: [String]
    /// CPU time (user + system) each server process or thread used in the measured interval, by name.
    public var serverCPUNanoseconds: [String: UInt64]
    /// CPU time of the load generator's own thread in the measured interval.
    public var clientCPUNanoseconds: UInt64
    /// Changes of the server's running counters over the case (Lockstep's `lockstep_*`, the relay's own).
    public var counterDeltas: [String: Int64]

    public init(
        operations: UInt64, elapsedNanoseconds: UInt64, histogram: LatencyHistogram, errors: UInt64 = 0,
        errorSamples: [String] = [], serverCPUNanoseconds: [String: UInt64] = [:], clientCPUNanoseconds: UInt64 = 0,
        counterDeltas: [String: Int64] = [:]
    ) {
        self.operations = operations
        self.elapsedNanoseconds = elapsedNanoseconds
        self.histogram = histogram
        self.errors = errors
        self.errorSamples = errorSamples
        self.serverCPUNanoseconds = serverCPUNanoseconds
        self.clientCPUNanoseconds = clientCPUNanoseconds
        self.counterDeltas = counterDeltas
    }

    public var operationsPerSecond: Double {
        elapsedNanoseconds == 0 ? 0 : Double(operations) * 1e9 / Double(elapsedNanoseconds)
    }

    /// Microseconds of all server processes' CPU per acknowledged operation; nil when nothing was measured.
    public var serverCPUMicrosecondsPerOperation: Double? {
        guard operations > 0, !serverCPUNanoseconds.isEmpty else { return nil }
        return Double(serverCPUNanoseconds.values.reduce(0, +)) / 1_000 / Double(operations)
    }

    /// A latency percentile in microseconds.
    public func latencyMicroseconds(_ percentile: Double) -> Double {
        Double(histogram.percentile(percentile)) / 1_000
    }

    /// Entries per logging-channel write and per ack, from the counter deltas (see `BatchingCounters`).
    public var batching: BatchingFigures { BatchingFigures(counterDeltas: counterDeltas) }
}

/// Entries per logging-channel write and per ack: how well the primary batches.
///
/// IO-FINDINGS measured that batching only pays when both directions batch (about 25 frames per write and per ack
/// at 64 connections gave 2× the throughput), so both are reported. The counter names are those the node runtime
/// exposes in `INFO replication` as `lockstep_*`; the relay floor reports the same names.
public struct BatchingFigures: Sendable, Equatable {
    public var entriesPerWrite: Double?
    public var entriesPerAck: Double?

    /// Counter names tried in order for entries sent, channel writes and acks received.
    static let entryNames = [
        "lockstep_channel_entries_sent", "lockstep_entries_sent", "lockstep_channel_entries", "channel_entries_sent",
    ]
    static let writeNames = ["lockstep_channel_writes", "lockstep_channel_writes_sent", "channel_writes"]
    static let ackNames = [
        "lockstep_acks_received", "lockstep_channel_acks_received", "lockstep_channel_acks", "acks_received",
    ]

    public init(entriesPerWrite: Double?, entriesPerAck: Double?) {
        self.entriesPerWrite = entriesPerWrite
        self.entriesPerAck = entriesPerAck
    }

    public init(counterDeltas: [String: Int64]) {
        func first(_ names: [String], orContaining parts: [String]) -> Int64? {
            for name in names { if let value = counterDeltas[name] { return value } }
            // Fall back to any counter whose name has every part, for names this harness did not foresee.
            return counterDeltas.keys.sorted().first { key in parts.allSatisfy { key.contains($0) } }
                .flatMap { counterDeltas[$0] }
        }
        let entries = first(Self.entryNames, orContaining: ["entries", "sent"])
        let writes = first(Self.writeNames, orContaining: ["channel", "writes"])
        let acks = first(Self.ackNames, orContaining: ["acks", "received"])
        entriesPerWrite = Self.ratio(entries, writes)
        entriesPerAck = Self.ratio(entries, acks)
    }

    static func ratio(_ numerator: Int64?, _ denominator: Int64?) -> Double? {
        guard let numerator, let denominator, denominator > 0, numerator >= 0 else { return nil }
        return Double(numerator) / Double(denominator)
    }
}
