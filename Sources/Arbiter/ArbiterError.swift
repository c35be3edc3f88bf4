import Glibc

/// Why the arbiter could not answer.
///
/// Every case means "unknown", and an unknown answer never lets anyone go live (DESIGN, protocol 4): the caller
/// logs the description and retries later or stays out of the live role. None of these is a reason to crash.
public enum ArbiterError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The shared directory is not there (not mounted, mistyped, removed).
    case directoryMissing(path: String)
    /// The directory or a record exists but may not be read, or the path is not a directory.
    case unreadable(path: String, reason: String)
    /// The directory may be read but not written, so no epoch can be taken.
    case readOnly(path: String)
    /// A file named for an epoch holds something other than a valid record for that epoch.
    ///
    /// Its epoch counts as taken by an unknown node: it is never handed out again and `current()` refuses to
    /// guess, until an operator repairs the file or retires the records with `DirectoryArbiter.reset()`.
    case corruptRecord(path: String, reason: String)
    /// Any other failed system call, named with its `errno`.
    case ioFailed(call: String, path: String, errno: Int32)
    /// The node's arbiter thread already has this many requests waiting (the arbiter hangs or is very slow).
    case overloaded(queuedRequests: Int)
    /// No endpoint of a coordination service (etcd) answered within its deadline: every one refused, timed out,
    /// closed the connection or answered 5xx. `lastFailure` says what the last one did.
    case unreachable(endpoints: [String], lastFailure: String)
    /// An endpoint answered, but not with anything the arbiter can trust (not HTTP, a 4xx, a body that is not the
    /// expected JSON, too long). The write it answered may or may not have happened.
    case badResponse(endpoint: String, reason: String)

    /// A stable snake_case name for this kind of error, for counters and metrics (the description is for people).
    public var code: String {
        switch self {
        case .directoryMissing: "directory_missing"
        case .unreadable: "unreadable"
        case .readOnly: "read_only"
        case .corruptRecord: "corrupt_record"
        case .ioFailed: "io_failed"
        case .overloaded: "overloaded"
        case .unreachable: "unreachable"
        case .badResponse: "bad_response"
        }
    }

    /// One sentence for the log: what went wrong, and that nobody goes live on the answer.
    public var description: String {
        switch self {
        case .directoryMissing(let path):
            "arbiter directory \(path) does not exist; nobody can go live until it is there"
        case .unreadable(let path, let reason):
            "arbiter \(path) cannot be read (\(reason)); the answer is unknown, so nobody goes live on it"
        case .readOnly(let path):
            "arbiter directory \(path) cannot be written; no epoch can be taken, so nobody goes live"
        case .corruptRecord(let path, let reason):
            "arbiter record \(path) is corrupt (\(reason)); its epoch stays taken by an unknown node until an "
                + "operator repairs it or runs reset"
        case .ioFailed(let call, let path, let errno):
            "\(call) on arbiter \(path) failed with errno \(errno) (\(String(cString: strerror(errno)))); "
                + "the answer is unknown, so nobody goes live on it"
        case .overloaded(let queuedRequests):
            "the arbiter has \(queuedRequests) requests queued and answers none yet; the answer is unknown, so "
                + "nobody goes live on it"
        case .unreachable(let endpoints, let lastFailure):
            "no arbiter endpoint answered (\(endpoints.joined(separator: ", ")); last: \(lastFailure)); the answer "
                + "is unknown, so nobody goes live on it"
        case .badResponse(let endpoint, let reason):
            "arbiter endpoint \(endpoint) answered something unusable (\(reason)); the answer is unknown, so "
                + "nobody goes live on it"
        }
    }
}
