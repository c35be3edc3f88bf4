import LogChannel
import Posix
import Replication

/// Intake: the round's batch the driver hands to the core, the backlog that refills it, and the core's pause.
extension ClientPort {
    // MARK: The round's batch

    /// Takes every command gathered this round, for the driver to hand to the core in one event; nil when there
    /// is none or intake is paused (or draining).
    func takeBatch() -> [ClientCommand]? {
        guard !batch.isEmpty, !isIntakePaused, !isDraining else { return nil }
        var commands: [ClientCommand] = []
        swap(&commands, &batch)
        batchBytes = 0
        for command in commands { noteHanded(command.tag) }
        counters.values.clientCommands += UInt64(commands.count)
        counters.values.clientBatches += 1
        return commands
    }

    /// One fewer unhanded command for the tag's connection (none for the runtime's own commands).
    func noteHanded(_ tag: UInt64) {
        let index = Int(tag >> Self.tagIndexShift)
        if index < clients.count { clients[index]?.unhandedCount -= 1 }
    }

    /// Takes back a batch the core is done with: its storage serves the next one, and its commands' short arrays
    /// the next requests' encodings (at most a batch of them), which spares an allocation and a free per request.
    /// An array a log entry still holds is copied when reused, as a new one would have been allocated.
    func recycleBatch(_ commands: consuming [ClientCommand]) {
        // Popped: each command moves out, where reading one in place through the array would retain its bytes.
        while spareBuffers.count < batchLimit, let command = commands.popLast() {
            if command.bytes.capacity <= Self.spareBufferBytesLimit { spareBuffers.append(command.bytes) }
        }
        commands.removeAllKeepingStorage()
        if batch.isEmpty { swap(&commands, &batch) }
    }

    /// Parses backlogged connections into the next batch, so they go before anything read next round.
    private func processBacklog() {
        // While paused too: a connection stalled on a full batch parses on, answering local requests and parking
        // its first replicated one. Draining, backlogged requests are refused.
        guard !backlog.isEmpty else { return }
        var waiting: [Client] = []
        swap(&waiting, &backlog)
        for client in waiting where !client.isClosed {
            client.isBacklogged = false
            parse(client)  // rejoins the backlog if it stalls again
        }
    }

    /// The round-end step after the batch went to the core: backlogged connections go first into the next batch,
    /// and a batch left waiting gets another round even if no socket becomes ready.
    func prepareNextBatch() {
        processBacklog()
        if !batch.isEmpty, !isIntakePaused, !isDraining { armWakeNextRound() }
    }

    /// Makes the loop run another round soon even if nothing becomes ready: for work left for "next round".
    func armWakeNextRound() {
        guard !isWakeArmed else { return }
        isWakeArmed = true
        loop.schedule(at: 0) { [unowned self] in isWakeArmed = false }
    }

    // MARK: Intake

    /// The core's order to stop taking client commands (its unacked log or replay lag is at its bound, it waits for
    /// the arbiter, or it stops). Connections are still read: local requests are answered, replicated ones parked
    /// (see the type's comment). Nothing else changes here, so the unpaused path costs nothing for it.
    func pauseIntake() {
        guard !isIntakePaused else { return }
        isIntakePaused = true
        counters.values.intakePauses += 1
    }

    func resumeIntake() {
        guard isIntakePaused else { return }
        isIntakePaused = false
        var paused: [Client] = []
        swap(&paused, &pausedClients)
        // Parked commands go first, in parking order: through the backlog, parsed before anything read next round.
        for client in paused where !client.isClosed {
            client.isListedAsPaused = false
            if !client.isBacklogged {
                client.isBacklogged = true
                backlog.append(client)
            }
        }
        // The batch and the backlog waited for this; they go next round even if no socket becomes ready.
        if !batch.isEmpty || !backlog.isEmpty { armWakeNextRound() }
    }
}
