/// Turns a byte stream, arriving in arbitrary pieces, back into frames.
///
/// A transport appends whatever each `read()` returned, then calls `next()` until it returns `nil`. The decoder is
/// the channel's gatekeeper for outside bytes, so it checks in the cheapest order that still never trusts them:
///
/// 1. The header fields are checked as soon as their bytes arrive (magic after 2 bytes, version after 3, kind
///    after 4, length after 8), so garbage or an oversized frame is rejected before any body is buffered or
///    allocated; `bodyBytesLimit` is the only size a peer can make the decoder hold for one frame.
/// 2. The CRC32C is verified over the complete frame before the body is interpreted.
/// 3. The body is decoded for its kind; a body that does not fit is `malformedBody`.
///
/// After any error the decoder is poisoned: every later `next()` and `finish()` throws the same error and new
/// bytes are dropped, so a rejected stream is never half-applied and a caller that keeps reading cannot resume
/// mid-garbage.
///
/// Memory: the buffer holds the unconsumed bytes plus the consumed prefix, which is dropped once it is more than
/// half of the buffer (or all of it). A caller that drains `next()` after every append therefore holds at most about
/// one frame plus one read.
public struct FrameDecoder: Sendable {
    /// The largest body accepted; anything larger is `oversized` (corruption or a misconfigured peer). A transport
    /// may raise it between frames (once the peer has authenticated, say): every header is checked against the
    /// limit in force when `next()` meets it.
    public var bodyBytesLimit: Int {
        didSet {
            precondition(bodyBytesLimit >= 0 && bodyBytesLimit <= Int(UInt32.max), "a body limit the header cannot express")
        }
    }

    /// The largest entry accepted once its parts are joined (`Frame.entryPartBytes`); past it, `entryTooLarge`.
    public let entryBytesLimit: Int

    /// The parts of an entry received so far: its epoch, sequence and payload bytes; nil between entries.
    private var partialEntry: PartialEntry?
    /// A large entry's epoch, sequence and the payload bytes its parts brought so far.
    private typealias PartialEntry = (epoch: UInt64, sequence: UInt64, payload: [UInt8])
    /// Received bytes; those before `readIndex` have been decoded already.
    private var buffer: [UInt8] = []
    /// Start of the first byte not yet decoded.
    private var readIndex = 0
    /// Set by the first error; rethrown forever after.
    private var failure: FrameError?

    /// - Parameters:
    ///   - bodyBytesLimit: at most `UInt32.max`, the largest length the header can carry.
    ///   - entryBytesLimit: the largest entry payload joined from parts; by default one frame body's worth.
    public init(bodyBytesLimit: Int, entryBytesLimit: Int? = nil) {
        precondition(bodyBytesLimit >= 0, "a negative body limit would reject every frame")
        precondition(bodyBytesLimit <= Int(UInt32.max), "the header cannot declare a body over UInt32.max bytes")
        self.bodyBytesLimit = bodyBytesLimit
        self.entryBytesLimit = entryBytesLimit ?? bodyBytesLimit
    }

    /// Received bytes not yet returned as a frame: a partial frame, or complete ones `next()` has yet to take.
    public var bufferedBytes: Int { buffer.count - readIndex }

    /// Bytes held in memory, including the consumed prefix not yet compacted away; for tests of the memory bound.
    var storageBytes: Int { buffer.count }

    /// Whether an error has poisoned this decoder.
    public var isPoisoned: Bool { failure != nil }

    /// Adds bytes read from the stream. Dropped once the decoder is poisoned.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !bytes.isEmpty else { return }
        compact()
        buffer.append(contentsOf: bytes)
    }

    /// Adds bytes read from the stream. Dropped once the decoder is poisoned.
    public mutating func append(contentsOf bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete frame, or `nil` if more bytes are needed.
    ///
    /// Throws as soon as the buffered bytes prove the stream invalid, even before the frame is complete, and
    /// throws the same error on every later call.
    public mutating func next() throws(FrameError) -> Frame? {
        if let failure { throw failure }
        do throws(FrameError) {
            while true {
                // `Array.withUnsafeBytes` rethrows untyped errors, so the typed error travels out in a `Result`.
                // Moved out while it grows, so the payload is never shared and appending never copies it.
                var partial = partialEntry
                partialEntry = nil
                let decoded = try buffer.withUnsafeBytes { all in
                    Result { () throws(FrameError) -> (frame: Frame?, length: Int)? in
                        try Self.decodeFirst(
                            UnsafeRawBufferPointer(rebasing: all[readIndex...]), limit: bodyBytesLimit,
                            entryBytesLimit: entryBytesLimit, partialEntry: &partial)
                    }
                }.get()
                partialEntry = partial
                guard let decoded else { return nil }
                readIndex += decoded.length
                if readIndex == buffer.count { compact() }
                if let frame = decoded.frame { return frame }
            }
        } catch {
            failure = error
            buffer = []
            readIndex = 0
            partialEntry = nil
            throw error
        }
    }

    /// Checks that the stream ended on a frame boundary; call when the peer closes, after `next()` returned `nil`.
    ///
    /// Throws `.truncated` if part of a frame is buffered: the peer died or closed mid-frame, and the partial frame
    /// is discarded, never applied. A poisoned decoder throws its error again.
    public func finish() throws(FrameError) {
        if let failure { throw failure }
        if bufferedBytes == 0, let partialEntry {
            throw .entryCutOff(sequence: partialEntry.sequence, bytes: partialEntry.payload.count)
        }
        guard bufferedBytes > 0 else { return }
        let needed = buffer.withUnsafeBytes { all in
            Self.frameLength(ofPrefix: UnsafeRawBufferPointer(rebasing: all[readIndex...])) ?? FrameCodec.headerBytes
        }
        precondition(needed > bufferedBytes, "finish() called with a complete frame still buffered; drain next() first")
        throw .truncated(needed: needed, available: bufferedBytes)
    }

    /// Drops the consumed prefix when it is all of the buffer, or more than half of it.
    ///
    /// Halving bounds the copying: each byte is moved at most about once on average, and the buffer never holds more
    /// than twice what is unconsumed plus one read.
    private mutating func compact() {
        if readIndex == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            readIndex = 0
        } else if readIndex > buffer.count / 2 {
            buffer.removeSubrange(0..<readIndex)
            readIndex = 0
        }
    }

    /// The total frame length the header prefix declares, once its length field has arrived.
    private static func frameLength(ofPrefix bytes: UnsafeRawBufferPointer) -> Int? {
        guard bytes.count >= FrameCodec.bodyLengthOffset + 4 else { return nil }
        let bodyLength = Int(FrameCodec.load(UInt32.self, at: FrameCodec.bodyLengthOffset, from: bytes))
        return FrameCodec.headerBytes + bodyLength + FrameCodec.trailerBytes
    }

    /// Decodes the frame at the start of `bytes`, returning it and its wire length, or `nil` if it is incomplete.
    /// An entry's part is kept in `partialEntry` and returns no frame; the entry's last frame returns it whole.
    private static func decodeFirst(
        _ bytes: UnsafeRawBufferPointer, limit: Int, entryBytesLimit: Int, partialEntry: inout PartialEntry?
    ) throws(FrameError) -> (frame: Frame?, length: Int)? {
        let available = bytes.count
        if available >= FrameCodec.magicOffset + 2 {
            let magic = FrameCodec.load(UInt16.self, at: FrameCodec.magicOffset, from: bytes)
            guard magic == FrameCodec.magic else { throw .badMagic(magic) }
        }
        if available > FrameCodec.versionOffset {
            let version = bytes[FrameCodec.versionOffset]
            guard version == FrameCodec.version else { throw .unsupportedVersion(version) }
        }
        var kind: FrameKind?
        if available > FrameCodec.kindOffset {
            let kindByte = bytes[FrameCodec.kindOffset]
            guard let known = FrameKind(rawValue: kindByte) else { throw .unknownKind(kindByte) }
            kind = known
        }
        guard let frameLength = frameLength(ofPrefix: bytes) else { return nil }
        let bodyLength = frameLength - FrameCodec.overheadBytes
        guard bodyLength <= limit else { throw .oversized(declared: bodyLength, limit: limit) }
        guard available >= frameLength, let kind else { return nil }

        let checked = UnsafeRawBufferPointer(rebasing: bytes[..<(frameLength - FrameCodec.trailerBytes)])
        let expected = FrameCodec.load(UInt32.self, at: checked.count, from: bytes)
        let actual = CRC32C.checksum(checked)
        guard expected == actual else { throw .checksumMismatch(expected: expected, actual: actual) }

        let epoch = FrameCodec.load(UInt64.self, at: FrameCodec.epochOffset, from: bytes)
        let sequence = FrameCodec.load(UInt64.self, at: FrameCodec.sequenceOffset, from: bytes)
        let body = UnsafeRawBufferPointer(rebasing: checked[FrameCodec.headerBytes...])
        if kind == .entryPart || partialEntry != nil {
            let frame = try join(
                kind: kind, epoch: epoch, sequence: sequence, body: body, entryBytesLimit: entryBytesLimit,
                partialEntry: &partialEntry)
            return (frame, frameLength)
        }
        return (try FrameCodec.decodeFrame(kind: kind, epoch: epoch, sequence: sequence, body: body), frameLength)
    }

    /// Adds a part, or the last frame, of a large entry to `partialEntry`; the whole entry once the last arrives.
    ///
    /// Parts are exactly `Frame.entryPartBytes` and the last frame at most that and not empty, all of one entry back
    /// to back, as the encoder writes them, so no other stream of frames decodes as the same entry.
    private static func join(
        kind: FrameKind, epoch: UInt64, sequence: UInt64, body: UnsafeRawBufferPointer, entryBytesLimit: Int,
        partialEntry: inout PartialEntry?
    ) throws(FrameError) -> Frame? {
        if let partialEntry, partialEntry.epoch != epoch || partialEntry.sequence != sequence || kind != .entryPart && kind != .entry {
            throw .malformedBody(
                kind: kind, reason: "epoch \(epoch) sequence \(sequence) inside entry \(partialEntry.sequence)'s parts")
        }
        guard kind == .entryPart ? body.count == Frame.entryPartBytes : (1...Frame.entryPartBytes).contains(body.count) else {
            throw .malformedBody(kind: kind, reason: "a \(body.count)-byte piece of a large entry")
        }
        var joined = partialEntry ?? (epoch, sequence, [])
        partialEntry = nil
        guard joined.payload.count + body.count <= entryBytesLimit else {
            throw .entryTooLarge(sequence: sequence, bytes: joined.payload.count + body.count, limit: entryBytesLimit)
        }
        joined.payload.append(contentsOf: body)
        guard kind == .entry else {
            partialEntry = joined
            return nil
        }
        return .entry(epoch: epoch, sequence: sequence, payload: joined.payload)
    }
}
