import Posix
import Replication

/// Requests about every connection (`ClientRequest.aboutConnections`): CLIENT LIST and CLIENT KILL.
extension ClientPort {
    /// The protocol's answer about every open connection, the asker's included; closes the connections it names,
    /// the asker's own once its reply is out. Costs time in proportion to the connections (`connectionsLimit`).
    func answerAboutConnections(_ query: [UInt8], from asker: Client, status: NodeStatus) -> [UInt8] {
        var open: [OpenConnection<P.Session>] = []
        open.reserveCapacity(connectionCount)
        var asking: OpenConnection<P.Session>?
        for case let client? in clients where !client.isClosed {
            let view = OpenConnection(
                id: client.id, session: client.session, peerAddress: client.peerAddress?.description ?? "",
                localAddress: client.localAddress?.description ?? "",
                descriptor: loop.descriptor(of: client.registration)?.rawValue ?? -1, isBlocked: isBlocked(client))
            if client === asker { asking = view }
            open.append(view)
        }
        guard let asking else { preconditionFailure("a connection asked while closed") }
        let answer = clientProtocol.answer(connectionsQuery: query, from: asking, among: open, status: status)
        let closing = Set(answer.closing)
        var killed: [Client] = []
        for case let client? in clients where closing.contains(client.id) && !client.isClosed && client !== asker {
            killed.append(client)
        }
        if closing.contains(asker.id) { asker.isClosingAfterOutput = true }
        if let first = killed.first {
            log(.clientClosed(id: first.id, .killed(byClient: asker.id, others: killed.count - 1)))
        }
        for client in killed {
            counters.values.clientConnectionsDropped += 1
            closeClient(client)
        }
        if let unblocking = answer.unblocking { unblock(id: unblocking.id, isError: unblocking.isError) }
        return answer.reply
    }
}
