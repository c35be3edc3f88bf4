import Posix

/// Accepting: adopt each new connection into the table, or refuse it past `clientConnectionsLimit`.
extension ClientPort {
    // MARK: Accepting

    func acceptClients() {
        guard let listener else { return }
        loop.acceptPending(on: listener, role: "client", log: log) { socket in
            guard connectionCount < connectionsLimit else { return refuse(socket) }
            adopt(socket)
        }
    }

    /// Tells a client over the connection limit so (best effort) and closes it, as Redis does.
    private func refuse(_ socket: FileDescriptor) {
        counters.values.clientConnectionsDropped += 1
        refusedConnections += 1
        if refusedConnections == 1 || refusedConnections % 1_000 == 0 {
            log(.clientsRefused(total: refusedConnections, limit: connectionsLimit))
        }
        let reply = clientProtocol.refusalReply(
            .clientsLimitReached(limit: connectionsLimit), status: publisher.routingStatus.status)
        reply.withUnsafeBytes { _ = try? socket.send($0) }  // best effort: the client may already be gone
        try? socket.close()  // nothing is left to tell
    }

    private func adopt(_ socket: FileDescriptor) {
        let index = freeIndices.popLast() ?? clients.count
        if index == clients.count { clients.append(nil) }
        let registration: EventLoop.Registration
        do {
            registration = try loop.register(socket, interest: .readable) { [unowned self] events in
                clientEvent(events, at: index)
            }
        } catch {
            freeIndices.append(index)
            try? socket.close()  // the registration error is the one worth logging
            log(.clientClosed(id: 0, .cannotWatch(error)))
            return
        }
        let id = nextClientID
        nextClientID += 1
        // For CLIENT LIST's addr= and laddr= and MONITOR's lines; a socket that cannot say (already reset) shows none.
        let peerAddress = try? TCP.peerAddress(of: socket)
        let client = Client(
            index: index, id: id, registration: registration,
            session: clientProtocol.makeSession(clientID: id, peerAddress: peerAddress?.description),
            pendingRepliesLimit: pendingRepliesLimit)
        client.peerAddress = peerAddress
        client.localAddress = try? TCP.localAddress(of: socket)
        clients[index] = client
        connectionCount += 1
        counters.values.clientConnectionsAccepted += 1
    }
}
