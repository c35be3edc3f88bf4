import Posix
import Replication

/// Blocking commands (`ClientRequest.blocking`, Redis's BLPOP): a connection whose command waits for another client's.
///
/// The command goes through the log like any other. When its released reply says the asker waits (the protocol's
/// `routedReply`), its slot stays open and the connection is parsed no further; a later entry that serves it carries
/// its reply inside that entry's own, and the runtime fills the waiting slot from there. So a waiter's reply leaves
/// under the output rule, in log order, like every reply. A wait ends in the log too: after its timeout, or when its
/// connection closes, the runtime hands the core the protocol's `unblockRequest`, whose entry answers the waiter (if
/// no entry served it first) and tells the state it waits no longer. Nothing here costs anything until a connection
/// first blocks: the release checks one flag.
extension ClientPort {
    /// Where the runtime's own commands (the unblock requests) keep their index in a tag: beyond any connection's, so
    /// no slot waits for their replies, which are dropped.
    static var runtimeIndex: Int { (1 << 24) - 1 }

    /// Takes note of a blocking command handed to the batch under `tag`: the connection is parsed no further until
    /// it is answered.
    func noteBlocking(_ client: Client, tag: UInt64, timeout: Duration?) {
        client.blockingTag = tag
        client.blockingTimeout = timeout
        blockedClients[client.id] = client
        hasBlocked = true
    }

    /// Routes a released reply: fills the slots of the waiters it answers and returns the asker's own reply, or nil
    /// when the asker waits (its slot stays open).
    func route(_ bytes: ArraySlice<UInt8>, tag: UInt64) -> ArraySlice<UInt8>? {
        guard let routed = clientProtocol.routedReply(bytes) else { return bytes }
        for delivery in routed.deliveries {
            // A waiter whose connection closed is gone: its unblock request was on its way, and nobody reads the reply.
            guard let waiter = blockedClients[delivery.connectionID], let waiting = waiter.blockingTag else { continue }
            if waiter.pipeline.fill(tag: waiting, with: delivery.reply[...]) { queueFlush(waiter) }
            endBlocking(waiter)
        }
        guard let own = routed.own else {
            let index = Int(tag >> Self.tagIndexShift)
            if index < clients.count, let client = clients[index], client.blockingTag == tag { startWaiting(client) }
            return nil
        }
        return own[...]
    }

    /// The blocking command's reply said it waits: its timeout starts now.
    private func startWaiting(_ client: Client) {
        guard let timeout = client.blockingTimeout, client.blockingTimer == nil else { return }
        let tag = client.blockingTag
        client.blockingTimer = loop.schedule(after: timeout) { [unowned self, weak client] in
            guard let client, !client.isClosed, client.blockingTag == tag else { return }
            client.blockingTimer = nil
            submitUnblock(for: client, isError: false)
        }
    }

    /// The connection's blocking command is answered: it is parsed again, from what it sent meanwhile.
    func endBlocking(_ client: Client) {
        guard client.blockingTag != nil else { return }
        client.blockingTag = nil
        client.blockingTimeout = nil
        if let timer = client.blockingTimer { loop.cancel(timer) }
        client.blockingTimer = nil
        blockedClients[client.id] = nil
        guard !client.isClosed, !client.isBacklogged else { return }
        client.isBacklogged = true
        backlog.append(client)
        armWakeNextRound()
    }

    /// Hands the core the protocol's request that ends the connection's wait; its reply goes to no slot. At most one
    /// per blocked connection, so the connections limit bounds them beyond the batch's own bound.
    func submitUnblock(for client: Client, isError: Bool) {
        let tag = UInt64(Self.runtimeIndex) << Self.tagIndexShift | nextTagSerial
        nextTagSerial = nextTagSerial >= (1 << Self.tagIndexShift) - 1 ? 1 : nextTagSerial + 1
        let bytes = clientProtocol.unblockRequest(session: client.session, isError: isError)
        batch.append(ClientCommand(tag: tag, bytes: bytes))
        batchBytes += bytes.count
        armWakeNextRound()
    }

    /// Whether the connection's blocking command waits in the state machine (or is on its way there), as CLIENT LIST's
    /// `b` flag and CLIENT UNBLOCK see it.
    func isBlocked(_ client: Client) -> Bool {
        client.blockingTag != nil && client.unhandedCount == 0
    }

    /// Another connection asked to end `id`'s wait (CLIENT UNBLOCK): as a timeout does, or with an error reply.
    func unblock(id: UInt64, isError: Bool) {
        guard let client = blockedClients[id], isBlocked(client), !isDraining else { return }
        submitUnblock(for: client, isError: isError)
    }

    /// A blocked connection closes: once its command reached the core, the state must hear that it waits no more.
    func closeBlocking(_ client: Client) {
        guard client.blockingTag != nil, blockedClients[client.id] === client else { return }
        let wasHanded = client.unhandedCount == 0  // a blocking command is the last its connection sent
        if let timer = client.blockingTimer { loop.cancel(timer) }
        client.blockingTimer = nil
        client.blockingTag = nil
        blockedClients[client.id] = nil
        if wasHanded, !isDraining { submitUnblock(for: client, isError: false) }
    }
}
