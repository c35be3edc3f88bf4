/// Why the arbiter could not answer. Every case means "unknown": nobody goes live on it.
public enum ArbiterError: Error, Equatable, Sendable, CustomStringConvertible {
    case directoryMissing(path: String)
    case unreadable(path: String, reason: String)
    case readOnly(path: String)
    case corruptRecord(path: String, reason: String)
    case ioFailed(call: String, path: String, errno: Int32)

    public var description: String {
        switch self {
        case .directoryMissing(let path): "arbiter directory \(path) does not exist; nobody can go live until it does"
        case .unreadable(let path, let reason): "arbiter \(path) cannot be read (\(reason)); nobody goes live on an unknown answer"
        case .readOnly(let path): "arbiter directory \(path) is read-only; no epoch can be taken"
        case .corruptRecord(let path, let reason): "arbiter record \(path) is corrupt (\(reason)); it is not taken as free, fix or remove it"
        case .ioFailed(let call, let path, let errno): "\(call) on arbiter \(path) failed with errno \(errno); answer unknown, nobody goes live on it"
        }
    }
}
