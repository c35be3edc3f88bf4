/// What the metrics port answers, decided apart from the sockets so that each rule can be tested alone.
///
/// One response per connection, always with `Connection: close`: Prometheus opens a connection per scrape anyway,
/// and a port that never waits for a second request has no idle keep-alive connections to bound.
struct MetricsResponse: Equatable {
    /// The whole response: status line, headers, and the body unless the request was `HEAD`.
    var bytes: [UInt8]
    /// Why the request was refused; nil when it was answered with the metrics.
    var refusal: MetricsRefusal?

    /// The path the metrics are served at, as Prometheus expects by default.
    static let path = "/metrics"

    /// The answer to a parsed request (or to why it could not be parsed). `render` is called only when the metrics
    /// are what the answer carries.
    static func answer(
        _ parsed: Result<MetricsRequest, MetricsRequestError>, password: MetricsPassword?, render: () -> String
    ) -> MetricsResponse {
        let request: MetricsRequest
        switch parsed {
        case .failure(let error): return refusal(MetricsRefusal(error))
        case .success(let parsed): request = parsed
        }
        // Credentials first: without them a client learns nothing, not even which paths exist.
        if let password, !password.isAuthorized(by: request.authorization) { return refusal(.unauthorized) }
        guard request.method == "GET" || request.method == "HEAD" else { return refusal(.methodNotAllowed) }
        guard request.path == path else { return refusal(.notFound) }
        let body = Array(render().utf8)
        return MetricsResponse(
            bytes: message(status: (200, "OK"), contentType: MetricsExposition.contentType, body: body,
                includesBody: request.method != "HEAD"),
            refusal: nil)
    }

    /// The response for a refusal: its status, a one-line plain-text body, and the headers the status calls for.
    static func refusal(_ refusal: MetricsRefusal) -> MetricsResponse {
        var headers: [String] = []
        switch refusal {
        case .unauthorized:
            // Both schemes the port takes, so a client may pick either (RFC 9110 allows one header per challenge).
            headers = ["WWW-Authenticate: Basic realm=\"lockstep\", charset=\"UTF-8\"",
                       "WWW-Authenticate: Bearer realm=\"lockstep\""]
        case .methodNotAllowed:
            headers = ["Allow: GET, HEAD"]
        default:
            break
        }
        let body = Array("\(refusal.status.phrase): \(refusal)\n".utf8)
        return MetricsResponse(
            bytes: message(
                status: refusal.status, contentType: "text/plain; charset=utf-8", body: body, includesBody: true,
                headers: headers),
            refusal: refusal)
    }

    private static func message(
        status: (code: Int, phrase: String), contentType: String, body: [UInt8], includesBody: Bool,
        headers: [String] = []
    ) -> [UInt8] {
        var head = "HTTP/1.1 \(status.code) \(status.phrase)\r\n"
        head += "Content-Type: \(contentType)\r\n"
        head += "Content-Length: \(body.count)\r\n"
        head += "Connection: close\r\n"
        for header in headers { head += header + "\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        if includesBody { bytes += body }
        return bytes
    }
}
