import Posix
import Replication

/// The client port's share of the node's exit (see `ExitDrain`): keep reading, refuse what will never run,
/// close each connection once it is drained.
extension ClientPort: DrainingClientPort {
    /// Stops accepting, refuses the round's batch, and puts every connection in drain: those waiting for a
    /// reply the core holds are dropped (their outcome is unknown to this node, and answering anything would be
    /// a guess; a handover only completes once every withheld reply is released, so after one there are none),
    /// the others keep being read and written.
    func beginDrain(refusalReason: String) {
        isDraining = true
        drainRefusalReason = refusalReason
        if let listener { loop.close(listener) }
        listener = nil
        // Commands never handed to the core were never executed: the client may safely retry them elsewhere.
        rejectBatch(reason: refusalReason)
        resumeIntake()  // reading goes on during the drain, even if the core paused intake before it stopped
        let now = monotonicNanoseconds()
        for case let client? in clients {
            if client.handedCount > 0 {
                counters.values.clientConnectionsDropped += 1
                closeClient(client)
                continue
            }
            client.lastActivityNanoseconds = now
            if client.isBacklogged { armWakeNextRound() }
            queueFlush(client)
            updateInterest(client)
        }
    }

    /// Closes each connection with nothing outstanding that has been quiet for `quietLimit`.
    func closeDrained(quietFor quietLimit: Duration) {
        let quietNanoseconds = UInt64(max(0, quietLimit.nanoseconds))
        for case let client? in clients where client.hasNothingOutstanding {
            guard monotonicNanoseconds() &- client.lastActivityNanoseconds >= quietNanoseconds else { continue }
            // One last read: a request that arrived since the loop last looked is answered, not cut off (the
            // read renews the connection's activity, so it stays for another quiet period).
            read(client)
            guard !client.isClosed, client.hasNothingOutstanding,
                monotonicNanoseconds() &- client.lastActivityNanoseconds >= quietNanoseconds
            else { continue }
            closeClient(client)
        }
    }
}
