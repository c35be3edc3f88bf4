import Posix

/// Why a part of the benchmark could not run: one sentence a person can act on.
///
/// A failed group is reported and skipped; the run goes on with the others, because a partial report (the floors
/// and Redis without Lockstep, say) is still worth having.
public enum BenchmarkError: Error, CustomStringConvertible, Sendable {
    case system(SystemError)
    /// Something did not happen before its deadline (a node never caught up, a reply never came).
    case timedOut(String)
    /// A server answered something the harness cannot use.
    case unexpectedReply(String)
    /// A process could not be started or died during setup; the text includes its log's last lines.
    case setupFailed(String)

    public var description: String {
        switch self {
        case .system(let error): "\(error)"
        case .timedOut(let what): "timed out: \(what)"
        case .unexpectedReply(let what): "unexpected reply: \(what)"
        case .setupFailed(let what): what
        }
    }
}
