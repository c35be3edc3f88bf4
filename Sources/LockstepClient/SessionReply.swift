import Posix

/// What a reply to `SESSION EXEC` means for the session: the command's own reply, or the server speaking about the
/// session or the node.
///
/// The codes are the server's first word, fixed by the README so clients can rely on them. A command's own errors
/// (`WRONGTYPE`, `ERR value is not an integer`) are replies it saved; they fall under `.reply`.
enum SessionReply: Equatable {
    /// The command's reply: the request was applied exactly once.
    case reply
    /// `-NOSESSION`: the server does not know the session; this number was not applied.
    case noSession
    /// `-SESSIONSTALE`: the number is older than the replies the server keeps; outcome unknown.
    case numberStale
    /// `-SESSIONGAP`: the number skips ahead of the server's next one; not applied.
    case numberGap
    /// `-READONLY`, `-TRYAGAIN`, `-MISCONF`, `-LOADING`: not applied; go to the primary, named when known.
    case refusal(primary: SocketAddress?)
    /// `-NOAUTH`, `-WRONGPASS`: the connection is not authenticated.
    case authenticationFailed

    /// The codes that promise the command did nothing and ask the client to go elsewhere or wait.
    static let refusalCodes: Set<Substring> = ["READONLY", "TRYAGAIN", "MISCONF", "LOADING"]

    /// Classifies one reply by its error code.
    init(_ reply: RESPReply) {
        guard let code = reply.errorCode else {
            self = .reply
            return
        }
        switch code {
        case "NOSESSION": self = .noSession
        case "SESSIONSTALE": self = .numberStale
        case "SESSIONGAP": self = .numberGap
        case "NOAUTH", "WRONGPASS": self = .authenticationFailed
        default:
            if Self.refusalCodes.contains(code) {
                self = .refusal(primary: reply.text.flatMap(Self.namedPrimary))
            } else {
                self = .reply
            }
        }
    }

    /// The address in "... the primary is at HOST:PORT ..." (READONLY, TRYAGAIN), if the text names one.
    static func namedPrimary(in text: String) -> SocketAddress? {
        let marker = Array("the primary is at ".utf8)
        let bytes = Array(text.utf8)
        guard bytes.count > marker.count,
            let start = (0...(bytes.count - marker.count)).first(where: { bytes[$0..<$0 + marker.count].elementsEqual(marker) })
        else { return nil }
        let rest = String(decoding: bytes[(start + marker.count)...], as: UTF8.self)
        var address = rest.prefix { $0 != " " && $0 != ";" && $0 != "," }
        if address.last == "." { address = address.dropLast() }
        return try? SocketAddress(parsing: String(address))  // a node that names no parsable address names none
    }

    /// The address in a `SENTINEL get-master-addr-by-name` reply (`[host, port]`); nil for null or anything else.
    static func sentinelPrimary(_ reply: RESPReply) -> SocketAddress? {
        guard case .array(let elements?) = reply, elements.count == 2, let host = elements[0].text,
            let port = elements[1].text
        else { return nil }
        return try? SocketAddress(parsing: "\(host):\(port)")  // an unusable answer is no answer
    }

    /// Whether a `ROLE` reply says the node serves: Redis's `master` as its first element.
    static func isPrimaryRole(_ reply: RESPReply) -> Bool {
        guard case .array(let elements?) = reply, let first = elements.first else { return false }
        return first.text == "master"
    }
}
