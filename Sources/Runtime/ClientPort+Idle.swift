import Posix
import Replication

/// Bounds on what connections hold by just being there: idle ones are closed after `clientIdleTimeout`, one whose
/// query buffer outgrows `clientQueryBufferBytesLimit` is refused, and memory freed by closes goes back to the system.
extension ClientPort {
    // MARK: Idle connections

    /// Sweeps the table once per `RuntimeConfiguration.clientIdleSweepInterval`, for ever (the port lives as long as
    /// its loop). Requests only clear a flag, so the hot path reads no clock; the sweep's cost is one pass over at
    /// most `clientConnectionsLimit` slots a second.
    func scheduleIdleSweep() {
        _ = loop.schedule(after: RuntimeConfiguration.clientIdleSweepInterval) { [unowned self] in
            sweepIdleClients()
            scheduleIdleSweep()
        }
    }

    /// Closes every connection that has read nothing, and had nothing outstanding, for `idleTimeout`: that many
    /// consecutive sweeps found it quiet. A connection waiting on its own replies is not idle (Redis's `timeout`
    /// spares blocked clients too), so its count starts again; nor is one listening for notices (Redis spares
    /// Pub/Sub clients).
    func sweepIdleClients() {
        let interval = RuntimeConfiguration.clientIdleSweepInterval
        // Whole sweeps, rounded up: a connection is never closed before `idleTimeout` has passed.
        let sweepsLimit = Int((idleTimeout + interval - .nanoseconds(1)) / interval)
        var closed = 0
        for case let client? in clients where !client.isClosed {
            if !client.isQuietSinceSweep || !client.hasNothingOutstanding || client.isListening {
                client.isQuietSinceSweep = true
                client.quietSweeps = 0
                continue
            }
            client.quietSweeps += 1
            guard client.quietSweeps >= sweepsLimit else { continue }
            closeClient(client)
            closed += 1
        }
        if closed > 0 {
            counters.values.clientConnectionsIdleClosed += UInt64(closed)
            log(.idleClientsClosed(count: closed, timeout: idleTimeout))
        }
    }

    // MARK: Oversized query buffers

    /// Tells the client why it is closed, when that cannot cut into a reply already on its way, and closes it.
    func closeRefusing(_ client: Client, _ refusal: ConnectionRefusal) {
        log(.clientClosed(id: client.id, .refused(refusal)))
        counters.values.clientConnectionsDropped += 1
        if client.pipeline.isEmpty, client.unwrittenOutputBytes == 0,
            let descriptor = loop.descriptor(of: client.registration)
        {
            let reply = clientProtocol.refusalReply(refusal, status: publisher.routingStatus.status)
            // Best effort: the connection closes either way, and a client that does not read loses nothing more.
            reply.withUnsafeBytes { _ = try? descriptor.send($0) }
        }
        closeClient(client)
    }
}
