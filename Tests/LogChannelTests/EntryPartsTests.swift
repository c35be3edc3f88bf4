import Testing
@testable import LogChannel

/// An entry larger than `Frame.entryPartBytes` travels as parts and a last frame, and comes out of the decoder whole.
@Suite("entries in parts")
struct EntryPartsTests {
    static let part = Frame.entryPartBytes

    /// A payload of `count` bytes that differ from byte to byte, so a misplaced or lost piece changes it.
    static func payload(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 11) }
    }

    /// The kind and body length of every frame header in `bytes`, read from the documented layout.
    static func headers(_ bytes: [UInt8]) -> [(kind: UInt8, bodyLength: Int)] {
        var headers: [(UInt8, Int)] = []
        var offset = 0
        while offset < bytes.count {
            let length = (0..<4).reduce(0) { $0 | Int(bytes[offset + 4 + $1]) << (8 * $1) }
            headers.append((bytes[offset + 3], length))
            offset += FrameCodec.overheadBytes + length
        }
        return headers
    }

    /// The frames a decoder joining entries up to `entryBytesLimit` makes of `bytes`, read `maxChunk` at a time.
    static func decode(_ bytes: [UInt8], entryBytesLimit: Int = 8 << 20, maxChunk: Int = 64 << 10)
        -> (frames: [Frame], error: FrameError?)
    {
        var decoder = FrameDecoder(bodyBytesLimit: 4 << 20, entryBytesLimit: entryBytesLimit)
        var frames: [Frame] = []
        do throws(FrameError) {
            var start = 0
            while start < bytes.count {
                let end = min(bytes.count, start + maxChunk)
                decoder.append(contentsOf: Array(bytes[start..<end]))
                while let frame = try decoder.next() { frames.append(frame) }
                start = end
            }
            try decoder.finish()
            return (frames, nil)
        } catch {
            return (frames, error)
        }
    }

    @Test(
        "an entry goes in parts of exactly entryPartBytes and a last frame with the rest",
        arguments: [(part, [part]), (part + 1, [part, 1]), (2 * part, [part, part]), (2 * part + part / 2, [part, part, part / 2])])
    func layout(payloadBytes: Int, bodies: [Int]) {
        // Given an entry of `payloadBytes` bytes, when encoded
        let entry = Frame.entry(epoch: 3, sequence: 9, payload: Self.payload(payloadBytes))
        let encoded = entry.encoded
        // Then the frames carry these bodies: parts first, the entry's own kind last
        let headers = Self.headers(encoded)
        #expect(headers.map(\.bodyLength) == bodies)
        #expect(headers.map(\.kind) == Array(repeating: FrameKind.entryPart.rawValue, count: bodies.count - 1) + [FrameKind.entry.rawValue])
        #expect(entry.encodedByteCount == encoded.count)
        #expect(Frame.entryWireBytes(payloadByteCount: payloadBytes) == encoded.count)
    }

    @Test("a large entry between other frames decodes whole, in order, however the reads split it")
    func joined() {
        // Given a heartbeat, a 2.5 MiB entry and an ack back to back
        let entry = Frame.entry(epoch: 3, sequence: 9, payload: Self.payload(2 * Self.part + Self.part / 2))
        let frames: [Frame] = [.heartbeat(epoch: 3, sequence: 8), entry, .ack(epoch: 3, received: 9, applied: 8)]
        let stream = frames.flatMap(\.encoded)
        for maxChunk in [1_000, 64 << 10, 3 << 20] {
            // When read in pieces of at most `maxChunk` bytes, then the same three frames come out
            let decoded = Self.decode(stream, maxChunk: maxChunk)
            #expect(decoded.error == nil)
            #expect(decoded.frames == frames, "reads of \(maxChunk) bytes")
        }
    }

    @Test("a send buffer writes a large entry whole, within its bound, and refuses one past it")
    func sendBuffer() throws {
        let payload = Self.payload(Self.part + 10)
        let wireBytes = Frame.entryWireBytes(payloadByteCount: payload.count)
        // Given a buffer with room for exactly the entry's parts and last frame
        var buffer = SendBuffer(unwrittenBytesLimit: wireBytes)
        let appended = buffer.appendEntry(epoch: 1, sequence: 1, payloadByteCount: payload.count) {
            $0.copyBytes(from: payload)
        }
        #expect(appended)
        let written = buffer.withUnwrittenBytes { Array($0) }
        #expect(Self.decode(written).frames == [.entry(epoch: 1, sequence: 1, payload: payload)])
        // Then a second one does not fit until the first is written
        let isSecondTaken = buffer.append(.entry(epoch: 1, sequence: 2, payload: payload))
        #expect(!isSecondTaken)
        buffer.markWritten(written.count)
        let isSecondTakenOnceWritten = buffer.append(.entry(epoch: 1, sequence: 2, payload: payload))
        #expect(isSecondTakenOnceWritten)
    }

    @Test("parts adding up to more than the entry limit are refused")
    func overLimit() {
        let stream = Frame.entry(epoch: 1, sequence: 4, payload: Self.payload(3 * Self.part)).encoded
        // Given a decoder that joins at most two parts' worth, when the third piece arrives, then it is refused
        let decoded = Self.decode(stream, entryBytesLimit: 2 * Self.part)
        #expect(decoded.frames.isEmpty)
        #expect(decoded.error == .entryTooLarge(sequence: 4, bytes: 3 * Self.part, limit: 2 * Self.part))
        // And exactly at the limit the entry passes
        #expect(Self.decode(stream, entryBytesLimit: 3 * Self.part).frames.count == 1)
    }

    @Test("a stream that ends after some parts is cut off, and nothing of the entry is delivered")
    func cutOff() {
        let stream = Frame.entry(epoch: 1, sequence: 4, payload: Self.payload(2 * Self.part + 1)).encoded
        let twoParts = Array(stream[..<(2 * (Self.part + FrameCodec.overheadBytes))])
        let decoded = Self.decode(twoParts)
        #expect(decoded.frames.isEmpty)
        #expect(decoded.error == .entryCutOff(sequence: 4, bytes: 2 * Self.part))
    }

    @Test("another frame, or a piece of another entry, among an entry's parts breaks the stream")
    func interleaved() {
        let stream = Frame.entry(epoch: 1, sequence: 4, payload: Self.payload(Self.part + 5)).encoded
        let part = Array(stream[..<(Self.part + FrameCodec.overheadBytes)])
        let last = Array(stream[(Self.part + FrameCodec.overheadBytes)...])
        // A heartbeat between the part and the last frame
        let heartbeat = Self.decode(part + Frame.heartbeat(epoch: 1, sequence: 3).encoded + last)
        #expect(heartbeat.frames.isEmpty)
        guard case .malformedBody(kind: .heartbeat, _) = heartbeat.error else {
            Issue.record("a heartbeat inside an entry: \(String(describing: heartbeat.error))")
            return
        }
        // The last frame of another entry after the part
        let other = Self.decode(part + Frame.entry(epoch: 1, sequence: 5, payload: [1]).encoded)
        guard case .malformedBody(kind: .entry, _) = other.error else {
            Issue.record("another entry's last frame: \(String(describing: other.error))")
            return
        }
        // A lone last frame is an ordinary entry; a part shorter than entryPartBytes is not what the encoder writes
        #expect(Self.decode(last).frames == [.entry(epoch: 1, sequence: 4, payload: Array(Self.payload(Self.part + 5)[Self.part...]))])
        let short = Self.reframed(kind: .entryPart, body: [1, 2, 3]) + Frame.entry(epoch: 1, sequence: 4, payload: [4]).encoded
        guard case .malformedBody(kind: .entryPart, _) = Self.decode(short).error else {
            Issue.record("a short part decoded")
            return
        }
    }

    /// A frame of `kind` with `body`, epoch 1 and sequence 4, and a correct checksum.
    static func reframed(kind: FrameKind, body: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        Frame.encode(kind: kind, epoch: 1, headerSequence: 4, bodyLength: body.count, into: &bytes) {
            $0.append(contentsOf: body)
        }
        return bytes
    }
}
