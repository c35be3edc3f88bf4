import Posix

/// The mutual challenge-response that opens every logging-channel connection: each end proves it knows the
/// cluster secret before either accepts any other frame.
///
/// A plain value without I/O (STYLE 1): the transport (`ChannelConnection`) and the simulator drive the same one.
///
///     dialer                                   acceptor
///     challenge(nonceD, nameD)   ───────▶
///                                ◀───────   challenge(nonceA, nameA)      (both sent at once, on open)
///     proof(MAC("dialer", …))    ───────▶                                 (sent on the peer's challenge)
///                                ◀───────   proof(MAC("acceptor", …))
///     authenticated on the acceptor's proof    authenticated on the dialer's proof
///
/// Each proof is HMAC-SHA256 under the key derived from the cluster secret over `transcript`: a domain label, the
/// prover's role, the cluster id, the dialer's nonce then the acceptor's, the dialer's name then the acceptor's.
/// - Fresh nonces from both ends: a recorded proof answers no later challenge (no replay).
/// - The prover's role: a proof the acceptor made cannot be sent back to it as the dialer's (no reflection), and a
///   node only ever proves as dialer to an address it chose to dial.
/// - Both names: a proof made for one pair of names does not vouch for another.
/// Tags are compared in constant time. Any other frame before the peer's proof, a second challenge, a proof before
/// the challenge or a wrong proof fails the handshake for good; the transport then closes the connection with
/// `.authenticationFailed`. A stranger learns only the node's name and a nonce and a tag it cannot reuse.
///
/// What it does not do: encrypt or MAC the frames after it. Someone who can rewrite traffic between the two nodes
/// can still hijack an authenticated connection; the handshake keeps out whoever can merely reach the port.
public struct ChannelHandshake: Sendable {
    /// Which end of the connection this is: the roles are part of what each proof covers.
    public enum Role: String, Sendable {
        /// The end that connected.
        case dialer
        /// The end that accepted.
        case acceptor
    }

    /// What the driver does after handing over one frame.
    public enum Step: Equatable, Sendable {
        /// Send this frame and wait for more.
        case send(Frame)
        /// Nothing to send yet; wait for more.
        case waiting
        /// The peer proved it holds the secret: the connection is the peer's, named `peerName`.
        case authenticated(peerName: String)
        /// The peer did not prove it; close the connection with `.authenticationFailed(failure)`.
        case failed(AuthenticationFailure)
    }

    private enum Phase: Sendable {
        case awaitingChallenge
        /// The peer's challenge arrived and this end's proof was sent; the peer's proof must follow.
        case awaitingProof(peerNonce: [UInt8], peerName: String)
        case authenticated(peerName: String)
        case failed(AuthenticationFailure)
    }

    /// The label every transcript starts with, so these MACs can mean nothing else.
    static let domainLabel = Array("lockstep logging channel handshake v1".utf8)

    /// This end's role.
    public let role: Role
    /// This end's node name, sent in its challenge.
    public let localName: String
    private let secret: ClusterSecret
    private let localNonce: [UInt8]
    private var phase = Phase.awaitingChallenge

    /// A handshake for one connection. `localNonce` must be `Frame.challengeNonceBytes` fresh random bytes from the
    /// caller's entropy (the core draws none itself, so the simulator can seed it).
    public init(role: Role, localName: String, secret: ClusterSecret, localNonce: [UInt8]) {
        precondition(localNonce.count == Frame.challengeNonceBytes, "a handshake nonce of \(localNonce.count) bytes")
        self.role = role
        self.localName = localName
        self.secret = secret
        self.localNonce = localNonce
    }

    /// The frame this end sends first, as soon as the connection is open.
    public var challenge: Frame { .challenge(nonce: localNonce, nodeName: localName) }

    /// Whether the handshake has finished, either way.
    public var isFinished: Bool {
        switch phase {
        case .authenticated, .failed: true
        case .awaitingChallenge, .awaitingProof: false
        }
    }

    /// Whether the peer's challenge has arrived: an honest peer sends it as soon as it connects, so a connection
    /// without one after a while is the first to give up when strangers crowd the port.
    public var hasReceivedChallenge: Bool {
        if case .awaitingChallenge = phase { return false }
        return true
    }

    /// Whether the peer has proved it holds the secret.
    public var isAuthenticated: Bool {
        if case .authenticated = phase { return true }
        return false
    }

    /// Takes the next frame the peer sent; returns what to do.
    public mutating func received(_ frame: Frame) -> Step {
        switch (phase, frame) {
        case (.awaitingChallenge, .challenge(let nonce, let peerName)):
            phase = .awaitingProof(peerNonce: nonce, peerName: peerName)
            return .send(.proof(tag: tag(provedBy: role, peerNonce: nonce, peerName: peerName)))
        case (.awaitingProof(let peerNonce, let peerName), .proof(let tag)):
            let expected = self.tag(provedBy: role.peer, peerNonce: peerNonce, peerName: peerName)
            guard HMAC.isEqualInConstantTime(tag, expected) else {
                return fail(.proofMismatch(peerName: peerName))
            }
            phase = .authenticated(peerName: peerName)
            return .authenticated(peerName: peerName)
        case (.authenticated, _), (.failed, _):
            preconditionFailure("a finished handshake was handed a frame; the driver routes them past it")
        case (.awaitingChallenge, _):
            return fail(.unexpectedFrame(frame.kind, expected: .challenge))
        case (.awaitingProof, _):
            return fail(.unexpectedFrame(frame.kind, expected: .proof))
        }
    }

    private mutating func fail(_ failure: AuthenticationFailure) -> Step {
        phase = .failed(failure)
        return .failed(failure)
    }

    /// The proof `prover` must send on this connection.
    private func tag(provedBy prover: Role, peerNonce: [UInt8], peerName: String) -> [UInt8] {
        let (dialerNonce, acceptorNonce) = role == .dialer ? (localNonce, peerNonce) : (peerNonce, localNonce)
        let (dialerName, acceptorName) = role == .dialer ? (localName, peerName) : (peerName, localName)
        let transcript = Self.transcript(
            prover: prover, clusterID: secret.clusterID, dialerNonce: dialerNonce, acceptorNonce: acceptorNonce,
            dialerName: dialerName, acceptorName: acceptorName)
        return HMAC.authenticationCode(for: transcript, key: secret.proofKey)
    }

    /// The bytes a proof MACs. Every variable-length field carries its length, so no two distinct inputs give the
    /// same bytes.
    static func transcript(
        prover: Role, clusterID: [UInt8], dialerNonce: [UInt8], acceptorNonce: [UInt8], dialerName: String,
        acceptorName: String
    ) -> [UInt8] {
        var bytes = domainLabel
        for field in [Array(prover.rawValue.utf8), clusterID, dialerNonce, acceptorNonce, Array(dialerName.utf8),
            Array(acceptorName.utf8)]
        {
            let count = UInt32(field.count)
            for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: count >> shift)) }
            bytes.append(contentsOf: field)
        }
        return bytes
    }
}

extension ChannelHandshake.Role {
    /// The role at the other end of the connection.
    public var peer: Self { self == .dialer ? .acceptor : .dialer }
}

/// Why a logging-channel connection failed its handshake (`ChannelCloseReason.authenticationFailed`).
public enum AuthenticationFailure: Equatable, Sendable, CustomStringConvertible {
    /// The peer sent a frame of this kind where the handshake expected another: e.g. a hello from a stranger that
    /// does not know a handshake is due.
    case unexpectedFrame(FrameKind, expected: FrameKind)
    /// The peer's proof does not match: it does not hold this cluster's secret (or is of another cluster).
    case proofMismatch(peerName: String)
    /// The handshake did not finish within this long after the connection opened.
    case timedOut(Duration)

    /// A stable snake_case name for counters (the description is for people).
    public var code: String {
        switch self {
        case .unexpectedFrame: "unexpected_frame"
        case .proofMismatch: "proof_mismatch"
        case .timedOut: "timed_out"
        }
    }

    /// One phrase for the log line.
    public var description: String {
        switch self {
        case .unexpectedFrame(let kind, let expected):
            "sent a \(kind) frame before proving it holds the cluster secret (expected a \(expected))"
        case .proofMismatch(let name):
            "its proof (claiming to be \(name)) does not match this cluster's secret"
        case .timedOut(let limit):
            "did not complete the handshake within \(limit.milliseconds) ms"
        }
    }
}
