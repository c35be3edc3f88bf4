#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import LogChannel

/// Frames, raw wire bytes and a seeded generator shared by the codec, decoder and send-buffer tests.
///
/// Raw frames are built here by hand from the documented layout, not by the encoder, so a test pins the wire
/// format rather than agreeing with whatever the encoder happens to write.
enum FrameSamples {
    /// At least one frame of every kind, with edge values: empty bodies, maximal integers, multi-byte UTF-8.
    static let everyKind: [Frame] = [
        .entry(epoch: 1, sequence: 1, payload: Array("SET k v".utf8)),
        .entry(epoch: 3, sequence: 42, payload: []),
        .entry(epoch: .max, sequence: .max, payload: (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 7) }),
        .ack(epoch: 1, received: 10, applied: 9),
        .ack(epoch: .max, received: .max, applied: .max),
        .heartbeat(epoch: 2, sequence: 77),
        .hello(Hello(epoch: 4, nodeName: "node-a", channelAddress: "10.0.0.1:7000", clientAddress: "10.0.0.1:6379")),
        .hello(Hello(epoch: 0, nodeName: "", channelAddress: "", clientAddress: "")),
        .hello(Hello(epoch: 9, nodeName: "nœud-日本-🙂", channelAddress: "[::1]:7000", clientAddress: "[::1]:6379")),
        .checkpoint(epoch: 5, sequence: 100, chunkIndex: 0, isLast: false, estimatedBytes: 3, bytes: [1, 2, 3]),
        .checkpoint(epoch: 5, sequence: 100, chunkIndex: .max, isLast: true, estimatedBytes: 0, bytes: []),
        .checkpoint(
            epoch: 5, sequence: 100, chunkIndex: 1, isLast: false, estimatedBytes: UInt64(Int.max), bytes: [0]),
        .checkpointAck(epoch: 5, sequence: 100, chunkIndex: 0),
        .checkpointAck(epoch: 5, sequence: 100, chunkIndex: .max),
        .protecting(epoch: 6, sequence: 200),
        .handover(epoch: 7, sequence: 300),
        .refuse(epoch: 8, reason: "not the primary; primary is node-b"),
        .refuse(epoch: 8, reason: ""),
        .refuse(epoch: 8, reason: "épuisé 🙂"),
        .challenge(nonce: (0..<32).map { UInt8($0) }, nodeName: "node-a"),
        .challenge(nonce: [UInt8](repeating: 0xFF, count: 32), nodeName: ""),
        .proof(tag: (0..<32).map { UInt8(255 - $0) }),
        .busy(milliseconds: 1_500),
        .busy(milliseconds: .max),
    ]

    /// The seed for property tests: `LOCKSTEP_SEED` if set, so a failure printed with its seed replays exactly.
    static let seed: UInt64 = {
        if let text = getenv("LOCKSTEP_SEED"), let seed = UInt64(String(cString: text)) { return seed }
        return 0x5EED_C0DE
    }()

    /// SplitMix64: tiny, fast and fully determined by its seed, unlike the system generator.
    struct Generator: RandomNumberGenerator {
        var state: UInt64

        init(seed: UInt64) { state = seed }

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    /// A random frame of a random kind; sizes are mostly small, sometimes a few hundred bytes.
    static func randomFrame(using generator: inout Generator) -> Frame {
        func number() -> UInt64 {
            Bool.random(using: &generator) ? UInt64.random(in: 0...1_000, using: &generator) : generator.next()
        }
        func bytes() -> [UInt8] {
            let count = Int.random(in: 0...8, using: &generator) == 0
                ? Int.random(in: 0...400, using: &generator) : Int.random(in: 0...24, using: &generator)
            return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
        }
        func text() -> String {
            let alphabet: [Character] = ["a", "z", "0", ":", ".", " ", "é", "日", "🙂", "\u{0}"]
            let count = Int.random(in: 0...12, using: &generator)
            return String((0..<count).map { _ in alphabet.randomElement(using: &generator)! })
        }
        switch FrameKind.allCases.randomElement(using: &generator)! {
        // Parts are no frames of their own; entries large enough to need them have tests apart (`EntryPartsTests`).
        case .entry, .entryPart: return .entry(epoch: number(), sequence: number(), payload: bytes())
        case .ack: return .ack(epoch: number(), received: number(), applied: number())
        case .heartbeat: return .heartbeat(epoch: number(), sequence: number())
        case .hello:
            return .hello(Hello(epoch: number(), nodeName: text(), channelAddress: text(), clientAddress: text()))
        case .checkpoint:
            return .checkpoint(
                epoch: number(), sequence: number(), chunkIndex: UInt32.random(in: 0...UInt32.max, using: &generator),
                isLast: Bool.random(using: &generator), estimatedBytes: number() & UInt64(Int.max), bytes: bytes())
        case .checkpointAck:
            return .checkpointAck(
                epoch: number(), sequence: number(), chunkIndex: UInt32.random(in: 0...UInt32.max, using: &generator))
        case .protecting: return .protecting(epoch: number(), sequence: number())
        case .handover: return .handover(epoch: number(), sequence: number())
        case .refuse: return .refuse(epoch: number(), reason: text())
        case .challenge:
            let nonce = (0..<Frame.challengeNonceBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            return .challenge(nonce: nonce, nodeName: text())
        case .proof: return .proof(tag: (0..<HMAC.tagBytes).map { _ in UInt8.random(in: 0...255, using: &generator) })
        case .busy: return .busy(milliseconds: UInt32.random(in: 0...UInt32.max, using: &generator))
        }
    }

    /// `bytes` cut into consecutive chunks of random sizes between 1 and `maxChunk`.
    static func randomChunks(_ bytes: [UInt8], maxChunk: Int, using generator: inout Generator) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var start = 0
        while start < bytes.count {
            let end = min(bytes.count, start + Int.random(in: 1...maxChunk, using: &generator))
            chunks.append(Array(bytes[start..<end]))
            start = end
        }
        return chunks
    }

    /// A frame built by hand from the documented layout, with any header values and a correct CRC32C.
    static func rawFrame(
        magic: UInt16 = 0x4C53, version: UInt8 = 1, kind: UInt8, bodyLength: UInt32? = nil,
        epoch: UInt64 = 1, sequence: UInt64 = 0, body: [UInt8] = []
    ) -> [UInt8] {
        var bytes = littleEndian(magic) + [version, kind] + littleEndian(bodyLength ?? UInt32(body.count))
        bytes += littleEndian(epoch) + littleEndian(sequence) + body
        return bytes + littleEndian(CRC32C.checksum(bytes))
    }

    static func littleEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }

    /// What a transport sees: the frames decoded from `chunks`, draining after each read, then the end-of-stream
    /// check, and the first error if any.
    static func decode(
        _ chunks: [[UInt8]], bodyBytesLimit: Int = 1 << 16
    ) -> (frames: [Frame], error: FrameError?) {
        var decoder = FrameDecoder(bodyBytesLimit: bodyBytesLimit)
        var frames: [Frame] = []
        do throws(FrameError) {
            for chunk in chunks {
                decoder.append(contentsOf: chunk)
                while let frame = try decoder.next() { frames.append(frame) }
            }
            try decoder.finish()
            return (frames, nil)
        } catch {
            return (frames, error)
        }
    }
}

@Suite("CRC32C")
struct CRC32CTests {
    @Test("the check value of \"123456789\" is 0xE3069283")
    func standardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }

    @Test("the CRC of no bytes is zero")
    func emptyInput() {
        #expect(CRC32C.checksum([]) == 0)
    }

    /// Every implementation this machine can run: the tables always, the instructions where the CPU has them.
    static let implementations: [CRC32C.Implementation] =
        CRC32C.implementation == .instructions ? [.tables, .instructions] : [.tables]

    @Test("each implementation agrees with the bitwise definition at every length and alignment",
        arguments: implementations)
    func matchesBitwise(_ implementation: CRC32C.Implementation) {
        // Given a bitwise CRC straight from the definition
        func bitwise(_ bytes: ArraySlice<UInt8>) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
            }
            return ~crc
        }
        var generator = FrameSamples.Generator(seed: FrameSamples.seed)
        let bytes = (0..<80).map { _ in UInt8.random(in: 0...255, using: &generator) }
        // When every slice is checksummed both ways, then they agree
        for start in 0..<8 {
            for end in start...bytes.count {
                let slice = bytes[start..<end]
                let checksum = Array(slice).withUnsafeBytes { CRC32C.checksum($0, using: implementation) }
                #expect(checksum == bitwise(slice), "bytes \(start)..<\(end)")
            }
        }
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0, using: implementation) } == 0xE306_9283)
    }

    @Test("a CRC continued over pieces equals the CRC of the whole")
    func continuingInPieces() {
        let bytes = Array("the quick brown fox jumps over the lazy dog".utf8)
        for cut in 0...bytes.count {
            let first = CRC32C.checksum(Array(bytes[..<cut]))
            #expect(CRC32C.checksum(Array(bytes[cut...]), continuing: first) == CRC32C.checksum(bytes), "cut \(cut)")
        }
    }
}

@Suite("frame wire format")
struct FrameCodecTests {
    @Test("the samples cover every frame kind")
    func samplesCoverEveryKind() {
        // An entry's part is no frame of its own (`EntryPartsTests`).
        #expect(Set(FrameSamples.everyKind.map(\.kind)) == Set(FrameKind.allCases).subtracting([.entryPart]))
    }

    @Test("every frame kind survives encode and decode", arguments: FrameSamples.everyKind)
    func roundTrip(frame: Frame) throws {
        var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
        decoder.append(contentsOf: frame.encoded)
        #expect(try decoder.next() == frame)
        #expect(try decoder.next() == nil)
        #expect(decoder.bufferedBytes == 0)
    }

    @Test("random frames survive encode and decode")
    func randomRoundTrip() throws {
        var generator = FrameSamples.Generator(seed: FrameSamples.seed)
        for iteration in 0..<2_000 {
            let frame = FrameSamples.randomFrame(using: &generator)
            var decoder = FrameDecoder(bodyBytesLimit: 1 << 16)
            decoder.append(contentsOf: frame.encoded)
            #expect(try decoder.next() == frame, "seed \(FrameSamples.seed), iteration \(iteration)")
        }
    }

    @Test(
        "each kind puts its fields in the documented header and body slots",
        arguments: [
            (Frame.entry(epoch: 2, sequence: 0x0102_0304_0506_0708, payload: [0xAA, 0xBB]),
             UInt64(0x0102_0304_0506_0708), [0xAA, 0xBB] as [UInt8]),
            (.ack(epoch: 2, received: 9, applied: 0x1122_3344_5566_7788),
             9, [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11]),
            (.heartbeat(epoch: 2, sequence: 5), 5, []),
            (.hello(
                Hello(
                    epoch: 2, nodeName: "n", channelAddress: "ab", clientAddress: "é",
                    readLease: .nanoseconds(0x0102_0304_0506_0708))),
             0, [1, 0, 0x6E, 2, 0, 0x61, 0x62, 2, 0, 0xC3, 0xA9, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01]),
            (.checkpoint(
                epoch: 2, sequence: 6, chunkIndex: 0x0102_0304, isLast: true, estimatedBytes: 0x1122_3344_5566_7788,
                bytes: [0xFF]),
             6, [0x04, 0x03, 0x02, 0x01, 1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xFF]),
            (.checkpointAck(epoch: 2, sequence: 6, chunkIndex: 0x0102_0304), 6, [0x04, 0x03, 0x02, 0x01]),
            (.protecting(epoch: 2, sequence: 7), 7, []),
            (.handover(epoch: 2, sequence: 8), 8, []),
            (.refuse(epoch: 2, reason: "no"), 0, [0x6E, 0x6F]),
            (.busy(milliseconds: 0x0102_0304), 0x0102_0304, []),
        ])
    func documentedLayout(frame: Frame, headerSequence: UInt64, body: [UInt8]) {
        // Given the layout written out by hand, when the frame is encoded, then the bytes match it exactly
        let expected = FrameSamples.rawFrame(
            kind: frame.kind.rawValue, epoch: frame.epoch, sequence: headerSequence, body: body)
        #expect(frame.encoded == expected)
        #expect(frame.encodedByteCount == expected.count)
    }

    @Test("the header is magic, version, kind, length, epoch and sequence, little-endian, then a CRC32C trailer")
    func goldenEntryBytes() {
        let bytes = Frame.entry(epoch: 0x0A, sequence: 0x0B, payload: [0xCC]).encoded
        #expect(Array(bytes[0..<24]) == [
            0x53, 0x4C, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00,
            0x0A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x0B, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        ])
        #expect(bytes[24] == 0xCC)
        #expect(Array(bytes[25...]) == FrameSamples.littleEndian(CRC32C.checksum(Array(bytes[..<25]))))
    }

    @Test("encoding appends after existing bytes and leaves them untouched")
    func encodeAppends() {
        var bytes: [UInt8] = [9, 8, 7]
        let frame = Frame.heartbeat(epoch: 1, sequence: 2)
        frame.encode(into: &bytes)
        #expect(bytes == [9, 8, 7] + frame.encoded)
    }

    @Test("the predicted encoded size matches the bytes written", arguments: FrameSamples.everyKind)
    func encodedByteCountIsExact(frame: Frame) {
        #expect(frame.encodedByteCount == frame.encoded.count)
    }

    @Test("every error describes what happened and what follows in one sentence")
    func errorDescriptions() {
        let errors: [FrameError] = [
            .badMagic(0x4547), .unsupportedVersion(2), .unknownKind(9), .oversized(declared: 10, limit: 5),
            .checksumMismatch(expected: 1, actual: 2), .truncated(needed: 28, available: 3),
            .malformedBody(kind: .ack, reason: "ack body is 7 bytes, not 8"),
        ]
        for error in errors {
            #expect(error.description.contains("; "), "\(error)")
            #expect(!error.description.hasSuffix("."), "\(error)")
        }
        #expect(FrameError.badMagic(0x4547).description.contains("0x4547"))
    }
}
