/// Why one attempt to reach the primary, or one connection to it, failed.
public enum ConnectionFailure: Equatable, Sendable, CustomStringConvertible {
    /// The TCP connect failed; `reason` is the system's.
    case connectFailed(address: String, reason: String)
    /// The node closed the connection, or reading or writing it failed.
    case connectionLost(address: String)
    /// The node took longer than `connectTimeout` to accept and answer, or `replySilenceTimeout` to reply.
    case timedOut(address: String)
    /// The node is not the primary (a backup, a joining or stopped node).
    case notPrimary(address: String)
    /// The node refused a request with a promise it did nothing (`READONLY`, `TRYAGAIN`, `MISCONF`, `LOADING`).
    case refused(address: String, reply: String)
    /// The node refused the password, or wants one and none was configured.
    case authenticationFailed(address: String, reply: String)
    /// The node sent something that is not a RESP2 reply, or a reply the client did not expect.
    case protocolViolation(address: String, problem: String)

    /// One sentence naming the node and what went wrong.
    public var description: String {
        switch self {
        case .connectFailed(let address, let reason): "cannot connect to \(address): \(reason)"
        case .connectionLost(let address): "the connection to \(address) was lost"
        case .timedOut(let address): "\(address) did not answer in time"
        case .notPrimary(let address): "\(address) is not the primary"
        case .refused(let address, let reply): "\(address) refused: \(reply)"
        case .authenticationFailed(let address, let reply): "\(address) did not accept the password: \(reply)"
        case .protocolViolation(let address, let problem): "\(address) broke the protocol: \(problem)"
        }
    }
}
