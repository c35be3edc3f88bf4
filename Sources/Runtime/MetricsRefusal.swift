/// Why the metrics port answered a connection with something other than the metrics, and the HTTP status it got.
///
/// Each is counted (`lockstep_metrics_refusals_total{code}`, and `metrics_refusals_<code>` in INFO) and logged at
/// the first and every `logEvery`th of its kind, so a scanner probing the port cannot fill the log.
public enum MetricsRefusal: Equatable, Sendable, CustomStringConvertible {
    /// Not an HTTP/1.x request (400).
    case malformed(String)
    /// No or wrong credentials while the node has a password (401).
    case unauthorized
    /// A path other than `/metrics` (404).
    case notFound
    /// A method other than GET and HEAD (405).
    case methodNotAllowed
    /// A request announcing a body (413).
    case bodyNotAccepted
    /// A request head over `RuntimeConfiguration.metricsRequestHeadBytesLimit` bytes (431).
    case headTooLarge(limit: Int)
    /// An HTTP version other than 1.0 and 1.1 (505).
    case versionNotSupported
    /// `RuntimeConfiguration.metricsConnectionsLimit` connections were open (503).
    case tooManyConnections(limit: Int)
    /// The request did not arrive, or the response was not taken, within
    /// `RuntimeConfiguration.metricsRequestDeadline` (408, when the request was not complete; then closed).
    case deadlinePassed(Duration)

    /// Refusals of one kind are logged at the first and then at every this many.
    public static let logEvery = 1_000

    /// A refusal for a request that could not be parsed.
    init(_ error: MetricsRequestError) {
        switch error {
        case .malformed(let why): self = .malformed(why)
        case .headTooLarge(let limit): self = .headTooLarge(limit: limit)
        case .bodyNotAccepted: self = .bodyNotAccepted
        case .versionNotSupported: self = .versionNotSupported
        }
    }

    /// A stable snake_case name for this kind of refusal.
    public var code: String {
        switch self {
        case .malformed: "malformed"
        case .unauthorized: "unauthorized"
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .bodyNotAccepted: "body_not_accepted"
        case .headTooLarge: "head_too_large"
        case .versionNotSupported: "version_not_supported"
        case .tooManyConnections: "too_many_connections"
        case .deadlinePassed: "deadline_passed"
        }
    }

    /// The status line's code and phrase.
    var status: (code: Int, phrase: String) {
        switch self {
        case .malformed: (400, "Bad Request")
        case .unauthorized: (401, "Unauthorized")
        case .notFound: (404, "Not Found")
        case .methodNotAllowed: (405, "Method Not Allowed")
        case .deadlinePassed: (408, "Request Timeout")
        case .bodyNotAccepted: (413, "Content Too Large")
        case .headTooLarge: (431, "Request Header Fields Too Large")
        case .tooManyConnections: (503, "Service Unavailable")
        case .versionNotSupported: (505, "HTTP Version Not Supported")
        }
    }

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .malformed(let why): "not an HTTP/1.x request (\(why)); answered 400 and closed"
        case .unauthorized: "no valid credentials (the node has a password); answered 401 and closed"
        case .notFound: "a path other than /metrics; answered 404 and closed"
        case .methodNotAllowed: "a method other than GET or HEAD; answered 405 and closed"
        case .bodyNotAccepted: "a request with a body; answered 413 and closed"
        case .headTooLarge(let limit): "a request head over \(limit) bytes; answered 431 and closed"
        case .versionNotSupported: "an HTTP version other than 1.0 and 1.1; answered 505 and closed"
        case .tooManyConnections(let limit): "\(limit) metrics connections are open; answered 503 and closed"
        case .deadlinePassed(let deadline): "the exchange took longer than \(deadline); closed"
        }
    }
}
