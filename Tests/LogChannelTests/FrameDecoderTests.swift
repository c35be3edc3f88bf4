import Testing
@testable import LogChannel

@Suite("incremental frame decoder")
struct FrameDecoderTests {
    /// Every sample frame back to back: the stream a peer might send.
    static let stream: [UInt8] = FrameSamples.everyKind.flatMap(\.encoded)

    // MARK: Splitting

    @Test("a multi-frame stream decodes the same when split at every byte boundary")
    func everySplitPoint() {
        for cut in 0...Self.stream.count {
            // Given the stream cut in two reads at `cut`, when decoded, then every frame comes back once, in order
            let decoded = FrameSamples.decode([Array(Self.stream[..<cut]), Array(Self.stream[cut...])])
            #expect(decoded.error == nil, "cut at \(cut)")
            #expect(decoded.frames == FrameSamples.everyKind, "cut at \(cut)")
        }
    }

    @Test("fed one byte at a time, each frame appears exactly when its last byte arrives")
    func oneByteAtATime() throws {
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        var frameEnds: [Int] = []
        var end = 0
        for frame in FrameSamples.everyKind {
            end += frame.encodedByteCount
            frameEnds.append(end)
        }
        var decoded: [Frame] = []
        for (index, byte) in Self.stream.enumerated() {
            decoder.append(contentsOf: [byte])
            if let frame = try decoder.next() {
                #expect(frameEnds.contains(index + 1), "frame completed at byte \(index + 1), not at a frame end")
                decoded.append(frame)
            }
        }
        #expect(decoded == FrameSamples.everyKind)
        #expect(decoder.bufferedBytes == 0)
        try decoder.finish()
    }

    @Test("random frames in random splits decode to exactly the frames sent")
    func randomFramesRandomSplits() {
        let seed = FrameSamples.seed
        var generator = FrameSamples.Generator(seed: seed)
        for iteration in 0..<2_000 {
            // Given a few random frames, sent in reads of random sizes
            let frames = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                FrameSamples.randomFrame(using: &generator)
            }
            let maxChunk = [1, 7, 64, 1_024].randomElement(using: &generator)!
            let chunks = FrameSamples.randomChunks(frames.flatMap(\.encoded), maxChunk: maxChunk, using: &generator)
            // When decoded, then they come back unchanged
            let decoded = FrameSamples.decode(chunks)
            #expect(decoded.error == nil, "LOCKSTEP_SEED=\(seed), iteration \(iteration)")
            #expect(decoded.frames == frames, "LOCKSTEP_SEED=\(seed), iteration \(iteration)")
            if decoded.frames != frames { return }
        }
    }

    @Test("a stream that ends between frames finishes cleanly")
    func cleanEnd() throws {
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        try decoder.finish()
        decoder.append(contentsOf: Frame.heartbeat(epoch: 1, sequence: 1).encoded)
        _ = try decoder.next()
        try decoder.finish()
    }

    // MARK: Corruption

    @Test("a flipped bit anywhere in a frame is an error, and nothing from that frame on is decoded")
    func flippedBitAnywhere() {
        let follower = Frame.heartbeat(epoch: 1, sequence: 1).encoded
        for frame in FrameSamples.everyKind {
            let bytes = frame.encoded
            for position in bytes.indices {
                for bit in 0..<8 {
                    // Given one bit flipped, followed by a valid frame
                    var corrupt = bytes
                    corrupt[position] ^= 1 << bit
                    // When decoded, then the stream is rejected and no frame (least of all a different one) appears
                    let decoded = FrameSamples.decode([corrupt + follower])
                    #expect(decoded.error != nil, "\(frame.kind) byte \(position) bit \(bit)")
                    #expect(decoded.frames.isEmpty, "\(frame.kind) byte \(position) bit \(bit)")
                }
            }
        }
    }

    @Test("a flipped bit in the magic is badMagic")
    func flippedMagic() {
        let bytes = Frame.heartbeat(epoch: 1, sequence: 1).encoded
        for position in 0..<2 {
            for bit in 0..<8 {
                var corrupt = bytes
                corrupt[position] ^= 1 << bit
                let magic = UInt16(corrupt[0]) | UInt16(corrupt[1]) << 8
                #expect(FrameSamples.decode([corrupt]).error == .badMagic(magic))
            }
        }
    }

    @Test("a flipped bit in the version byte is unsupportedVersion")
    func flippedVersion() {
        let bytes = Frame.heartbeat(epoch: 1, sequence: 1).encoded
        for bit in 0..<8 {
            var corrupt = bytes
            corrupt[2] ^= 1 << bit
            #expect(FrameSamples.decode([corrupt]).error == .unsupportedVersion(1 ^ (1 << bit)))
        }
    }

    @Test("a flipped bit in the epoch, sequence, body or trailer is a checksum mismatch")
    func flippedCheckedBytes() {
        for frame in FrameSamples.everyKind {
            let bytes = frame.encoded
            for position in 8..<bytes.count {
                var corrupt = bytes
                corrupt[position] ^= 0x10
                let error = FrameSamples.decode([corrupt]).error
                guard case .checksumMismatch = error else {
                    Issue.record("\(frame.kind) byte \(position): \(String(describing: error))")
                    continue
                }
            }
        }
    }

    @Test("a stream that ends mid-frame is truncated at finish, for every cut")
    func truncatedAtEveryCut() throws {
        for frame in FrameSamples.everyKind {
            let bytes = frame.encoded
            for cut in 1..<bytes.count {
                // Given only a prefix of a frame, when the stream ends
                var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
                decoder.append(contentsOf: Array(bytes[..<cut]))
                #expect(try decoder.next() == nil)
                // Then finish reports how much of how much arrived (the full size once the length was readable)
                let needed = cut >= 8 ? bytes.count : FrameCodec.headerBytes
                #expect(throws: FrameError.truncated(needed: needed, available: cut)) { try decoder.finish() }
            }
        }
    }

    @Test("an oversized length is rejected as soon as the header arrives, before any body")
    func oversizedRejectedFromHeader() {
        // Given a header declaring one byte more than the limit, and nothing else
        let header = Array(FrameSamples.rawFrame(kind: FrameKind.entry.rawValue, bodyLength: 1_001)[..<24])
        var decoder = FrameDecoder(bodyBytesLimit: 1_000)
        decoder.append(contentsOf: header)
        // When asked for a frame, then it refuses without waiting for the body
        #expect(throws: FrameError.oversized(declared: 1_001, limit: 1_000)) { try decoder.next() }
    }

    @Test("a huge declared length is rejected after the length field, holding only those bytes")
    func hugeLengthNeverBuffered() {
        let prefix = Array(FrameSamples.rawFrame(kind: FrameKind.entry.rawValue, bodyLength: .max)[..<8])
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 20)
        decoder.append(contentsOf: prefix)
        #expect(throws: FrameError.oversized(declared: Int(UInt32.max), limit: 1 << 20)) { try decoder.next() }
        #expect(decoder.storageBytes == 0)
    }

    @Test("a body exactly at the limit is accepted")
    func bodyAtLimit() throws {
        let frame = Frame.entry(epoch: 1, sequence: 1, payload: [UInt8](repeating: 7, count: 1_000))
        var decoder = FrameDecoder(bodyBytesLimit: 1_000)
        decoder.append(contentsOf: frame.encoded)
        #expect(try decoder.next() == frame)
    }

    @Test("a frame of another wire version is unsupportedVersion, even with a valid checksum")
    func otherVersion() {
        let frame = FrameSamples.rawFrame(version: 2, kind: FrameKind.heartbeat.rawValue)
        #expect(FrameSamples.decode([frame]).error == .unsupportedVersion(2))
    }

    @Test("a kind byte naming no frame kind is unknownKind, even with a valid checksum", arguments: [0, 14, 255])
    func unknownKind(kind: UInt8) {
        #expect(FrameSamples.decode([FrameSamples.rawFrame(kind: kind)]).error == .unknownKind(kind))
    }

    @Test("bytes that are not Lockstep are rejected after their first two bytes")
    func foreignProtocol() {
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        decoder.append(contentsOf: Array("GE".utf8))
        #expect(throws: FrameError.badMagic(0x4547)) { try decoder.next() }
    }

    @Test(
        "a checksummed body that does not fit its kind is malformedBody",
        arguments: [
            (FrameKind.ack, UInt64(1), [1, 2, 3, 4, 5, 6, 7] as [UInt8]),
            (.ack, 1, [UInt8](repeating: 0, count: 9)),
            (.heartbeat, 1, [0]),
            (.protecting, 1, [0]),
            (.handover, 1, [0]),
            (.hello, 0, [5, 0, 0x61]),                                  // nodeName longer than the body
            (.hello, 0, [1]),                                           // length field cut off
            (.hello, 0, [1, 0, 0xFF, 0, 0, 0, 0]),                      // nodeName not UTF-8
            (.hello, 0, [0, 0, 0, 0, 0, 0, 0x61]),                      // a byte after clientAddress
            (.hello, 3, [0, 0, 0, 0, 0, 0]),                            // hello carries no sequence
            (.checkpoint, 1, [0, 0, 0, 0]),                             // no isLast byte
            (.checkpoint, 1, [0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0]),  // isLast neither 0 nor 1
            (.checkpoint, 1, [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]),     // estimatedBytes cut off
            (.checkpoint, 1, [0, 0, 0, 0, 1] + [UInt8](repeating: 0xFF, count: 8)),  // estimate above Int.max
            (.refuse, 0, [0xC3]),                                       // reason cut mid-character
            (.refuse, 4, Array("no".utf8)),                             // refuse carries no sequence
        ])
    func malformedBody(kind: FrameKind, sequence: UInt64, body: [UInt8]) {
        let frame = FrameSamples.rawFrame(kind: kind.rawValue, sequence: sequence, body: body)
        let error = FrameSamples.decode([frame]).error
        guard case .malformedBody(let reportedKind, _) = error else {
            Issue.record("expected malformedBody, got \(String(describing: error))")
            return
        }
        #expect(reportedKind == kind)
    }

    @Test(
        "a handshake frame whose body or header does not fit its kind is malformedBody",
        arguments: [
            (FrameKind.challenge, UInt64(0), UInt64(0), [UInt8](repeating: 7, count: 31)),     // nonce cut short
            (.challenge, 0, 0, [UInt8](repeating: 7, count: 32) + [1]),                        // name length cut off
            (.challenge, 0, 0, [UInt8](repeating: 7, count: 32) + [2, 0, 0x61]),               // name past the body
            (.challenge, 0, 0, [UInt8](repeating: 7, count: 32) + [0, 0, 0x61]),               // a byte after the name
            (.challenge, 0, 0, [UInt8](repeating: 7, count: 32) + [1, 0, 0xFF]),               // name not UTF-8
            (.challenge, 1, 0, [UInt8](repeating: 7, count: 32) + [0, 0]),                     // carries an epoch
            (.challenge, 0, 1, [UInt8](repeating: 7, count: 32) + [0, 0]),                     // carries a sequence
            (.proof, 0, 0, [UInt8](repeating: 1, count: 31)),                                  // tag too short
            (.proof, 0, 0, [UInt8](repeating: 1, count: 33)),                                  // tag too long
            (.proof, 2, 0, [UInt8](repeating: 1, count: 32)),                                  // carries an epoch
            (.proof, 0, 2, [UInt8](repeating: 1, count: 32)),                                  // carries a sequence
        ])
    func malformedHandshakeFrame(kind: FrameKind, epoch: UInt64, sequence: UInt64, body: [UInt8]) {
        let frame = FrameSamples.rawFrame(kind: kind.rawValue, epoch: epoch, sequence: sequence, body: body)
        let error = FrameSamples.decode([frame]).error
        guard case .malformedBody(let reportedKind, _) = error else {
            Issue.record("expected malformedBody, got \(String(describing: error))")
            return
        }
        #expect(reportedKind == kind)
    }

    @Test("a challenge and a proof laid out by hand decode to the frames they describe")
    func handshakeFramesFromTheLayout() {
        let nonce = (0..<32).map { UInt8($0) }
        let challenge = FrameSamples.rawFrame(
            kind: FrameKind.challenge.rawValue, epoch: 0, sequence: 0, body: nonce + [1, 0, 0x62])
        let tag = [UInt8](repeating: 0xAB, count: 32)
        let proof = FrameSamples.rawFrame(kind: FrameKind.proof.rawValue, epoch: 0, sequence: 0, body: tag)
        #expect(FrameSamples.decode([challenge, proof]).frames == [
            .challenge(nonce: nonce, nodeName: "b"), .proof(tag: tag),
        ])
        #expect(Frame.challenge(nonce: nonce, nodeName: "b").encoded == challenge)
        #expect(Frame.proof(tag: tag).encoded == proof)
    }

    // MARK: Poisoning and memory

    @Test("after an error every call rethrows it and later bytes are ignored")
    func poisoned() throws {
        // Given a decoder that rejected a corrupt frame
        var corrupt = Frame.heartbeat(epoch: 1, sequence: 1).encoded
        corrupt[10] ^= 1
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        decoder.append(contentsOf: corrupt)
        var rejection: FrameError?
        do { _ = try decoder.next() } catch { rejection = error }
        let first = try #require(rejection)
        // When valid bytes follow, then nothing is decoded: the same error comes back, from next and finish alike
        decoder.append(contentsOf: Frame.heartbeat(epoch: 1, sequence: 2).encoded)
        #expect(decoder.isPoisoned)
        #expect(decoder.bufferedBytes == 0)
        for _ in 0..<3 {
            #expect(throws: first) { try decoder.next() }
        }
        #expect(throws: first) { try decoder.finish() }
    }

    @Test("a drained decoder holds at most about one frame plus one read")
    func memoryStaysBounded() throws {
        var generator = FrameSamples.Generator(seed: FrameSamples.seed)
        let frames = (0..<500).map { sequence in
            Frame.entry(epoch: 1, sequence: UInt64(sequence), payload: [UInt8](
                repeating: 1, count: Int.random(in: 0...100, using: &generator)))
        }
        let largestFrame = frames.map(\.encodedByteCount).max()!
        let readSize = 256
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        var decoded = 0
        for chunk in FrameSamples.randomChunks(frames.flatMap(\.encoded), maxChunk: readSize, using: &generator) {
            decoder.append(contentsOf: chunk)
            // Compaction keeps the consumed prefix at most as large as what is still unconsumed
            #expect(decoder.storageBytes <= 2 * largestFrame + readSize)
            while try decoder.next() != nil { decoded += 1 }
            #expect(decoder.bufferedBytes < largestFrame)
        }
        #expect(decoded == frames.count)
    }
}
