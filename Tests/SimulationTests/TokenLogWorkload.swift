import LogChannel
import Replication

/// The token log's workload: plain clients append unique tokens and read keys; session clients number their
/// appends (`Simulation+SessionClients`); the records below are what the token-log checkers hold the state against.
struct TokenLogWorkload: SimulationWorkload {
    static var emptyMachine: TokenLog { TokenLog() }

    /// Tokens of acknowledged appends, in the order their replies left.
    var acked: [UInt64] = []
    /// Tokens of every append sent, whatever became of it.
    var writtenTokens: Set<UInt64> = []
    /// Tokens of session appends, whatever became of them.
    var sessionTokens: Set<UInt64> = []
    /// Tokens of session appends whose outcome a client can no longer learn: its session was gone, or the number
    /// older than the replies kept.
    var sessionOutcomesUnknown: [UInt64] = []
    var linearizability = LinearizabilityChecker()

    mutating func request(tag: UInt64, on link: ClientLink, at now: Instant, random: inout SeededRandom) -> [UInt8] {
        let key = Int(random.next() % UInt64(TokenLog.keyCount))
        let command: TokenLog.Command = random.next() % 4 == 0 ? .read(key: key) : .append(key: key, token: tag)
        if case .append = command { writtenTokens.insert(tag) }
        linearizability.invoked(command, tag: tag, at: now)
        return command.encoded
    }

    mutating func responded(tag: UInt64, with reply: [UInt8], at now: Instant) -> String? {
        let complaint = linearizability.responded(tag: tag, with: reply, at: now)
        if case .appended? = TokenLog.Answer(decoding: reply) { acked.append(tag) }
        return complaint
    }

    mutating func rejected(tag: UInt64) { linearizability.rejected(tag: tag) }

    mutating func lost(tag: UInt64) { linearizability.lost(tag: tag) }

    func missingAcknowledged(in machine: TokenLog) -> String? {
        let held = Set(machine.tokens)
        let missing = acked.filter { !held.contains($0) }
        return missing.isEmpty ? nil : "missing acked tokens \(missing.prefix(5))"
    }

    static func sessionEvent(_ event: Simulation.Event, in simulation: inout Simulation) {
        switch event {
        case .sessionConnect(let client, let generation): simulation.sessionConnect(client, generation: generation)
        case .sessionSend(let client): simulation.sessionSend(client)
        case .sessionTimeout(let client, let generation): simulation.sessionTimeout(client, generation: generation)
        default: preconditionFailure("\(event) is not a session client's")
        }
    }

    static func sessionReplied(_ tag: UInt64, with reply: [UInt8], in simulation: inout Simulation) -> Bool {
        simulation.sessionReplied(tag, with: reply)
    }

    static func sessionRejected(_ tag: UInt64, in simulation: inout Simulation) -> Bool {
        simulation.sessionRejected(tag)
    }

    static func loseSessionConnections(at index: Int, in simulation: inout Simulation) {
        simulation.loseSessionConnections(at: index)
    }
}
