import LogChannel
import Replication

/// Clients: each keeps a seeded number of reads and appends in flight on one connection, and goes to the
/// other node when refused. What they send and how their replies are judged is the workload's.
extension PairSimulation {
    struct Client {
        /// The most requests one client keeps in flight, as a pipelining Redis client does.
        static var pipelineDepthLimit: Int { 8 }

        /// How many requests this client keeps in flight (1 to `pipelineDepthLimit`, seeded).
        var pipelineDepth: Int
        var inFlight: [(tag: UInt64, node: Int)] = []
        var target = 0
        /// When the last request reaches each node: one connection delivers requests in the order sent.
        var lastArrival: [Instant] = [.zero, .zero]
    }

    /// Starts a client: each slot of its pipeline sends its first request a little apart.
    mutating func startClient(_ client: Int) {
        for slot in 0..<clients[client].pipelineDepth {
            schedule(.clientStep(client), after: .milliseconds(5) + .microseconds(Int64(slot) * 300))
        }
    }

    /// One slot of the client's pipeline sends its next request. Each reply, refusal or loss frees a slot and
    /// schedules its next step, so a client never has more than `pipelineDepth` requests in flight.
    mutating func clientStep(_ client: Int) {
        guard clientsActive, clients[client].inFlight.count < clients[client].pipelineDepth else { return }
        let target = clients[client].target
        guard nodes[target].isUp else {
            clients[client].target = 1 - target   // connection refused: try the other node
            schedule(.clientStep(client), after: .milliseconds(3))
            return
        }
        let tag = nextTag
        nextTag += 1
        attempted += 1
        let link = ClientLink(
            client: client, node: target, incarnation: nodes[target].incarnation, servingTerm: nodes[target].servingTerm)
        let command = workload.request(tag: tag, on: link, at: now, random: &random)
        tagToClient[tag] = client
        clients[client].inFlight.append((tag, target))
        let at = max(now + latency(), clients[client].lastArrival[target])
        clients[client].lastArrival[target] = at
        queue.push(.node(target, incarnation: nodes[target].incarnation,
                         .commandsArrived([ClientCommand(tag: tag, bytes: command)])), at: at)
    }

    /// Removes `tag` from its client's pipeline; nil if it is no longer in flight.
    private mutating func takeInFlight(_ tag: UInt64) -> Int? {
        guard let client = tagToClient.removeValue(forKey: tag),
            let index = clients[client].inFlight.firstIndex(where: { $0.tag == tag })
        else { return nil }
        clients[client].inFlight.remove(at: index)
        return client
    }

    /// A reply left the primary: the clients it answers have theirs now, and a blocked asker starts its timeout.
    mutating func replied(_ tag: UInt64, with reply: [UInt8]) {
        if Workload.sessionReplied(tag, with: reply, in: &self) { return }
        unblockTags[tag] = nil   // the runtime reads no reply of its own requests; the routed ones below count
        let routed = workload.route(tag: tag, reply: reply)
        for (answeredTag, answer) in routed.replies { answered(answeredTag, with: answer) }
        if let wait = routed.wait, let client = tagToClient[tag],
            let node = clients[client].inFlight.first(where: { $0.tag == tag })?.node
        {
            schedule(.unblock(tag: tag, node: node, incarnation: nodes[node].incarnation, wait.unblock),
                     after: wait.timeout)
        }
    }

    /// The runtime of `node` ends blocked request `tag`'s wait, if it still waits there: the unblock request goes
    /// to the core as the runtime's own, at once and with no client latency.
    mutating func unblock(_ tag: UInt64, at node: Int, incarnation: Int, with bytes: [UInt8]) {
        guard let client = tagToClient[tag],
            clients[client].inFlight.contains(where: { $0.tag == tag && $0.node == node }),
            nodes[node].incarnation == incarnation, nodes[node].isUp
        else { return }
        let runtimeTag = nextTag
        nextTag += 1
        unblockTags[runtimeTag] = tag
        let command = ClientCommand(tag: runtimeTag, bytes: bytes)
        queue.push(.node(node, incarnation: incarnation, .commandsArrived([command])), at: now)
    }

    /// The reply to `tag` reached its client.
    private mutating func answered(_ tag: UInt64, with reply: [UInt8]) {
        guard let client = takeInFlight(tag) else { return }
        if let complaint = workload.responded(tag: tag, with: reply, at: now) { report(.linearizability, complaint) }
        // Each slot of the pipeline thinks as long as a lone request would: pipelining overlaps requests
        // without multiplying the load, which the limits and faults, not the clients, are there to vary.
        let thinking = Int64(clients[client].pipelineDepth) * Int64(2_000 + random.next() % 6_000)
        schedule(.clientStep(client), after: .microseconds(thinking))
    }

    /// The node is not the primary and did not execute the command: try the other.
    mutating func rejected(_ tag: UInt64) {
        if Workload.sessionRejected(tag, in: &self) { return }
        if let waiting = unblockTags.removeValue(forKey: tag) {
            // The node no longer serves, so nothing ends the wait there: the blocked request's outcome is unknown.
            guard let client = takeInFlight(waiting) else { return }
            workload.lost(tag: waiting)
            unknown += 1
            schedule(.clientStep(client), after: .milliseconds(5))
            return
        }
        guard let client = takeInFlight(tag) else { return }
        workload.rejected(tag: tag)
        clients[client].target = 1 - clients[client].target
        schedule(.clientStep(client), after: .milliseconds(5))
    }

    /// Node `index` died or dropped its withheld replies: every request in flight to it has an unknown outcome.
    mutating func loseRequests(at index: Int) {
        Workload.loseSessionConnections(at: index, in: &self)
        for client in clients.indices {
            let lost = clients[client].inFlight.filter { $0.node == index }
            guard !lost.isEmpty else { continue }
            clients[client].inFlight.removeAll { $0.node == index }
            for request in lost {
                tagToClient[request.tag] = nil
                workload.lost(tag: request.tag)
                unknown += 1
                schedule(.clientStep(client), after: .milliseconds(5))
            }
        }
    }
}
