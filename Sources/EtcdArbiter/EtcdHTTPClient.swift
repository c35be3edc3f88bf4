import Arbiter
import Glibc
import Posix

/// Blocking HTTP/1.1 POSTs to etcd's JSON gateway, one fresh connection each, tried on each endpoint in turn.
///
/// Blocking is right here: the arbiter runs on its own thread (`ArbiterWorker`), never on a node's event loop.
/// Every attempt has one deadline covering connect, send and the whole response, so a member that accepts and
/// then hangs costs `requestTimeout`, not forever. A fresh connection per request keeps the client stateless:
/// requests are a handful per failover, and a kept-alive connection would only add a half-dead-socket case.
///
/// An endpoint that refuses, times out, resets or answers 5xx (etcd's "no leader", "timed out") is skipped for
/// the next one. Retrying a transaction elsewhere is safe because the arbiter's transaction is idempotent for its
/// caller (`EtcdArbiter.take` recognises its own record).
struct EtcdHTTPClient: Sendable {
    /// Bytes read per `read` call.
    static let readChunkBytes = 16 << 10

    /// The endpoints, in the order they are tried.
    var endpoints: [SocketAddress]
    /// The deadline for one attempt on one endpoint: connect, send and read.
    var requestTimeout: Duration
    /// The most bytes (headers and body) accepted in one response; more is not an answer of ours.
    var responseBytesLimit: Int

    /// How one attempt failed: try the next endpoint (`unreachable`), or the endpoint said something unusable.
    enum AttemptFailure: Error {
        case unreachable(String)
        case badResponse(String)
    }

    /// POSTs `body` (JSON) to `path` on the first endpoint that answers 200; the endpoint and the response body.
    ///
    /// All endpoints failing is `.unreachable`, unless one answered but unusably: then `.badResponse` for the
    /// first such, since a misconfigured endpoint is what the operator must fix.
    func post(_ path: String, body: [UInt8]) throws(ArbiterError) -> (endpoint: SocketAddress, body: [UInt8]) {
        var lastFailure = "no endpoint tried"
        var firstBadResponse: ArbiterError?
        for endpoint in endpoints {
            do {
                return (endpoint, try attempt(endpoint, path, body))
            } catch {
                switch error {
                case .unreachable(let reason):
                    lastFailure = "\(endpoint) \(reason)"
                case .badResponse(let reason):
                    if firstBadResponse == nil { firstBadResponse = .badResponse(endpoint: "\(endpoint)", reason: reason) }
                }
            }
        }
        if let firstBadResponse { throw firstBadResponse }
        throw .unreachable(endpoints: endpoints.map(\.description), lastFailure: lastFailure)
    }

    /// One request on one endpoint within `requestTimeout`.
    func attempt(_ endpoint: SocketAddress, _ path: String, _ body: [UInt8]) throws(AttemptFailure) -> [UInt8] {
        let deadline = monotonicNanoseconds() + UInt64(requestTimeout.nanoseconds)
        let socket = try connect(endpoint, deadline: deadline)
        defer { try? socket.close() }  // nothing was written that a close error could lose
        var request = Array(
            ("POST \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n").utf8)
        request += body
        try sendAll(request, on: socket, deadline: deadline)
        let response = try readResponse(from: socket, deadline: deadline)
        switch response.status {
        case 200:
            return response.body
        case 500...599:
            throw .unreachable("answered HTTP \(response.status) \(Self.excerpt(response.body))")
        default:
            throw .badResponse("HTTP \(response.status) \(Self.excerpt(response.body))")
        }
    }

    private func connect(_ endpoint: SocketAddress, deadline: UInt64) throws(AttemptFailure) -> FileDescriptor {
        let progress: TCP.ConnectProgress
        do {
            progress = try TCP.connect(to: endpoint)
        } catch {
            throw .unreachable("refused the connection (\(error.errnoName))")
        }
        guard case .inProgress(let socket) = progress else { return progress.descriptor }
        do {
            try wait(socket, for: Int16(POLLOUT), until: deadline, while: "connecting")
            try TCP.completeConnect(socket)
        } catch let failure as AttemptFailure {
            try? socket.close()  // the connect's failure is the one to report
            throw failure
        } catch {
            try? socket.close()  // same
            throw .unreachable("refused the connection (\((error as? SystemError)?.errnoName ?? "\(error)"))")
        }
        return socket
    }

    private func sendAll(_ bytes: [UInt8], on socket: FileDescriptor, deadline: UInt64) throws(AttemptFailure) {
        var offset = 0
        while offset < bytes.count {
            // withUnsafeBytes only rethrows untyped errors, so the typed one travels in a Result.
            let attempt = bytes.withUnsafeBytes { buffer in
                Result { () throws(SystemError) in try socket.send(UnsafeRawBufferPointer(rebasing: buffer[offset...])) }
            }
            let sent: Int?
            switch attempt {
            case .success(let count): sent = count
            case .failure(let error): throw .unreachable("dropped the connection while we sent (\(error.errnoName))")
            }
            if let sent { offset += sent } else { try wait(socket, for: Int16(POLLOUT), until: deadline, while: "sending") }
        }
    }

    private func readResponse(from socket: FileDescriptor, deadline: UInt64) throws(AttemptFailure) -> HTTPResponse {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: Self.readChunkBytes)
        while true {
            // Same as in sendAll.
            let attempt = chunk.withUnsafeMutableBytes { buffer in
                Result { () throws(SystemError) in try socket.read(into: buffer) }
            }
            let count: Int?
            switch attempt {
            case .success(let read): count = read
            case .failure(let error):
                throw .unreachable("dropped the connection before answering (\(error.errnoName))")
            }
            guard let count else {
                try wait(socket, for: Int16(POLLIN), until: deadline, while: "waiting for the answer")
                continue
            }
            bytes += chunk[..<count]
            if bytes.count > responseBytesLimit {
                throw .badResponse("answer longer than \(responseBytesLimit) bytes")
            }
            do {
                if let response = try HTTPResponse.parse(bytes, isAtEndOfStream: count == 0) { return response }
            } catch {
                // Closed before a whole response: the server went away mid-answer, as a crash does.
                if count == 0, bytes.isEmpty { throw .unreachable("closed the connection without answering") }
                throw .badResponse(error.reason)
            }
        }
    }

    /// Waits until `socket` is ready for `events` (or has an error to report), or throws at `deadline`.
    private func wait(
        _ socket: FileDescriptor, for events: Int16, until deadline: UInt64, while doing: String
    ) throws(AttemptFailure) {
        while true {
            let now = monotonicNanoseconds()
            guard now < deadline else {
                throw .unreachable("timed out after \(requestTimeout.milliseconds) ms while \(doing)")
            }
            let milliseconds = Int32(min((deadline - now + 999_999) / 1_000_000, UInt64(Int32.max)))
            var descriptor = pollfd(fd: socket.rawValue, events: events, revents: 0)
            let ready: Int32
            do {
                ready = try retryingInterrupts("poll") { poll(&descriptor, 1, milliseconds) }
            } catch {
                throw .unreachable("poll failed (\(error.errnoName))")
            }
            if ready > 0 { return }  // readable, writable, or an error the next call reports
        }
    }

    /// The start of a body, for an error message.
    static func excerpt(_ body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(160), as: UTF8.self)
        return "\"" + text.filter { !$0.isNewline } + (body.count > 160 ? "…" : "") + "\""
    }
}
