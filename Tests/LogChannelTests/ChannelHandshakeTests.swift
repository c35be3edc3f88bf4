import LogChannel
import Testing

/// Two ends of one connection, stepped frame by frame.
struct HandshakePair {
    var dialer: ChannelHandshake
    var acceptor: ChannelHandshake

    static let secret = try! ClusterSecret([UInt8](repeating: 0x5A, count: 32))
    static let otherSecret = try! ClusterSecret([UInt8](repeating: 0xA5, count: 32))

    static func nonce(_ byte: UInt8) -> [UInt8] { [UInt8](repeating: byte, count: Frame.challengeNonceBytes) }

    init(dialerSecret: ClusterSecret = secret, acceptorSecret: ClusterSecret = secret) {
        dialer = ChannelHandshake(role: .dialer, localName: "b", secret: dialerSecret, localNonce: Self.nonce(1))
        acceptor = ChannelHandshake(role: .acceptor, localName: "a", secret: acceptorSecret, localNonce: Self.nonce(2))
    }

    /// Both challenges cross, then each proof goes over: what each end concluded.
    mutating func run() -> (dialer: ChannelHandshake.Step, acceptor: ChannelHandshake.Step) {
        guard case .send(let acceptorProof) = acceptor.received(dialer.challenge),
            case .send(let dialerProof) = dialer.received(acceptor.challenge)
        else { return (.waiting, .waiting) }
        return (dialer.received(acceptorProof), acceptor.received(dialerProof))
    }
}

@Suite("channel handshake")
struct ChannelHandshakeTests {
    @Test("two ends with the same secret authenticate each other, each learning the other's name")
    func sameSecretAuthenticates() {
        var pair = HandshakePair()
        let outcome = pair.run()
        #expect(outcome.dialer == .authenticated(peerName: "a"))
        #expect(outcome.acceptor == .authenticated(peerName: "b"))
        #expect(pair.dialer.isAuthenticated && pair.acceptor.isAuthenticated)
    }

    @Test("with different secrets each end refuses the other's proof")
    func differentSecretsFail() {
        var pair = HandshakePair(dialerSecret: HandshakePair.otherSecret)
        let outcome = pair.run()
        #expect(outcome.dialer == .failed(.proofMismatch(peerName: "a")))
        #expect(outcome.acceptor == .failed(.proofMismatch(peerName: "b")))
    }

    @Test("a hello before the challenge fails the handshake: a stranger that knows no handshake gets nothing")
    func helloFirstFails() {
        var acceptor = HandshakePair().acceptor
        let hello = Frame.hello(Hello(epoch: 1, nodeName: "x", channelAddress: "x:1", clientAddress: "x:2"))
        #expect(acceptor.received(hello) == .failed(.unexpectedFrame(.hello, expected: .challenge)))
        #expect(acceptor.isFinished && !acceptor.isAuthenticated)
    }

    @Test("after the challenge, anything but a proof fails the handshake", arguments: [
        Frame.ack(epoch: 1, received: 5, applied: 5),
        .challenge(nonce: HandshakePair.nonce(9), nodeName: "again"),
        .hello(Hello(epoch: 1, nodeName: "b", channelAddress: "b:1", clientAddress: "b:2")),
    ])
    func onlyAProofFollowsTheChallenge(frame: Frame) {
        var pair = HandshakePair()
        _ = pair.acceptor.received(pair.dialer.challenge)
        #expect(pair.acceptor.received(frame) == .failed(.unexpectedFrame(frame.kind, expected: .proof)))
    }

    @Test("a proof before the challenge fails the handshake")
    func proofFirstFails() {
        var acceptor = HandshakePair().acceptor
        #expect(acceptor.received(.proof(tag: [UInt8](repeating: 0, count: 32)))
            == .failed(.unexpectedFrame(.proof, expected: .challenge)))
    }

    @Test("a node's own proof sent back to it (reflection) is refused")
    func reflectedProofFails() {
        // Given a stranger that echoes the acceptor's challenge as its own and then its proof back to it
        var acceptor = HandshakePair().acceptor
        let echoed = Frame.challenge(nonce: HandshakePair.nonce(2), nodeName: "a")
        guard case .send(let acceptorsProof) = acceptor.received(echoed) else {
            Issue.record("the acceptor did not answer the challenge")
            return
        }
        // Then the acceptor's own proof does not pass as the dialer's: the roles differ in what is MACed
        guard case .proof(let tag) = acceptorsProof else { return }
        #expect(acceptor.received(.proof(tag: tag)) == .failed(.proofMismatch(peerName: "a")))
    }

    @Test("a proof recorded on one connection does not pass on another with a fresh nonce (replay)")
    func replayedProofFails() {
        // Given a dialer's proof recorded on one connection
        var first = HandshakePair()
        _ = first.acceptor.received(first.dialer.challenge)
        guard case .send(let recorded) = first.dialer.received(first.acceptor.challenge) else {
            Issue.record("the dialer did not answer the challenge")
            return
        }
        // When a stranger replays the same challenge and proof to an acceptor that chose another nonce
        var later = ChannelHandshake(
            role: .acceptor, localName: "a", secret: HandshakePair.secret, localNonce: HandshakePair.nonce(3))
        _ = later.received(first.dialer.challenge)
        // Then the proof does not match
        #expect(later.received(recorded) == .failed(.proofMismatch(peerName: "b")))
    }

    @Test("a secret shorter than 32 bytes is refused, and the secret never appears in a description")
    func secretBounds() {
        #expect(throws: ClusterSecretError.tooShort(bytes: 31, minimum: 32)) {
            try ClusterSecret([UInt8](repeating: 1, count: 31))
        }
        #expect(throws: ClusterSecretError.tooLong(bytes: 4097, maximum: 4096)) {
            try ClusterSecret([UInt8](repeating: 1, count: 4097))
        }
        #expect(!"\(HandshakePair.secret)".contains("5a"))
    }

    @Test("an authentication failure closes with a stable code")
    func closeReasonCode() {
        #expect(ChannelCloseReason.authenticationFailed(.proofMismatch(peerName: "x")).code == "authentication_failed")
    }
}
