import Glibc
import LogChannel
import Posix
import Synchronization
import Testing

/// The TCP transport over real loopback sockets, two event loops in this process.
///
/// Timings are loose on purpose (IO-FINDINGS: run-to-run spread on this VM is up to 2x): detection must come no
/// sooner than the timeout and within a generous margin after it.
@Suite("Logging-channel transport", .serialized)
struct TransportTests {
    /// Short enough to keep the suite quick, long enough that a busy CI box does not miss heartbeats.
    static let fast = ChannelConnection.Configuration(
        heartbeatInterval: .milliseconds(50), silenceTimeout: .milliseconds(300))
    /// How late silence detection may be: one heartbeat interval, 1 ms of timer rounding, and scheduling noise.
    static let detectionMargin = Duration.milliseconds(500)

    init() { Signals.ignoreBrokenPipe() }

    @Test("entries flow to the backup in order, one ack per read releases them, and writes are batched")
    func entriesAndAcksFlow() throws {
        let pair = try ChannelPair(configuration: Self.fast)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        let count: UInt64 = 5_000
        let primary = pair.primary
        // 5 MB in one round: more than the socket buffers take, so writes are partial and resume on EPOLLOUT.
        #expect(pair.primaryThread.sync { primary.sendEntries(through: count, payloadBytes: 1_000) })

        #expect(Waiting.until(.seconds(10)) { pair.backup.observed.withLock { $0.highestEntryReceived } == count })
        #expect(Waiting.until(.seconds(10)) { pair.primary.observed.withLock { $0.releasedThrough } == count })
        #expect(pair.backup.observed.withLock { $0.entries } == Array(1...count), "every entry, once, in order")

        pair.tearDown()
        let sent = try #require(pair.primary.connection).statistics
        let received = try #require(pair.backup.connection).statistics
        #expect(try #require(pair.primary.connection).sendBuffer.unwrittenBytes == 0)
        #expect(sent.writeCalls < Int(count), "frames of one round share a write")
        #expect(received.deliveries < Int(count), "frames of one read arrive in one call")
        let framesPerWrite = Double(sent.framesQueued) / Double(sent.writeCalls)
        let framesPerDelivery = Double(received.framesReceived) / Double(received.deliveries)
        print("""
            \(count) entries of 1000 B: primary \(sent.writeCalls) writes (\(framesPerWrite) frames/write); backup \
            \(received.readCalls) reads, \(received.deliveries) deliveries (\(framesPerDelivery) frames/delivery), \
            \(pair.primary.observed.withLock { $0.acks }) acks back
            """)
    }

    @Test("every frame sent during one loop round leaves in a single write")
    func oneWritePerRound() throws {
        // Heartbeats far apart, so none lands between the two measurements.
        let quiet = ChannelConnection.Configuration(heartbeatInterval: .seconds(5), silenceTimeout: .seconds(20))
        let pair = try ChannelPair(configuration: quiet)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        let primary = pair.primary
        let writesBefore = Atomic<Int>(-1)
        #expect(pair.primaryThread.sync {
            writesBefore.store(primary.connection?.statistics.writeCalls ?? -1, ordering: .relaxed)
            primary.sendEntries(through: 10, payloadBytes: 10)
        })
        #expect(Waiting.until(.seconds(5)) { pair.backup.observed.withLock { $0.highestEntryReceived } == 10 })
        let writesAfter = Atomic<Int>(-1)
        #expect(pair.primaryThread.sync {
            writesAfter.store(primary.connection?.statistics.writeCalls ?? -1, ordering: .relaxed)
        })
        #expect(writesAfter.load(ordering: .relaxed) - writesBefore.load(ordering: .relaxed) == 1)
        #expect(pair.backup.observed.withLock { $0.deliveries } == 1, "one read, one delivery of all ten")
    }

    @Test("an idle channel exchanges heartbeats both ways and stays open past several silence timeouts")
    func idleChannelStaysAlive() throws {
        let pair = try ChannelPair(configuration: Self.fast)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        let idle = Self.fast.silenceTimeout * 4
        sleep(for: idle)

        let primary = pair.primary.observed.withLock { $0 }
        let backup = pair.backup.observed.withLock { $0 }
        #expect(primary.closeReason == nil)
        #expect(backup.closeReason == nil)
        // About idle / interval = 24 each way; a third of that still proves heartbeats flow.
        #expect(backup.heartbeats >= 8, "the primary heartbeats when idle")
        #expect(primary.acks >= 8, "the backup's heartbeat is its ack")
        print("idle \(idle.milliseconds) ms: \(backup.heartbeats) primary heartbeats, \(primary.acks) backup acks")
    }

    @Test("a peer whose loop freezes is reported silent after the timeout, not before")
    func frozenPeerIsDetected() throws {
        let pair = try ChannelPair(configuration: Self.fast)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        sleep(for: .milliseconds(100))  // heartbeats flowing
        let frozenAt = monotonicNanoseconds()
        pair.backupThread.freeze()  // its socket stays open: silence, not end of stream

        #expect(Waiting.until(Self.fast.silenceTimeout + Self.detectionMargin + .seconds(2)) {
            pair.primary.observed.withLock { $0.closeReason != nil }
        })
        let observed = pair.primary.observed.withLock { $0 }
        let detectedAfter = Duration.nanoseconds(Int64((observed.closedAt ?? frozenAt) - frozenAt))
        print("frozen peer detected after \(detectedAfter.milliseconds) ms (timeout \(Self.fast.silenceTimeout))")
        guard case .peerSilent(let silence) = observed.closeReason else {
            Issue.record("expected .peerSilent, got \(String(describing: observed.closeReason))")
            return
        }
        #expect(silence >= Self.fast.silenceTimeout)
        #expect(silence <= Self.fast.silenceTimeout + Self.detectionMargin)
        // The last heartbeat may have arrived up to one interval before the freeze.
        #expect(detectedAfter >= Self.fast.silenceTimeout - Self.fast.heartbeatInterval)
        #expect(detectedAfter <= Self.fast.silenceTimeout + Self.detectionMargin)
    }

    @Test("a peer that announced a busy step and then freezes is reported silent only after that step and the timeout")
    func busyPeerIsExcused() throws {
        let pair = try ChannelPair(configuration: Self.fast)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        sleep(for: .milliseconds(100))  // heartbeats flowing
        // Given a backup that announces 1 s of work, then freezes (its socket open)
        let busy = Duration.seconds(1)
        #expect(pair.backupThread.sync { pair.backup.connection?.announceBusy(for: busy) })
        let frozenAt = monotonicNanoseconds()
        pair.backupThread.freeze()
        // Then the primary waits out the step and a timeout after it, and no more than a margin beyond
        #expect(Waiting.until(busy + Self.fast.silenceTimeout + Self.detectionMargin + .seconds(2)) {
            pair.primary.observed.withLock { $0.closeReason != nil }
        })
        let observed = pair.primary.observed.withLock { $0 }
        let detectedAfter = Duration.nanoseconds(Int64((observed.closedAt ?? frozenAt) - frozenAt))
        print("busy, then frozen peer detected after \(detectedAfter.milliseconds) ms (busy \(busy), timeout \(Self.fast.silenceTimeout))")
        guard case .peerSilent = observed.closeReason else {
            Issue.record("expected .peerSilent, got \(String(describing: observed.closeReason))")
            return
        }
        #expect(detectedAfter >= busy + Self.fast.silenceTimeout - .milliseconds(50))
        #expect(detectedAfter <= busy + Self.fast.silenceTimeout + Self.detectionMargin)
    }

    @Test("a connected peer that never sends a byte is reported silent within the timeout plus a margin")
    func silentRawPeerIsDetected() throws {
        let backup = try ListeningBackup(configuration: Self.fast)
        defer { backup.tearDown() }
        let endpoint = backup.endpoint
        let silentPeer = try backup.connectRawPeer()
        defer { silentPeer.close() }

        #expect(Waiting.until(Self.fast.silenceTimeout + Self.detectionMargin + .seconds(2)) {
            endpoint.observed.withLock { $0.closeReason != nil }
        })
        let observed = endpoint.observed.withLock { $0 }
        let openedAt = try #require(observed.openedAt)
        let lifetime = Duration.nanoseconds(Int64((observed.closedAt ?? openedAt) - openedAt))
        print("silent raw peer detected \(lifetime.milliseconds) ms after accept (timeout \(Self.fast.silenceTimeout))")
        guard case .peerSilent(let silence) = observed.closeReason else {
            Issue.record("expected .peerSilent, got \(String(describing: observed.closeReason))")
            return
        }
        #expect(silence >= Self.fast.silenceTimeout)
        #expect(lifetime >= Self.fast.silenceTimeout - .milliseconds(5), "opened is reported just after accept")
        #expect(lifetime <= Self.fast.silenceTimeout + Self.detectionMargin)
    }

    @Test("a peer that stops reading is closed with .sendBufferFull once the unwritten bytes reach the limit")
    func stalledPeerFillsTheSendBuffer() throws {
        var configuration = Self.fast
        configuration.silenceTimeout = .seconds(30)  // the stall, not the silence, must close it
        configuration.unwrittenBytesLimit = 1 << 20
        let pair = try ChannelPair(configuration: configuration)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        pair.backupThread.freeze()  // its socket stays open, and nothing reads it
        let primary = pair.primary
        // A megabyte per round: each round fits the limit on its own, so only bytes left unwritten fill it.
        var sent: UInt64 = 0
        let closed = Waiting.until(.seconds(20)) {
            guard primary.observed.withLock({ $0.closeReason }) == nil else { return true }
            sent += 1_000
            let through = sent
            _ = pair.primaryThread.sync { primary.sendEntries(through: through, payloadBytes: 1_000) }
            return false
        }
        #expect(closed, "the primary kept buffering for a peer that reads nothing")
        let reason = primary.observed.withLock { $0.closeReason }
        #expect(reason == .sendBufferFull(unwrittenBytesLimit: 1 << 20), "\(String(describing: reason))")
        print("closed after \(sent) entries of 1000 B sent to a peer that reads nothing")
    }

    @Test("a corrupted frame closes the connection with .decodeFailed after delivering the frames before it")
    func corruptFrameClosesConnection() throws {
        let backup = try ListeningBackup(configuration: Self.fast)
        defer { backup.tearDown() }
        let endpoint = backup.endpoint
        let peer = try backup.connectRawPeer()
        defer { peer.close() }
        let good = Frame.entry(epoch: 1, sequence: 1, payload: [1, 2, 3])
        var corrupt = Frame.entry(epoch: 1, sequence: 2, payload: [4, 5, 6]).encoded
        corrupt[corrupt.count - 6] ^= 0x40  // a payload bit: only the checksum can tell
        try peer.send(good.encoded + corrupt + Frame.entry(epoch: 1, sequence: 3, payload: []).encoded)

        #expect(Waiting.until(.seconds(5)) { endpoint.observed.withLock { $0.closeReason != nil } })
        let observed = endpoint.observed.withLock { $0 }
        #expect(observed.frames == [good])
        guard case .decodeFailed(.checksumMismatch) = observed.closeReason else {
            Issue.record("expected .decodeFailed(.checksumMismatch), got \(String(describing: observed.closeReason))")
            return
        }
    }

    @Test("bytes that are not a Lockstep stream close the connection with .decodeFailed(.badMagic)")
    func garbageClosesConnection() throws {
        let backup = try ListeningBackup(configuration: Self.fast)
        defer { backup.tearDown() }
        let endpoint = backup.endpoint
        let peer = try backup.connectRawPeer()
        defer { peer.close() }
        try peer.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))

        #expect(Waiting.until(.seconds(5)) { endpoint.observed.withLock { $0.closeReason != nil } })
        let observed = endpoint.observed.withLock { $0 }
        #expect(observed.frames.isEmpty)
        guard case .decodeFailed(.badMagic) = observed.closeReason else {
            Issue.record("expected .decodeFailed(.badMagic), got \(String(describing: observed.closeReason))")
            return
        }
    }

    @Test("a peer that closes mid-frame is .decodeFailed(.truncated), one that closes cleanly is .endOfStream")
    func endOfStream() throws {
        let server = try LoopThread()
        defer { server.tearDown() }
        let endpoints = Mutex<[Endpoint]>([])
        let loop = server.loop
        let listener = try ChannelListener(on: .loopback(port: 0), loop: server.loop, configuration: Self.fast) {
            let endpoint = Endpoint(role: .backup, loop: loop)
            endpoint.connection = $0
            $0.delegate = endpoint
            endpoints.withLock { $0.append(endpoint) }
        }
        try server.start()
        let frame = Frame.heartbeat(epoch: 1, sequence: 0).encoded
        let clean = try RawPeer.connect(to: listener.address)
        try clean.send(frame)
        clean.close()
        #expect(Waiting.until(.seconds(5)) {
            endpoints.withLock { $0.first?.observed.withLock { $0.closeReason } } != nil
        })
        let cut = try RawPeer.connect(to: listener.address)
        try cut.send(frame + frame.prefix(10))
        cut.close()
        #expect(Waiting.until(.seconds(5)) {
            endpoints.withLock { $0.count == 2 && $0[1].observed.withLock { $0.closeReason } != nil }
        })
        let reasons = endpoints.withLock { $0.map { $0.observed.withLock { $0.closeReason } } }
        #expect(reasons.first == .endOfStream)
        #expect(reasons.last == .decodeFailed(.truncated(needed: frame.count, available: 10)))
    }

    @Test("listening on a busy port gives SystemError(bind, EADDRINUSE), described as a port in use")
    func busyPortIsTypedError() throws {
        let server = try LoopThread()
        defer { server.tearDown() }
        let first = try ChannelListener(on: .loopback(port: 0), loop: server.loop) { _ in }
        #expect(first.address.port != 0, "port 0 reports the port the kernel chose")
        do {
            _ = try ChannelListener(on: first.address, loop: server.loop) { _ in }
            Issue.record("a second listener on \(first.address) succeeded")
        } catch {
            #expect(error == SystemError(call: "bind", errno: EADDRINUSE))
            #expect(error.description.contains("in use"))
            print(error.description)
        }
    }

    @Test("dialing a port nobody listens on reports .connectFailed(ECONNREFUSED), without opening")
    func dialRefused() throws {
        let probe = try TCP.listen(on: .loopback(port: 0))
        let unused = try TCP.localAddress(of: probe)
        try probe.close()  // now nothing listens there
        let client = try LoopThread()
        defer { client.tearDown() }
        let endpoint = Endpoint(role: .primary, loop: client.loop)
        endpoint.connection = ChannelConnection.dial(
            unused, on: client.loop, configuration: Self.fast, delegate: endpoint)
        try client.start()
        #expect(Waiting.until(.seconds(5)) { endpoint.observed.withLock { $0.closeReason != nil } })
        let observed = endpoint.observed.withLock { $0 }
        #expect(observed.openedAt == nil)
        #expect(observed.closeReason == .connectFailed(SystemError(call: "connect", errno: ECONNREFUSED)))
    }

    @Test("closing after flushing writes the last frame before the peer sees the end of the stream")
    func closeAfterFlushing() throws {
        let pair = try ChannelPair(configuration: Self.fast)
        defer { pair.tearDown() }
        #expect(pair.waitUntilOpen())
        let primary = pair.primary
        #expect(pair.primaryThread.sync {
            _ = primary.connection?.send(.refuse(epoch: 1, reason: "not the primary"))
            primary.connection?.close(flushingFirst: true)
        })
        #expect(Waiting.until(.seconds(5)) { pair.backup.observed.withLock { $0.closeReason != nil } })
        #expect(Waiting.until(.seconds(5)) { pair.primary.observed.withLock { $0.closeReason != nil } })
        #expect(pair.backup.observed.withLock { $0.frames.last } == .refuse(epoch: 1, reason: "not the primary"))
        #expect(pair.backup.observed.withLock { $0.closeReason } == .endOfStream)
        #expect(pair.primary.observed.withLock { $0.closeReason } == .closedLocally)
    }
}

/// What an unauthenticated peer can make a connection hold, and that the limits rise once it has authenticated.
@Suite struct HandshakeLimitsTests {
    static func handshake(_ role: ChannelHandshake.Role, _ name: String) -> ChannelHandshake {
        ChannelHandshake(
            role: role, localName: name, secret: HandshakePair.secret,
            localNonce: [UInt8](repeating: role == .dialer ? 1 : 2, count: Frame.challengeNonceBytes))
    }

    @Test("before the handshake, a header announcing more than a handshake frame holds is refused at once")
    func oversizedBeforeHandshake() throws {
        let backup = try ListeningBackup(configuration: TransportTests.fast, handshake: Self.handshake(.acceptor, "a"))
        defer { backup.tearDown() }
        let endpoint = backup.endpoint
        let peer = try backup.connectRawPeer()
        defer { peer.close() }
        // A challenge's header announcing one byte more than any challenge can have, and none of its body.
        let declared = Frame.handshakeBodyBytesLimit + 1
        var header = [UInt8](repeating: 0, count: FrameCodec.headerBytes)
        header[0] = UInt8(truncatingIfNeeded: FrameCodec.magic)
        header[1] = UInt8(truncatingIfNeeded: FrameCodec.magic >> 8)
        header[2] = FrameCodec.version
        header[3] = FrameKind.challenge.rawValue
        for byte in 0..<4 { header[4 + byte] = UInt8(truncatingIfNeeded: UInt32(declared) >> (8 * byte)) }
        try peer.send(header)

        #expect(Waiting.until(.seconds(5)) { endpoint.observed.withLock { $0.closeReason != nil } })
        let observed = endpoint.observed.withLock { $0 }
        #expect(observed.openedAt == nil)
        #expect(observed.closeReason == .decodeFailed(.oversized(declared: declared, limit: Frame.handshakeBodyBytesLimit)))
    }

    @Test("a frame larger than any handshake frame, sent with the proof in one write, arrives whole")
    func largeFrameRightAfterProof() throws {
        let backup = try ListeningBackup(configuration: TransportTests.fast, handshake: Self.handshake(.acceptor, "a"))
        defer { backup.tearDown() }
        let endpoint = backup.endpoint
        let peer = try backup.connectRawPeer()
        defer { peer.close() }
        var dialer = Self.handshake(.dialer, "b")
        try peer.send(dialer.challenge.encoded)
        let challenge = try #require(try peer.read { $0.kind == .challenge }.first { $0.kind == .challenge })
        guard case .send(let proof) = dialer.received(challenge) else {
            Issue.record("the dialer did not answer the acceptor's challenge")
            return
        }
        let payload = [UInt8](repeating: 7, count: 4 * Frame.handshakeBodyBytesLimit)
        try peer.send(proof.encoded + Frame.entry(epoch: 1, sequence: 1, payload: payload).encoded)

        #expect(Waiting.until(.seconds(5)) { endpoint.observed.withLock { !$0.entries.isEmpty || $0.closeReason != nil } })
        let observed = endpoint.observed.withLock { $0 }
        #expect(observed.openedAt != nil)
        #expect(observed.closeReason == nil)
        #expect(observed.entries == [1])
    }
}
