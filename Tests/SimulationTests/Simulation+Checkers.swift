import Replication
/// The checkers' hooks into the run, and the queries run conditions ask.
extension PairSimulation {
    /// After every event a node handles: its state against the canonical history (`StateChecker`).
    mutating func checkState(of index: Int) {
        guard let digest = nodes[index].core.machine?.digest() else { return }   // joining: no state yet
        let line = nodes[index].core.status.epoch
        let sequence = nodes[index].core.appliedSequence
        guard let divergence = stateChecker.observe(line: line, sequence: sequence, digest: digest) else { return }
        report(.state,
            "n\(index) diverged: its state at sequence \(divergence.sequence) (line of epoch \(line)) has digest "
                + "\(hex(divergence.actual)), the history has \(hex(divergence.expected))")
    }

    /// Notes when no running node holds the replicated state (no serving primary, no protecting backup): two
    /// overlapping failures, after which nobody may go live — unavailable, not wrong. Liveness is then not
    /// expected; safety still is.
    mutating func noteWhetherTheStateSurvives() {
        // Durable nodes keep the state on disk through any crash: it is never lost, so liveness is always expected.
        guard !faults.durable, !arbiter.isEmpty, !stateLost else { return }
        let holders = nodes.indices.filter {
            let status = nodes[$0].core.status
            return nodes[$0].isUp && (status.isServing || (status.role == .backup && status.peerState == .connected))
        }
        if holders.isEmpty {
            stateLost = true
            if Self.isTracing { print("\(now) the state is lost: no running node holds it") }
        }
    }

    /// A backup went live: it must hold every write whose reply any client has seen (DESIGN, output rule).
    mutating func checkNewPrimaryHoldsAcknowledged(_ index: Int) {
        guard let machine = nodes[index].core.machine else {
            report(.ackedWrites, "n\(index) went live without state")
            return
        }
        if let missing = workload.missingAcknowledged(in: machine) {
            report(.ackedWrites, "n\(index) went live at epoch \(nodes[index].core.status.epoch) \(missing)")
        }
    }

    /// Once healed and quiet: the one serving node, or nil with a liveness violation if there is not exactly one.
    mutating func finalPrimary() -> Int? {
        let serving = nodes.indices.filter { nodes[$0].isUp && nodes[$0].core.status.isServing }
        guard serving.count == 1, let primary = serving.first, nodes[primary].core.machine != nil else {
            report(.liveness, "\(serving.count) serving nodes after healing")
            return nil
        }
        return primary
    }

    /// The backup of `primary`, if it is up and has applied as far: then its digest must equal the primary's, which
    /// this checks; nil if there is no such backup.
    mutating func caughtUpBackup(of primary: Int) -> Int? {
        let backup = 1 - primary
        guard nodes[backup].isUp, nodes[backup].core.status.role == .backup,
            nodes[backup].core.appliedSequence == nodes[primary].core.appliedSequence,
            let backupState = nodes[backup].core.machine, let state = nodes[primary].core.machine
        else { return nil }
        if backupState.digest() != state.digest() {
            report(.state, "digests differ at sequence \(nodes[primary].core.appliedSequence)")
        }
        return backup
    }

    // MARK: Queries for run conditions

    var isProtected: Bool {
        nodes.indices.contains {
            nodes[$0].isUp && nodes[$0].core.status.role == .primary && nodes[$0].core.status.peerState == .connected
        }
    }

    /// Whether `primary` is protected right now by a backup that is up, running and protecting.
    func hasProtectingBackup(_ primary: Int) -> Bool {
        let backup = nodes[1 - primary]
        return nodes[primary].core.status.role == .primary && backup.isUp && !backup.isPaused
            && backup.core.status.role == .backup && backup.core.status.peerState == .connected
    }

    var backupCaughtUp: Bool {
        guard let primary = nodes.indices.first(where: { nodes[$0].isUp && nodes[$0].core.status.isServing }) else {
            return false
        }
        let backup = 1 - primary
        return nodes[backup].isUp && nodes[backup].core.status.role == .backup
            && nodes[backup].core.appliedSequence == nodes[primary].core.appliedSequence
    }

    /// The checkpoint a running node is sending, as it reports it; nil when none streams.
    var checkpointSent: CheckpointProgress? {
        nodes.indices.lazy.compactMap { index in
            let progress = self.nodes[index].core.status.checkpoint
            return self.nodes[index].isUp && progress?.direction == .sending ? progress : nil
        }.first
    }

    /// The checkpoint a running node is installing, as it reports it; nil when none is.
    var checkpointInstalling: (node: Int, progress: CheckpointProgress)? {
        nodes.indices.lazy.compactMap { index in
            let progress = self.nodes[index].core.status.checkpoint
            return self.nodes[index].isUp && progress?.direction == .receiving ? (index, progress!) : nil
        }.first
    }

    /// The highest epoch any node took at the arbiter.
    var highestEpochTaken: UInt64 { arbiter.keys.max() ?? 0 }
}

/// The token log's checks, which read its state directly.
extension Simulation {
    /// Tokens of acknowledged appends, in the order their replies left.
    var acked: [UInt64] { workload.acked }
    /// Tokens of session appends whose outcome a client can no longer learn.
    var sessionOutcomesUnknown: [UInt64] { workload.sessionOutcomesUnknown }
    var acknowledgedReads: Int { workload.linearizability.acknowledgedReads }

    /// The final checks, once healed and quiet: one serving node, holding every acked append once and nothing
    /// never sent; the backup's state equal to it; and every acknowledged operation linearizable against it.
    mutating func checkFinalState() {
        guard let primary = finalPrimary(), let state = nodes[primary].core.machine else { return }
        let tokens = state.tokens
        if Set(tokens).count != tokens.count { report(.ackedWrites, "a token is present twice") }
        let held = Set(tokens)
        let missing = workload.acked.filter { !held.contains($0) }
        if !missing.isEmpty { report(.ackedWrites, "acked tokens lost: \(missing.prefix(5))") }
        if let stray = tokens.first(where: { !workload.writtenTokens.contains($0) }) {
            report(.ackedWrites, "token \(stray) was never sent as an append")
        }
        checkExactlyOnce(in: state, of: primary)
        if let backup = caughtUpBackup(of: primary), let backupState = nodes[backup].core.machine {
            checkExactlyOnce(in: backupState, of: backup)
        }
        for violation in workload.linearizability.violations(finalLists: state.lists) {
            report(.linearizability, violation)
        }
    }

    /// Exactly once, in node `index`'s final `state`: every acknowledged token appears once, every token sent but
    /// never acknowledged at most once (whether sent once or resent), and the session appends the table admitted
    /// as new are as many as the session tokens present, so none was applied without its token or twice.
    mutating func checkExactlyOnce(in state: TokenLog, of index: Int) {
        var occurrences: [UInt64: Int] = [:]
        for token in state.tokens { occurrences[token, default: 0] += 1 }
        let ackedNotOnce = workload.acked.filter { occurrences[$0] != 1 }
        if !ackedNotOnce.isEmpty {
            let counts = ackedNotOnce.prefix(5).map { "\($0) ×\(occurrences[$0] ?? 0)" }
            report(.exactlyOnce, "n\(index): acked tokens not present exactly once: \(counts)")
        }
        let repeated = state.tokens.filter { occurrences[$0]! > 1 }
        if !repeated.isEmpty {
            let kind = repeated.contains(where: workload.sessionTokens.contains) ? "session" : "plain"
            report(.exactlyOnce, "n\(index): tokens present more than once (first a \(kind) append): \(repeated.prefix(5))")
        }
        let sessionTokens = workload.sessionTokens
        let sessionTokensPresent = state.tokens.filter { sessionTokens.contains($0) }.count
        if UInt64(sessionTokensPresent) != state.sessionAppendsApplied {
            report(.exactlyOnce,
                "n\(index): \(state.sessionAppendsApplied) session appends applied, \(sessionTokensPresent) session tokens present")
        }
    }

    /// Once the session clients drained: every session append sent was acknowledged, except those whose outcome a
    /// client was told it cannot learn (`sessionOutcomesUnknown`).
    mutating func checkSessionRequestsSettled() {
        let settled = Set(workload.acked).union(workload.sessionOutcomesUnknown)
        let unsettled = workload.sessionTokens.filter { !settled.contains($0) }.sorted()
        if !unsettled.isEmpty {
            report(.exactlyOnce, "session appends never acknowledged after healing: \(unsettled.prefix(5))")
        }
    }

    /// When the state was lost, what can be judged without it: acknowledged operations against each other.
    mutating func checkHistoryWithoutFinalState() {
        for violation in workload.linearizability.violations(finalLists: nil) { report(.linearizability, violation) }
    }
}

private func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
}
