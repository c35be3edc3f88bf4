import Replication

/// What a data directory holds when a node starts: the state it rebuilds, the markers, and the writer that
/// continues the log.
public struct DiskState<Machine: StateMachine> {
    /// The rebuilt state: the newest snapshot with every later durable entry replayed; nil when the directory holds
    /// no state at all, or none whole (see `gap`).
    public var machine: Machine?
    /// The last entry `machine` reflects.
    public var sequence: UInt64 = 0
    /// The epoch of that entry, or of the snapshot when no entry follows it.
    public var epoch: UInt64 = 0
    /// The node's markers (`DurableMarkers`).
    public var ownedEpoch: UInt64?
    /// See `ownedEpoch`.
    public var protectingEpoch: UInt64?
    /// Why the files do not add up to a whole state (a log that starts after the snapshot ends, say): the node then
    /// holds none and waits to be brought up to date.
    public var gap: String?
    /// What the load repaired or noticed, one log line each.
    public var notes: [String] = []
    /// Continues the log after `sequence`.
    public var writer: LogWriter

    /// Rebuilds the state `directory` holds over `emptyMachine`.
    ///
    /// A torn log tail is cut (a note says so); damage before it, a corrupt snapshot or marker, or an entry that does
    /// not replay throws: the node refuses to start rather than skip what it cannot read. Runs before the event loop
    /// starts, in time proportional to the snapshot and the log after it.
    public static func load(
        _ directory: DataDirectory, emptyMachine: Machine, limits: DurabilityLimits = DurabilityLimits()
    ) throws(DurabilityError) -> DiskState {
        let (summary, scanNotes) = try LogRecovery.scan(directory, limits: limits)
        var notes = scanNotes.map(\.description)
        let markers = DurableMarkers(directory)
        var ownedEpoch: UInt64?
        var protectingEpoch: UInt64?
        if case .ownedEpoch(let epoch, _) = try markers.read(.ownedEpoch) { ownedEpoch = epoch }
        if case .protecting(let epoch, _) = try markers.read(.protecting) { protectingEpoch = epoch }
        let snapshot = try SnapshotFile.latest(in: directory)
        let base = snapshot?.sequence ?? 0
        if let first = summary.firstSequence, first > base + 1 {
            // Not a whole state: entries are missing between the snapshot and the log (a backup that crashed
            // before its first snapshot was written). Nothing here may be served or proven.
            let gap = "the log starts at entry \(first) but the newest snapshot ends at \(base)"
            try markers.remove(.ownedEpoch)
            try markers.remove(.protecting)
            try SnapshotFile.removeAll(in: directory)
            let writer = try LogWriter(directory, continuing: LogSummary(), limits: limits)
            try writer.removeAll()
            return DiskState(gap: gap, notes: notes, writer: writer)
        }
        guard snapshot != nil || !summary.isEmpty else {
            return DiskState(ownedEpoch: ownedEpoch, protectingEpoch: protectingEpoch, notes: notes,
                writer: try LogWriter(directory, continuing: summary, limits: limits))
        }
        var machine = try snapshot?.restore(into: emptyMachine.makeRestorer(), in: directory, limits: limits)
            ?? emptyMachine
        var sequence = base
        var epoch = snapshot?.epoch ?? 0
        let reader = LogReader(directory, summary: summary, from: base + 1, limits: limits)
        while let record = try reader.next() {
            try replay(record, into: &machine, path: directory.logPath)
            sequence = record.sequence
            epoch = record.epoch
        }
        let writer: LogWriter
        if let last = summary.lastSequence, last >= base {
            writer = try LogWriter(directory, continuing: summary, limits: limits)
        } else {
            // The snapshot is ahead of the log (taken before its entries were written): the log starts again after it.
            writer = try LogWriter(directory, continuing: summary, limits: limits)
            if !summary.isEmpty {
                try writer.removeAll()
                notes.append("the log ended at entry \(summary.lastSequence!) behind the snapshot at \(base); "
                    + "it continues after the snapshot")
            }
        }
        return DiskState(
            machine: machine, sequence: sequence, epoch: epoch, ownedEpoch: ownedEpoch,
            protectingEpoch: protectingEpoch, notes: notes, writer: writer)
    }

    /// Replays one durable entry as a backup would; an entry that asks for values it did not record, or a digest
    /// that disagrees, means the files do not hold what this node wrote.
    private static func replay(_ record: LogRecord, into machine: inout Machine, path: String) throws(DurabilityError) {
        switch machine.replay(record.entry) {
        case .replayed:
            return
        case .digestMismatch:
            throw .replayFailed(path: path, sequence: record.sequence, reason: "the state's digest disagrees")
        case .diverged(let divergence):
            throw .replayFailed(path: path, sequence: record.sequence, reason: divergence)
        }
    }
}
