import Glibc
import Primary
import Posix
import Replication

/// The client port: accept, read, parse into reply slots and the round's batch, write replies in order.
extension NodeDriver {
    // MARK: Accepting

    func acceptClients() {
        for _ in 0..<Self.clientAcceptsPerEventLimit {
            guard let clientListener, let listener = loop.descriptor(of: clientListener) else { return }
            let accepted: FileDescriptor?
            do {
                accepted = try TCP.accept(from: listener)
            } catch {
                // EMFILE and the like: level-triggered epoll would report the pending connection again at once.
                log(.acceptFailed(role: "client", error))
                try? loop.setInterest([], for: clientListener)  // if even this fails, the retry below still runs
                loop.schedule(after: Self.clientAcceptRetryDelay) { [weak self] in
                    guard let self, let clientListener = self.clientListener else { return }
                    try? loop.setInterest(.readable, for: clientListener)  // failing here means no more accepts
                }
                return
            }
            guard let socket = accepted else { return }
            guard clientCount < configuration.clientConnectionsLimit else {
                refuse(socket)
                continue
            }
            adopt(socket)
        }
    }

    /// Tells a client over the connection limit to retry (best effort) and closes it, as Redis does.
    private func refuse(_ socket: FileDescriptor) {
        counters.clientConnectionsDropped += 1
        refusedConnections += 1
        if refusedConnections == 1 || refusedConnections % 1_000 == 0 {
            log(.clientsRefused(total: refusedConnections, limit: configuration.clientConnectionsLimit))
        }
        let reply = clientProtocol.rejectionReply(
            reason: "max number of clients reached (\(configuration.clientConnectionsLimit))",
            status: routingStatus.status)
        reply.withUnsafeBytes { _ = try? socket.send($0) }  // best effort: the client may already be gone
        try? socket.close()  // nothing is left to tell
    }

    private func adopt(_ socket: FileDescriptor) {
        let index = freeClientIndices.popLast() ?? clients.count
        if index == clients.count { clients.append(nil) }
        let registration: EventLoop.Registration
        do {
            registration = try loop.register(socket, interest: .readable) { [weak self] events in
                self?.clientEvent(events, at: index)
            }
        } catch {
            freeClientIndices.append(index)
            try? socket.close()  // the registration error is the one worth logging
            log(.clientClosed(id: 0, .cannotWatch(error)))
            return
        }
        let id = nextClientID
        nextClientID += 1
        clients[index] = Client(
            index: index, id: id, registration: registration, session: clientProtocol.makeSession(clientID: id),
            pendingRepliesLimit: configuration.clientPendingRepliesLimit)
        clientCount += 1
        counters.clientConnectionsAccepted += 1
    }

    // MARK: Reading and parsing

    private func clientEvent(_ events: EventLoop.Events, at index: Int) {
        guard let client = clients[index], !client.isClosed else { return }
        if !events.isDisjoint(with: [.hangup, .error]) {
            // A reset (or both directions shut): nothing can reach the client any more.
            closeClient(client)
            return
        }
        if events.contains(.writable) { flush(client) }
        if events.contains(.readable), !client.isClosed { read(client) }
    }

    /// Whether the client's socket should be read, but for a paused intake. An exiting node reads on (see
    /// `beginExit`): a request left unread would be cut off when the connection closes.
    private func isReadable(_ client: Client) -> Bool {
        !client.isClosed && !client.isBacklogged && !client.pipeline.isFull && !client.isInputClosed
            && !client.isClosingAfterOutput
    }

    /// Sets the client's epoll interest from its state; cheap when nothing changes.
    func updateInterest(_ client: Client) {
        guard !client.isClosed else { return }
        var interest: EventLoop.Interest = []
        if isReadable(client) {
            if isIntakePaused {
                if !client.isListedAsPaused {
                    client.isListedAsPaused = true
                    pausedClients.append(client)
                }
            } else {
                interest.insert(.readable)
            }
        }
        if client.unwrittenOutputBytes > 0 { interest.insert(.writable) }
        guard interest != client.watchedInterest else { return }
        do {
            try loop.setInterest(interest, for: client.registration)
            client.watchedInterest = interest
        } catch {
            log(.clientClosed(id: client.id, .cannotWatch(error)))
            closeClient(client)
        }
    }

    func read(_ client: Client) {
        guard isReadable(client), !isIntakePaused else {
            // Turned off lazily: only connections that speak while reading is paused cost an epoll_ctl.
            updateInterest(client)
            return
        }
        guard let descriptor = loop.descriptor(of: client.registration) else { return }
        let count: Int?
        do {
            count = try descriptor.read(into: clientReadBuffer)
        } catch {
            closeClient(client)  // a reset client: nobody to tell
            return
        }
        guard let count else { return }
        if isExiting { client.lastActivityNanoseconds = monotonicNanoseconds() }
        if count == 0 {
            // End of stream: answer what was asked, then close (a client may shut down its sending side and
            // wait for the replies).
            client.isInputClosed = true
            if client.isDone { closeClient(client) } else { updateInterest(client) }
            return
        }
        clientProtocol.append(UnsafeRawBufferPointer(rebasing: clientReadBuffer[..<count]), to: &client.session)
        parse(client)
    }

    /// Parses every complete request the client has sent, until its pipeline or the round's batch is full (then
    /// it joins the backlog and is parsed again next round, before new reads).
    func parse(_ client: Client) {
        var hasNewReplies = false
        // Nothing below changes it: the core sees these requests at the round's end.
        let snapshot = routingStatus
        let intakeBatchLimit = core.configuration.primaryLimits.intakeBatchLimit
        parsing: while !client.isClosed, !client.isClosingAfterOutput {
            if client.pipeline.isFull || batch.count >= intakeBatchLimit
                || batchBytes >= configuration.intakeBatchBytesLimit
            {
                if !client.isBacklogged {
                    client.isBacklogged = true
                    backlog.append(client)
                }
                break
            }
            guard
                let request = clientProtocol.nextRequest(
                    from: &client.session, status: snapshot.status, digest: { core.machine?.digest() })
            else { break }
            switch request {
            case .local(let reply):
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
            case .quit(let reply):
                client.pipeline.appendFilled(reply)
                client.isClosingAfterOutput = true
                hasNewReplies = true
                break parsing
            case .malformed(let reply):
                log(.clientClosed(id: client.id, .brokeProtocol))
                client.pipeline.appendFilled(reply)
                client.isClosingAfterOutput = true
                hasNewReplies = true
                break parsing
            case .replicated where isExiting:
                // Nothing reaches the core any more, so this command will never run: say so, and where to go.
                let reply = clientProtocol.rejectionReply(reason: exitRefusalReason, status: snapshot.status)
                client.pipeline.appendFilled(reply)
                hasNewReplies = true
            case .replicated(let bytes):
                guard bytes.count + RuntimeConfiguration.entryOverheadBytesLimit <= configuration.frameBodyBytesLimit
                else {
                    // The protocol promised `replicatedBytesLimit`; refuse rather than send a frame the peer rejects.
                    let reason = "the command's \(bytes.count) bytes do not fit a log entry"
                    client.pipeline.appendFilled(clientProtocol.rejectionReply(reason: reason, status: snapshot.status))
                    hasNewReplies = true
                    continue
                }
                let tag = UInt64(client.index) << Self.tagIndexShift | nextTagSerial
                // Serials wrap after 2^40 commands; by then no reply from the first lap can still be pending.
                nextTagSerial = nextTagSerial >= (1 << Self.tagIndexShift) - 1 ? 1 : nextTagSerial + 1
                client.pipeline.appendAwaiting(tag: tag)
                client.unhandedCount += 1
                batch.append(ClientCommand(tag: tag, bytes: bytes))
                batchBytes += bytes.count
            }
        }
        if hasNewReplies { queueFlush(client) }
        updateInterest(client)
    }

    /// The round-end step: every command gathered this round goes to the core in one event.
    func handBatchToCore() {
        guard !batch.isEmpty, !isIntakePaused, !isExiting else { return }
        var commands: [ClientCommand] = []
        swap(&commands, &batch)
        batchBytes = 0
        for command in commands {
            clients[Int(command.tag >> Self.tagIndexShift)]?.unhandedCount -= 1
        }
        counters.clientCommands += UInt64(commands.count)
        counters.clientBatches += 1
        drive(.commandsArrived(commands))
        // The core keeps no batch: the array's storage serves the next one.
        commands.removeAllKeepingStorage()
        if batch.isEmpty { swap(&commands, &batch) }
    }

    /// Parses backlogged connections into the next batch, so they go before anything read next round.
    func processBacklog() {
        guard !backlog.isEmpty, !isIntakePaused else { return }  // exiting, backlogged requests are refused
        var waiting: [Client] = []
        swap(&waiting, &backlog)
        for client in waiting where !client.isClosed {
            client.isBacklogged = false
            parse(client)  // rejoins the backlog if it stalls again
        }
    }

    func resumeIntake() {
        guard isIntakePaused else { return }
        isIntakePaused = false
        var paused: [Client] = []
        swap(&paused, &pausedClients)
        for client in paused {
            client.isListedAsPaused = false
            updateInterest(client)
        }
        // The batch and the backlog waited for this; they go next round even if no socket becomes ready.
        if !batch.isEmpty || !backlog.isEmpty { armWakeNextRound() }
    }

    // MARK: Replies

    private func client(for tag: UInt64) -> Client? {
        let index = Int(tag >> Self.tagIndexShift)
        guard index < clients.count, let client = clients[index], !client.isClosed else { return nil }
        return client
    }

    func release(_ replies: [Reply]) {
        for reply in replies {
            guard let client = client(for: reply.tag), client.pipeline.fill(tag: reply.tag, with: reply.bytes)
            else { continue }
            queueFlush(client)
        }
    }

    func reject(_ tags: [UInt64], reason: String) {
        let reply = clientProtocol.rejectionReply(reason: reason, status: routingStatus.status)
        for tag in tags {
            guard let client = client(for: tag), client.pipeline.fill(tag: tag, with: reply) else { continue }
            queueFlush(client)
        }
    }

    /// Answers every command still in the batch with a refusal: none of them reached the core.
    func rejectBatch(reason: String) {
        guard !batch.isEmpty else { return }
        let commands = batch
        batch.removeAll()
        batchBytes = 0
        for command in commands {
            clients[Int(command.tag >> Self.tagIndexShift)]?.unhandedCount -= 1
        }
        reject(commands.map(\.tag), reason: reason)
    }

    /// The core will never release what it withholds: close every connection waiting for such a reply. Its client
    /// cannot know whether the command took effect, and any answer from here would be a guess.
    func discardWithheld(reason: StopReason) {
        var closed = 0
        for case let client? in clients where client.handedCount > 0 {
            closeClient(client)
            closed += 1
        }
        counters.clientConnectionsDropped += UInt64(closed)
        if closed > 0 {
            log(.withheldRepliesDiscarded(connections: closed, reason))
        }
    }

    // MARK: Writing

    func queueFlush(_ client: Client) {
        guard !client.isFlushQueued, !client.isClosed else { return }
        client.isFlushQueued = true
        flushList.append(client)
        guard !isClientFlushQueued else { return }
        isClientFlushQueued = true
        loop.runAfterRound(flushClientsTask)
    }

    /// After the round: one `send` per client with new replies.
    func flushClients() {
        isClientFlushQueued = false
        swap(&flushing, &flushList)
        for client in flushing {
            client.isFlushQueued = false
            if !client.isClosed { flush(client) }
        }
        flushing.removeAllKeepingStorage()
        checkExitComplete()
    }

    /// Moves ready replies to the output and writes as much as the kernel takes in one call.
    private func flush(_ client: Client) {
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
                if isExiting, written > 0 { client.lastActivityNanoseconds = monotonicNanoseconds() }
            case .success(nil): break
            case .failure:
                closeClient(client)  // the client went away; its replies have nobody to go to
                return
            }
        }
        if client.unwrittenOutputBytes > configuration.clientOutputBytesLimit {
            log(.clientClosed(
                id: client.id, .outputUnread(bytes: client.unwrittenOutputBytes, limit: configuration.clientOutputBytesLimit)))
            counters.clientConnectionsDropped += 1
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
        client.isClosed = true
        if client.unhandedCount > 0 {
            // Never executed, and nobody is left to answer: drop them before they reach the core.
            let index = client.index
            batch.removeAll { Int($0.tag >> Self.tagIndexShift) == index }
            batchBytes = batch.reduce(0) { $0 + $1.bytes.count }
            client.unhandedCount = 0
        }
        loop.close(client.registration)
        clients[client.index] = nil
        freeClientIndices.append(client.index)
        clientCount -= 1
        if isExiting { checkExitComplete() }
    }
}
