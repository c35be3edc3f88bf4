import Posix
import Primary
import Replication

/// Replies: filling slots by tag, writing each connection's ready replies once per round, closing connections.
extension ClientPort {
    // MARK: The core's reply actions

    private func client(for tag: UInt64) -> Client? {
        let index = Int(tag >> Self.tagIndexShift)
        guard index < clients.count, let client = clients[index], !client.isClosed else { return nil }
        return client
    }

    /// Fills each reply's slot. The bytes move into the slots, leaving the replies empty: copied, each would be
    /// retained and released once more, and the array goes back to the core for its storage only. Consecutive
    /// replies mostly go to one connection (its pipelined requests), which is looked up once for all of them.
    func release(_ replies: inout [Reply]) {
        var client: Client?
        var hasFilled = false
        for index in replies.indices {
            let tag = replies[index].tag
            let isBroadcast = !broadcastTags.isEmpty && broadcastTags.remove(tag) != nil
            if hasBlocked {
                guard let own = route(replies[index].bytes, tag: tag) else { continue }  // the asker waits
                replies[index].bytes = own
            }
            // A write's keyspace notifications, or a tick's (whose tag names no connection), ride in replies of
            // commands that were not broadcasts.
            if isBroadcast || clientProtocol.carriesBroadcast(replies[index].bytes) {
                // After the routing, as the messages ride in the asker's own reply (a transaction may also serve
                // waiters). Delivered whether or not the asker is still there: the command ran.
                replies[index].bytes = deliverBroadcast(replies[index].bytes)[...]
            }
            if client?.index != Int(tag >> Self.tagIndexShift) {
                if hasFilled, let client { queueFlush(client) }
                client = self.client(for: tag)
                hasFilled = false
            }
            guard let client else { continue }
            var bytes: ArraySlice<UInt8> = []
            swap(&bytes, &replies[index].bytes)
            if client.pipeline.fill(tag: tag, with: bytes) {
                hasFilled = true
                if client.blockingTag == tag { endBlocking(client) }
            }
        }
        if hasFilled, let client { queueFlush(client) }
    }

    func reject(_ tags: [UInt64], reason: String) {
        forgetBroadcasts(tags)
        let reply = clientProtocol.rejectionReply(reason: reason, status: publisher.routingStatus.status)
        var rejected = 0
        defer { clientProtocol.noteRejections(reply, count: rejected) }
        for tag in tags {
            guard let client = client(for: tag), client.pipeline.fill(tag: tag, with: reply[...]) else { continue }
            rejected += 1
            if client.blockingTag == tag { endBlocking(client) }
            queueFlush(client)
        }
    }

    /// Answers every command still in the batch with a refusal: none of them reached the core.
    func rejectBatch(reason: String) {
        guard !batch.isEmpty else { return }
        let commands = batch
        batch.removeAll()
        batchBytes = 0
        for command in commands { noteHanded(command.tag) }
        reject(commands.map(\.tag), reason: reason)
    }

    /// The core will never release what it withholds: close every connection waiting for such a reply. Its client
    /// cannot know whether the command took effect, and any answer from here would be a guess.
    func discardWithheld(reason: StopReason) {
        // Waiters are closed below like every connection waiting for the core; their state goes with this primary's.
        blockedClients.removeAll()
        var closed = 0
        for case let client? in clients where client.handedCount > 0 {
            closeClient(client)
            closed += 1
        }
        broadcastTags.removeAll()  // whatever the core held it will never release
        counters.values.clientConnectionsDropped += UInt64(closed)
        if closed > 0 {
            log(.withheldRepliesDiscarded(connections: closed, reason))
        }
    }

    // MARK: Writing

    func queueFlush(_ client: Client) {
        guard !client.isFlushQueued, !client.isClosed else { return }
        client.isFlushQueued = true
        flushList.append(client)
        guard !isFlushQueued else { return }
        isFlushQueued = true
        loop.runAfterRound(flushTask)
    }

    /// After the round: one `send` per client with new replies.
    func flushClients() {
        // Before the flag clears: the monitors join this flush rather than queueing another.
        if monitoringCount > 0 { pushFeed() }
        isFlushQueued = false
        swap(&flushing, &flushList)
        for client in flushing {
            client.isFlushQueued = false
            if !client.isClosed { flush(client) }
        }
        flushing.removeAllKeepingStorage()
        if isDraining { exitDrain?.checkComplete() }
    }

    /// Moves ready replies to the output and writes as much as the kernel takes in one call.
    func flush(_ client: Client) {
        client.drainPipeline()
        if client.unwrittenOutputBytes > 0 {
            guard let descriptor = loop.descriptor(of: client.registration) else { return }
            let offset = client.outputOffset
            let result: Result<Int?, SystemError> = client.output.withUnsafeBytes { bytes in
                do throws(SystemError) {
                    return .success(try descriptor.send(UnsafeRawBufferPointer(rebasing: bytes[offset...])))
                } catch {
                    return .failure(error)
                }
            }
            switch result {
            case .success(let written?):
                client.markWritten(written)
                if isDraining, written > 0 { client.lastActivityNanoseconds = monotonicNanoseconds() }
            case .success(nil): break
            case .failure:
                closeClient(client)  // the client went away; its replies have nobody to go to
                return
            }
        }
        if client.unwrittenOutputBytes > outputBytesLimit {
            log(.clientClosed(
                id: client.id, .outputUnread(bytes: client.unwrittenOutputBytes, limit: outputBytesLimit)))
            counters.values.clientConnectionsDropped += 1
            closeClient(client)
            return
        }
        if client.isDone {
            closeClient(client)
            return
        }
        // Replies left the pipeline: a client stalled on a full pipeline can be parsed again.
        if client.isBacklogged, !client.pipeline.isFull { armWakeNextRound() }
        updateInterest(client)
    }

    // MARK: Closing

    func closeClient(_ client: Client) {
        guard !client.isClosed else { return }
        closeBlocking(client)  // before its unhanded commands go: it asks whether its blocking command was handed
        client.isClosed = true
        setListening(client, false)
        setMonitoring(client, false)
        if client.unhandedCount > 0 {
            // Never executed, and nobody is left to answer: drop them before they reach the core.
            let index = client.index
            forgetBroadcasts(batch.lazy.map(\.tag).filter { Int($0 >> Self.tagIndexShift) == index })
            forgetBroadcasts(client.parkedCommand.map { [$0.tag] } ?? [])
            batch.removeAll { Int($0.tag >> Self.tagIndexShift) == index }
            batchBytes = batch.reduce(0) { $0 + $1.bytes.count }
            client.unhandedCount = 0
            client.parkedCommand = nil
        }
        loop.close(client.registration)
        clients[client.index] = nil
        freeIndices.append(client.index)
        connectionCount -= 1
        if isDraining { exitDrain?.checkComplete() }
    }
}
