@testable import LockstepClient
import Posix

/// Drives a `ClientCore` by hand, as the I/O thread would, and records what it asked for in the domain's words.
struct CoreHarness {
    var core: ClientCore
    var now: Duration = .zero
    /// Outcomes per request id, as the callers would have heard them.
    var outcomes: [RequestID: Result<RESPReply, LockstepClientError>] = [:]
    /// Commands sent since the last `takeSent()`, decoded.
    private var sentBytes: [UInt8] = []
    var connects: [SocketAddress] = []
    var disconnects = 0
    var isFinished = false

    static let a = SocketAddress.loopback(port: 7000)
    static let b = SocketAddress.loopback(port: 7001)

    init(seeds: [SocketAddress] = [a, b], configure: (inout LockstepClientConfiguration) -> Void = { _ in }) {
        var configuration = LockstepClientConfiguration()
        configure(&configuration)
        core = ClientCore(configuration: configuration, seeds: seeds, seed: 1)
    }

    mutating func handle(_ event: ClientEvent) {
        for action in core.handle(event, at: now) {
            switch action {
            case .connect(let address): connects.append(address)
            case .send(let bytes): sentBytes += bytes
            case .disconnect: disconnects += 1
            case .complete(let id, let result):
                precondition(outcomes[id] == nil, "request \(id) answered twice")
                outcomes[id] = result
            case .finishClose: isFinished = true
            }
        }
    }

    mutating func submit(_ id: RequestID, _ words: String...) {
        handle(.requestSubmitted(id, try! RESPCommand(words.map { Array($0.utf8) }, bytesLimit: 1 << 20)))
    }

    mutating func reply(_ reply: RESPReply) { handle(.replyArrived(reply)) }
    mutating func reply(integer: Int64) { reply(.integer(integer)) }
    mutating func reply(error text: String) { reply(.error(text)) }

    /// Every command sent since the last call, as words.
    mutating func takeSent() -> [[String]] {
        var decoder = RESPReplyDecoder(replyBytesLimit: 1 << 20)
        decoder.append(sentBytes)
        sentBytes = []
        var commands: [[String]] = []
        while case .array(let words?)? = try! decoder.next() { commands.append(words.map { $0.text ?? "?" }) }
        return commands
    }

    /// Lets time pass to `target`, firing every wakeup on the way.
    mutating func advance(by duration: Duration) {
        let target = now + duration
        while let wakeup = core.nextWakeup, wakeup <= target {
            now = max(now, wakeup)
            handle(.timerFired)
        }
        now = target
    }

    static let masterRole = RESPReply.array([.bulkString(Array("master".utf8)), .integer(0), .array([])])
    static let slaveRole = RESPReply.array([.bulkString(Array("slave".utf8)), .bulkString(Array("127.0.0.1".utf8))])

    /// Completes the pending connect to a node that says it is primary, answering the handshake (and SESSION OPEN
    /// with `session` when the core asks for one). Returns what was sent after the handshake.
    mutating func acceptAsPrimary(session: Int64 = 9) -> [[String]] {
        handle(.connected)
        let handshake = takeSent()
        precondition(handshake.map { $0[0] } == ["ROLE", "SENTINEL"], "handshake was \(handshake)")
        reply(Self.masterRole)
        reply(.array(nil))
        let sent = takeSent()
        guard sent.first == ["SESSION", "OPEN"] else { return sent }
        reply(integer: session)
        return Array(sent.dropFirst()) + takeSent()
    }

    func reply(of id: RequestID) -> RESPReply? {
        if case .success(let reply)? = outcomes[id] { return reply }
        return nil
    }

    func error(of id: RequestID) -> LockstepClientError? {
        if case .failure(let error)? = outcomes[id] { return error }
        return nil
    }
}

/// `SESSION EXEC session number words...`, as the harness decodes it.
func exec(_ session: Int64, _ number: UInt64, _ words: String...) -> [String] {
    ["SESSION", "EXEC", String(session), String(number)] + words
}
