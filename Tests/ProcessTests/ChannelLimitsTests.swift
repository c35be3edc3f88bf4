import Glibc
@testable import LockstepCLI
@testable import LogChannel
import Posix
import Runtime
import Synchronization
import Testing

/// Connections to a node's logging-channel port that never prove the cluster secret, kept open by a thread of
/// their own: each one the node closes is opened again at once, as a slowloris does.
///
/// Each connection sends `opening` as fast as the node takes it, or one byte per `trickle` (slow enough never to
/// finish a frame before the node's deadlines, steady enough never to look silent), then nothing more. It never
/// reads what the node sends beyond noticing the close.
final class ChannelAttack: Sendable {
    /// How long the attacker waits between passes over its sockets: it reopens a closed one within about this.
    static let passInterval: Duration = .milliseconds(2)

    private final class Shared: Sendable {
        let isStopRequested = Atomic<Bool>(false)
        let reopened = Atomic<Int>(0)
    }

    private let shared = Shared()
    private let thread: PosixThread

    /// Opens `connections` connections to `127.0.0.1:port`, each sending `opening` (at one byte per `trickle`, if
    /// given), and keeps them open.
    init(port: Int, connections: Int, opening: [UInt8], trickle: Duration? = nil) throws {
        let shared = self.shared
        thread = try PosixThread.spawn {
            var sockets = [CInt](repeating: -1, count: connections)
            var sent = [Int](repeating: 0, count: connections)
            var scratch = [UInt8](repeating: 0, count: 4096)
            let clock = ContinuousClock()
            var nextTrickle = clock.now
            func sendMore(_ index: Int, isTrickleDue: Bool) {
                guard sockets[index] >= 0, sent[index] < opening.count else { return }
                if trickle == nil {
                    sent[index] += Self.sendWithoutBlocking(sockets[index], opening[sent[index]...])
                } else if isTrickleDue {
                    sent[index] += Self.sendWithoutBlocking(sockets[index], opening[sent[index]...].prefix(1))
                }
            }
            while !shared.isStopRequested.load(ordering: .relaxed) {
                let isTrickleDue = trickle.map { _ in clock.now >= nextTrickle } ?? false
                if let trickle, isTrickleDue { nextTrickle = clock.now + trickle }
                for index in sockets.indices {
                    if sockets[index] >= 0, !Self.isClosedByPeer(sockets[index], scratch: &scratch) {
                        sendMore(index, isTrickleDue: isTrickleDue)
                        continue
                    }
                    if sockets[index] >= 0 {
                        close(sockets[index])
                        shared.reopened.add(1, ordering: .relaxed)
                    }
                    sockets[index] = Self.open(port: port)
                    sent[index] = 0
                    sendMore(index, isTrickleDue: true)
                }
                sleep(for: Self.passInterval)
            }
            for socket in sockets where socket >= 0 { close(socket) }
        }
    }

    /// Connections the node closed and the attacker opened again.
    var reopenedCount: Int { shared.reopened.load(ordering: .relaxed) }

    func stop() {
        shared.isStopRequested.store(true, ordering: .relaxed)
        thread.join()
    }

    /// A socket connecting without blocking (a full backlog must not stall the pass that trickles the other
    /// sockets' bytes); -1 when even that failed: the next pass tries again. A connect that fails later shows as a
    /// close.
    private static func open(port: Int) -> CInt {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard descriptor >= 0 else { return -1 }
        // Each trickled byte leaves at once, not held back by Nagle until the node's delayed ack.
        var noDelay: CInt = 1
        setsockopt(descriptor, CInt(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<CInt>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 || errno == EINPROGRESS else {
            close(descriptor)
            return -1
        }
        return descriptor
    }

    /// Sends what the socket takes of `bytes` now; how many it took.
    private static func sendWithoutBlocking(_ descriptor: CInt, _ bytes: ArraySlice<UInt8>) -> Int {
        guard !bytes.isEmpty else { return 0 }
        let count = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        return max(0, count)
    }

    /// Drains what the node sent (its challenge) without blocking; whether the node closed the connection.
    private static func isClosedByPeer(_ descriptor: CInt, scratch: inout [UInt8]) -> Bool {
        while true {
            let count = scratch.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 { continue }
            if count == 0 { return true }
            return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
        }
    }
}

extension ProcessTests {
    /// The logging-channel port under a slowloris and half-sent frames: strangers cannot hold the real backup out,
    /// nor make the node hold what a frame header announces.
    @Suite struct ChannelLimits {
        /// Slowloris connections, far past `RuntimeConfiguration.channelConnectionsLimit`: each trickles the largest
        /// challenge a node accepts a byte at a time, so it never completes the handshake yet never falls silent.
        static let idleConnections = 200
        /// The slowloris's pace: well inside the node's silence timeout.
        static let trickleInterval: Duration = .milliseconds(50)
        /// Connections that each send a frame header announcing the largest body a node accepts, then part of it.
        static let halfSentConnections = 100
        /// How much of the announced body each half-sent frame carries: all but its last byte.
        static let halfSentBodyBytes = RuntimeConfiguration.defaultFrameBodyBytesLimit - 1
        /// The growth of the primary's resident set allowed under the attack, the client load included.
        static let residentGrowthLimitBytes = 64 << 20

        /// A frame header (a challenge, the first frame a node expects) declaring a body of `bodyBytes`, followed
        /// by `sentBytes` of that body.
        static func halfSentFrame(bodyBytes: Int, sentBytes: Int) -> [UInt8] {
            var header = [UInt8](repeating: 0, count: FrameCodec.headerBytes)
            header[0] = UInt8(truncatingIfNeeded: FrameCodec.magic)
            header[1] = UInt8(truncatingIfNeeded: FrameCodec.magic >> 8)
            header[2] = FrameCodec.version
            header[3] = FrameKind.challenge.rawValue
            for byte in 0..<4 { header[4 + byte] = UInt8(truncatingIfNeeded: UInt32(bodyBytes) >> (8 * byte)) }
            return header + [UInt8](repeating: 0x5A, count: sentBytes)
        }

        /// The node's resident set (VmRSS), in bytes; 0 when it cannot be read.
        static func residentBytes(_ pid: pid_t) -> Int {
            let status = Harness.readFile("/proc/\(pid)/status")
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
                let kibibytes = line.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
            else { return 0 }
            return kibibytes << 10
        }

        /// The close codes of connections a node ends before they prove the cluster secret.
        static let strangerCloseCodes = [
            ChannelCloseReason.authenticationFailed(.timedOut(.seconds(1))).code,
            ChannelCloseReason.evictedBeforeHandshake(unauthenticatedLimit: 1).code,
            ChannelCloseReason.decodeFailed(.oversized(declared: 1, limit: 0)).code,
        ]

        /// Connections the node closed before they proved the secret, by their close codes' INFO counters.
        static func strangerCloses(_ pair: RunningPair, _ node: SocketAddress) -> Int {
            guard let info = pair.info(node) else { return 0 }
            return strangerCloseCodes.compactMap { info["lockstep_channel_closes_\($0)"].flatMap { Int($0) } }
                .reduce(0, +)
        }

        @Test("a slowloris and half-sent frames on the channel port: the killed backup gets back in, memory stays bounded")
        func slowlorisAndHalfSentFrames() async throws {
            let pair = try await RunningPair.start("channel-slowloris")
            defer { pair.stop(); pair.removeDirectory() }
            let (primary, backup) = try await pair.waitForProtectedPrimary(deadline: .seconds(10))
            let primaryPID = try pair.nodePID(primary), backupPID = try pair.nodePID(backup)
            let port = ProcessTests.ChannelAuthentication.channelPort(of: primary, in: pair)
            let load = try KeyValueLoad(against: primary)
            defer { _ = load.stop() }
            try await Task.sleep(for: .milliseconds(500))
            let before = Self.residentBytes(primaryPID)
            let closesBefore = Self.strangerCloses(pair, primary)

            // Given strangers holding idle connections and half-sent frames on the primary's channel port
            let bodyLimit = RuntimeConfiguration.defaultFrameBodyBytesLimit
            let largestChallenge = Self.halfSentFrame(
                bodyBytes: Frame.handshakeBodyBytesLimit, sentBytes: Frame.handshakeBodyBytesLimit - 1)
            let idle = try ChannelAttack(
                port: port, connections: Self.idleConnections, opening: largestChallenge, trickle: Self.trickleInterval)
            defer { idle.stop() }
            let halfSent = try ChannelAttack(
                port: port, connections: Self.halfSentConnections,
                opening: Self.halfSentFrame(bodyBytes: bodyLimit, sentBytes: Self.halfSentBodyBytes))
            defer { halfSent.stop() }
            var peak = before
            func sample() { peak = max(peak, Self.residentBytes(primaryPID)) }
            for _ in 0..<10 {
                try await Task.sleep(for: .milliseconds(150))
                sample()
            }
            let ackedBeforeKill = load.ackedCount

            // When the backup is killed and restarted (by the pair's supervisor) while the attack goes on
            kill(backupPID, SIGKILL)
            let clock = ContinuousClock()
            let killed = clock.now
            var rejoined = false
            while !rejoined, clock.now - killed < .seconds(20) {
                try await Task.sleep(for: .milliseconds(100))
                sample()
                let backupInfo = pair.info(backup), primaryInfo = pair.info(primary)
                rejoined = backupInfo?["process_id"].flatMap { pid_t($0) } != backupPID
                    && backupInfo?["lockstep_role"] == "backup" && backupInfo?["lockstep_peer_state"] == "connected"
                    && primaryInfo?["lockstep_role"] == "primary" && primaryInfo?["lockstep_peer_state"] == "connected"
            }
            let rejoinTime = clock.now - killed
            // Then it protects the primary again, and clients' writes go on being acknowledged
            #expect(rejoined, "the restarted backup did not protect within 20 s\n\(pair.statusText())\n\(pair.logTail())")
            let ackedAtRejoin = load.ackedCount
            try await Task.sleep(for: .milliseconds(500))
            sample()
            #expect(load.endReason == nil, "the client load ended: \(load.endReason ?? "")")
            #expect(load.ackedCount > ackedAtRejoin, "no write was acknowledged once the backup was back")
            #expect(ackedAtRejoin > ackedBeforeKill, "no write was acknowledged while the backup was down")
            let during = Self.residentBytes(primaryPID)
            let reopened = idle.reopenedCount + halfSent.reopenedCount
            let closed = Self.strangerCloses(pair, primary) - closesBefore
            idle.stop()
            halfSent.stop()
            try await Task.sleep(for: .seconds(2))  // the node hands freed memory back at most once a second
            let after = Self.residentBytes(primaryPID)
            let memory = "primary RSS before \(ClientLimits.mebibytes(before)), peak \(ClientLimits.mebibytes(peak)), "
                + "during \(ClientLimits.mebibytes(during)), after \(ClientLimits.mebibytes(after))"
            let attack = "\(Self.idleConnections) trickling and \(Self.halfSentConnections) half-sent connections "
                + "(\(Self.halfSentBodyBytes >> 10) KiB of a \(bodyLimit >> 20) MiB frame each)"
            print("channel port under \(attack): the killed backup protected again \(rejoinTime) after the kill; "
                + "the node closed \(closed) stranger connections (the attackers reopened \(reopened)); \(memory); "
                + "writes acknowledged \(load.ackedCount)")
            #expect(closed >= Self.idleConnections, "the node counted only \(closed) stranger connections closed")
            #expect(peak - before < Self.residentGrowthLimitBytes, "the primary's RSS grew past its bound")
            #expect(pair.info(primary)?["lockstep_role"] == "primary", "the primary lost its role\n\(pair.logTail(lines: 60))")
        }
    }
}
