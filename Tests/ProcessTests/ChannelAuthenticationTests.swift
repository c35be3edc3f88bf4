import Glibc
@testable import LockstepCLI
import LogChannel
import Posix
import Testing

/// A third party on a node's logging-channel port, speaking frames over a blocking socket.
struct ChannelStranger {
    /// How long the stranger waits for the node to answer or close.
    static let readTimeout: Duration = .seconds(3)

    let descriptor: CInt
    private var decoder = FrameDecoder(bodyBytesLimit: 8 << 20)
    /// Every frame the node sent, in order.
    private(set) var received: [Frame] = []
    /// The node closed the connection.
    private(set) var isClosedByNode = false

    init(port: Int) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw SystemError(call: "socket", errno: errno) }
        var timeout = timeval(tv_sec: Int(Self.readTimeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(descriptor)
            throw SystemError(call: "connect", errno: errno)
        }
    }

    func send(_ frame: Frame) {
        let bytes = frame.encoded
        // A node that closed first makes this fail (EPIPE, ignored by the test process); what it sent is what counts.
        _ = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until `until` holds for the frames so far, the node closes, or the read times out.
    mutating func read(until done: ([Frame]) -> Bool = { _ in false }) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while !done(received), !isClosedByNode {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count == 0 || (count < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
                isClosedByNode = true
                break
            }
            if count < 0 { if errno == EINTR { continue } else { break } }  // timed out
            decoder.append(contentsOf: Array(buffer[..<count]))
            while let frame = try? decoder.next() { received.append(frame) }  // try?: a bad stream ends the test's reading
        }
    }

    func closeSocket() { close(descriptor) }

    /// The node's challenge, once read.
    var nodeChallenge: Frame? { received.first { if case .challenge = $0 { true } else { false } } }

    /// Whether anything beyond the handshake's frames came from the node.
    var receivedOnlyHandshakeFrames: Bool {
        received.allSatisfy { if case .challenge = $0 { true } else if case .proof = $0 { true } else { false } }
    }

    var receivedCheckpoint: Bool { received.contains { if case .checkpoint = $0 { true } else { false } } }
}

extension ProcessTests {
    /// Only the pair can use the logging channel: strangers are closed before any other frame, counted by their
    /// close code, and cannot displace the protecting backup.
    @Suite struct ChannelAuthentication {
        static let hello = Frame.hello(
            Hello(epoch: 1, nodeName: "stranger", channelAddress: "127.0.0.1:1", clientAddress: "127.0.0.1:2"))

        /// The primary's logging-channel port, from `lockstep pair`'s layout.
        static func channelPort(of node: SocketAddress, in pair: RunningPair) -> Int {
            Int(node.port) + LockstepCLI.PairCommand.channelPortOffset
        }

        static func authenticationFailures(_ pair: RunningPair, _ node: SocketAddress) -> Int {
            Int(pair.info(node)?["lockstep_channel_closes_authentication_failed"] ?? "0") ?? 0
        }

        /// The pair still has the same primary, protected, in the same epoch: no failover, no solo.
        static func expectStillProtected(
            _ pair: RunningPair, primary: SocketAddress, backup: SocketAddress, epoch: String?
        ) async throws {
            try await Task.sleep(for: .milliseconds(600))  // past the silence timeout: a lost link would show
            let primaryInfo = pair.info(primary), backupInfo = pair.info(backup)
            #expect(primaryInfo?["lockstep_role"] == "primary", "\(pair.logTail())")
            #expect(backupInfo?["lockstep_role"] == "backup", "\(pair.logTail())")
            #expect(primaryInfo?["lockstep_epoch"] == epoch, "\(pair.logTail())")
            #expect(primaryInfo?["lockstep_peer_state"] == "connected", "\(pair.logTail())")
        }

        /// Then: the node closed the stranger having sent it nothing but handshake frames (no checkpoint), counted
        /// one more authentication failure, and the pair kept its primary, epoch and protection.
        static func expectRefusedStranger(
            _ stranger: ChannelStranger, pair: RunningPair, primary: SocketAddress, backup: SocketAddress,
            epoch: String?, failuresBefore before: Int
        ) async throws {
            #expect(stranger.isClosedByNode)
            #expect(!stranger.receivedCheckpoint)
            #expect(stranger.receivedOnlyHandshakeFrames, "\(stranger.received.map(\.kind))")
            let counted = try await Harness.waitUntil(.seconds(2)) {
                Self.authenticationFailures(pair, primary) > before
            }
            #expect(counted, "lockstep_channel_closes_authentication_failed did not rise\n\(pair.logTail())")
            try await expectStillProtected(pair, primary: primary, backup: backup, epoch: epoch)
        }

        @Test("a stranger without the secret that says hello is closed, gets no checkpoint, and is counted")
        func helloWithoutSecret() async throws {
            let pair = try await RunningPair.start("auth-no-secret")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            let epoch = pair.info(primary)?["lockstep_epoch"]
            let before = Self.authenticationFailures(pair, primary)

            var stranger = try ChannelStranger(port: Self.channelPort(of: primary, in: pair))
            defer { stranger.closeSocket() }
            stranger.send(Self.hello)
            stranger.read()

            try await Self.expectRefusedStranger(
                stranger, pair: pair, primary: primary, backup: backup, epoch: epoch, failuresBefore: before)
        }

        @Test("a stranger with a wrong secret fails the proof, is closed, gets no checkpoint, and is counted")
        func wrongSecret() async throws {
            let pair = try await RunningPair.start("auth-wrong-secret")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            let epoch = pair.info(primary)?["lockstep_epoch"]
            let before = Self.authenticationFailures(pair, primary)

            let wrong = try ClusterSecret([UInt8](repeating: 0x99, count: 32))
            var handshake = ChannelHandshake(
                role: .dialer, localName: "stranger", secret: wrong,
                localNonce: [UInt8](repeating: 7, count: Frame.challengeNonceBytes))
            var stranger = try ChannelStranger(port: Self.channelPort(of: primary, in: pair))
            defer { stranger.closeSocket() }
            stranger.send(handshake.challenge)
            stranger.read { $0.contains { if case .challenge = $0 { true } else { false } } }
            let challenge = try #require(stranger.nodeChallenge, "the node sent no challenge")
            guard case .send(let proof) = handshake.received(challenge) else {
                Issue.record("the stranger's handshake did not answer the challenge")
                return
            }
            stranger.send(proof)
            stranger.send(Self.hello)
            stranger.read()

            try await Self.expectRefusedStranger(
                stranger, pair: pair, primary: primary, backup: backup, epoch: epoch, failuresBefore: before)
        }

        @Test("a stray hello that passed the handshake is refused and cannot displace the protecting backup")
        func strayHelloCannotDisplace() async throws {
            let pair = try await RunningPair.start("auth-stray-hello")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            let epoch = pair.info(primary)?["lockstep_epoch"]

            // Given the pair's own secret (a misconfigured third node, or a stale process of the backup)
            let file = pair.directory + "/" + LockstepCLI.PairCommand.clusterSecretFileName
            let secret = try ClusterSecret(readBytes(file))
            var handshake = ChannelHandshake(
                role: .dialer, localName: "b", secret: secret,
                localNonce: [UInt8](repeating: 3, count: Frame.challengeNonceBytes))
            var stranger = try ChannelStranger(port: Self.channelPort(of: primary, in: pair))
            defer { stranger.closeSocket() }
            stranger.send(handshake.challenge)
            stranger.read { $0.contains { if case .challenge = $0 { true } else { false } } }
            let challenge = try #require(stranger.nodeChallenge, "the node sent no challenge")
            guard case .send(let proof) = handshake.received(challenge) else {
                Issue.record("the handshake did not answer the challenge")
                return
            }
            stranger.send(proof)
            // When it says hello while the backup protects on an open channel
            stranger.send(Self.hello)
            stranger.read()

            // Then it is refused and closed without a checkpoint, and the pair stays as it was
            #expect(stranger.isClosedByNode)
            #expect(!stranger.receivedCheckpoint)
            #expect(stranger.received.contains { if case .refuse = $0 { true } else { false } },
                "\(stranger.received.map(\.kind))")
            try await Self.expectStillProtected(pair, primary: primary, backup: backup, epoch: epoch)
        }
    }
}

/// The bytes of a small file, as they are (a secret need not be text).
func readBytes(_ path: String) -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return [] }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return bytes }
        bytes.append(contentsOf: buffer[..<count])
    }
}
