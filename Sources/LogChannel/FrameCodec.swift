/// The wire layout of a logging-channel frame, and the per-kind body encodings.
///
/// Every integer is little-endian, the byte order of every machine Lockstep targets, so encoding is a plain store.
///
///     offset  size  field
///     0       2     magic         0x4C53 ("SL" on the wire): finds a desynchronised or foreign stream at once
///     2       1     version       1; bumped on any incompatible layout change
///     3       1     kind          FrameKind raw value
///     4       4     bodyLength    bytes of body that follow the header
///     8       8     epoch         the sender's epoch
///     16      8     sequence      per kind, see below
///     24      n     body          per kind, see below
///     24+n    4     CRC32C        over header and body (bytes 0 ..< 24+n)
///
/// What each kind puts in `sequence` and the body:
///
///     entry       sequence = entry sequence       body = payload (opaque, application-encoded), or its last
///                                                        piece after entryParts
///     entryPart   sequence = entry sequence       body = the next `Frame.entryPartBytes` of the payload
///     ack         sequence = received             body = applied u64
///     heartbeat   sequence = highest appended     body = empty
///     hello       sequence = 0                    body = nodeName · channelAddress · clientAddress,
///                                                        each a u16 byte count then UTF-8, ·
///                                                        readLeaseNanoseconds u64
///     checkpoint  sequence = state after entry    body = chunkIndex u32 · isLast u8 (0 or 1) ·
///                                                        estimatedBytes u64 (at most Int.max) · bytes
///     checkpointAck sequence = state after entry  body = chunkIndex u32 (every chunk through it is installed)
///     protecting  sequence = after this entry     body = empty
///     handover    sequence = applied through      body = empty
///     refuse      sequence = 0                    body = UTF-8 reason
///     challenge   sequence = 0, epoch = 0         body = nonce (32 bytes) · nodeName (u16 byte count then UTF-8)
///     proof       sequence = 0, epoch = 0         body = HMAC-SHA256 tag (32 bytes)
///     busy        sequence = milliseconds (u32), epoch = 0    body = empty
///
/// The header carries the length, kind and epoch in fixed places so the decoder can reject a frame (oversized,
/// unknown kind) before reading its body, and so a transport can route a frame without decoding it. Every encoding
/// is canonical: the decoder accepts exactly the bytes the encoder produces, so a corrupt frame that passes the CRC
/// by chance still cannot decode as a different, valid one.
public enum FrameCodec {
    /// Fixed header size; the decoder knows the whole frame's size once it has these bytes.
    public static let headerBytes = 24
    /// The CRC32C that closes each frame.
    public static let trailerBytes = 4
    /// The wire version this build writes and the only one it reads.
    public static let version: UInt8 = 1
    /// The first two bytes of every frame.
    public static let magic: UInt16 = 0x4C53

    static let magicOffset = 0
    static let versionOffset = 2
    static let kindOffset = 3
    static let bodyLengthOffset = 4
    static let epochOffset = 8
    static let sequenceOffset = 16

    /// Header and trailer together: the size of a frame with an empty body.
    public static var overheadBytes: Int { headerBytes + trailerBytes }

    /// Reads a little-endian integer at `offset`; the caller has checked that the bytes are there.
    @inline(__always)
    static func load<T: FixedWidthInteger>(
        _ type: T.Type, at offset: Int, from bytes: UnsafeRawBufferPointer
    ) -> T {
        T(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Builds the frame a verified header and body describe.
    ///
    /// The checksum has already passed, so any mismatch here is a sender bug rather than line noise; it is still
    /// outside input, so it is a typed error, never a crash.
    static func decodeFrame(
        kind: FrameKind, epoch: UInt64, sequence: UInt64, body: UnsafeRawBufferPointer
    ) throws(FrameError) -> Frame {
        switch kind {
        case .entry:
            return .entry(epoch: epoch, sequence: sequence, payload: Array(body))
        case .entryPart:
            // `FrameDecoder` joins parts before any frame is built; one reaching here is a decoder bug.
            throw .malformedBody(kind: kind, reason: "an entry part is not a frame of its own")
        case .ack:
            guard body.count == 8 else {
                throw .malformedBody(kind: kind, reason: "ack body is \(body.count) bytes, not 8")
            }
            return .ack(epoch: epoch, received: sequence, applied: load(UInt64.self, at: 0, from: body))
        case .heartbeat:
            try requireEmpty(body, kind: kind)
            return .heartbeat(epoch: epoch, sequence: sequence)
        case .hello:
            try requireZero(sequence, kind: kind)
            var reader = StringReader(body: body, kind: kind)
            let nodeName = try reader.next(field: "nodeName")
            let channelAddress = try reader.next(field: "channelAddress")
            let clientAddress = try reader.next(field: "clientAddress")
            guard body.count - reader.offset == 8 else {
                throw .malformedBody(
                    kind: kind, reason: "\(body.count - reader.offset) bytes after clientAddress, not a u64 read lease")
            }
            var hello = Hello(
                epoch: epoch, nodeName: nodeName, channelAddress: channelAddress, clientAddress: clientAddress)
            hello.readLeaseNanoseconds = load(UInt64.self, at: reader.offset, from: body)
            return .hello(hello)
        case .checkpoint:
            let fieldsBytes = Frame.checkpointFieldsBytes
            guard body.count >= fieldsBytes else {
                throw .malformedBody(
                    kind: kind, reason: "checkpoint body is \(body.count) bytes, at least \(fieldsBytes) needed")
            }
            let chunkIndex = load(UInt32.self, at: 0, from: body)
            let isLast: Bool
            switch body[4] {
            case 0: isLast = false
            case 1: isLast = true
            case let flag: throw .malformedBody(kind: kind, reason: "isLast is \(flag), not 0 or 1")
            }
            let estimatedBytes = load(UInt64.self, at: 5, from: body)
            guard estimatedBytes <= UInt64(Int.max) else {
                throw .malformedBody(kind: kind, reason: "estimatedBytes is \(estimatedBytes), more than Int.max")
            }
            return .checkpoint(
                epoch: epoch, sequence: sequence, chunkIndex: chunkIndex, isLast: isLast,
                estimatedBytes: estimatedBytes, bytes: Array(UnsafeRawBufferPointer(rebasing: body[fieldsBytes...])))
        case .checkpointAck:
            guard body.count == 4 else {
                throw .malformedBody(kind: kind, reason: "checkpoint ack body is \(body.count) bytes, not 4")
            }
            return .checkpointAck(epoch: epoch, sequence: sequence, chunkIndex: load(UInt32.self, at: 0, from: body))
        case .protecting:
            try requireEmpty(body, kind: kind)
            return .protecting(epoch: epoch, sequence: sequence)
        case .busy:
            try requireZeroEpoch(epoch, kind: kind)
            try requireEmpty(body, kind: kind)
            guard let milliseconds = UInt32(exactly: sequence) else {
                throw .malformedBody(kind: kind, reason: "\(sequence) milliseconds, more than a u32")
            }
            return .busy(milliseconds: milliseconds)
        case .handover:
            try requireEmpty(body, kind: kind)
            return .handover(epoch: epoch, sequence: sequence)
        case .refuse:
            try requireZero(sequence, kind: kind)
            guard let reason = String(validating: body, as: UTF8.self) else {
                throw .malformedBody(kind: kind, reason: "reason is not valid UTF-8")
            }
            return .refuse(epoch: epoch, reason: reason)
        case .challenge:
            try requireZero(sequence, kind: kind)
            try requireZeroEpoch(epoch, kind: kind)
            let nonceBytes = Frame.challengeNonceBytes
            guard body.count >= nonceBytes else {
                throw .malformedBody(kind: kind, reason: "challenge body is \(body.count) bytes, at least \(nonceBytes) needed")
            }
            var reader = StringReader(body: body, kind: kind)
            reader.offset = nonceBytes
            let nodeName = try reader.next(field: "nodeName")
            guard reader.offset == body.count else {
                throw .malformedBody(kind: kind, reason: "\(body.count - reader.offset) bytes after nodeName")
            }
            return .challenge(nonce: Array(UnsafeRawBufferPointer(rebasing: body[..<nonceBytes])), nodeName: nodeName)
        case .proof:
            try requireZero(sequence, kind: kind)
            try requireZeroEpoch(epoch, kind: kind)
            guard body.count == HMAC.tagBytes else {
                throw .malformedBody(kind: kind, reason: "proof body is \(body.count) bytes, not \(HMAC.tagBytes)")
            }
            return .proof(tag: Array(body))
        }
    }

    private static func requireZeroEpoch(_ epoch: UInt64, kind: FrameKind) throws(FrameError) {
        guard epoch == 0 else { throw .malformedBody(kind: kind, reason: "header epoch is \(epoch), not 0") }
    }

    private static func requireEmpty(_ body: UnsafeRawBufferPointer, kind: FrameKind) throws(FrameError) {
        guard body.isEmpty else { throw .malformedBody(kind: kind, reason: "body is \(body.count) bytes, not empty") }
    }

    private static func requireZero(_ sequence: UInt64, kind: FrameKind) throws(FrameError) {
        guard sequence == 0 else { throw .malformedBody(kind: kind, reason: "header sequence is \(sequence), not 0") }
    }

    /// Reads the u16-length-prefixed UTF-8 strings of a hello body, in order.
    private struct StringReader {
        let body: UnsafeRawBufferPointer
        let kind: FrameKind
        var offset = 0

        init(body: UnsafeRawBufferPointer, kind: FrameKind) {
            self.body = body
            self.kind = kind
        }

        mutating func next(field: String) throws(FrameError) -> String {
            guard body.count - offset >= 2 else {
                throw .malformedBody(kind: kind, reason: "\(field) length is cut off")
            }
            let length = Int(load(UInt16.self, at: offset, from: body))
            offset += 2
            guard body.count - offset >= length else {
                throw .malformedBody(
                    kind: kind, reason: "\(field) claims \(length) bytes but \(body.count - offset) remain")
            }
            let bytes = UnsafeRawBufferPointer(rebasing: body[offset..<offset + length])
            offset += length
            guard let string = String(validating: bytes, as: UTF8.self) else {
                throw .malformedBody(kind: kind, reason: "\(field) is not valid UTF-8")
            }
            return string
        }
    }
}

extension Frame {
    /// Appends this frame's wire bytes (header, body, CRC32C) to `bytes`.
    ///
    /// Writes straight into the array: one capacity check, then stores, with no intermediate body buffer or `Data`
    /// (IO-FINDINGS: `Data` framing costs several times `[UInt8]`). Capacity grows geometrically, so appending many
    /// frames to one send buffer stays linear. Bytes already in `bytes` are left alone.
    public func encode(into bytes: inout [UInt8]) {
        if case .entry(let epoch, let sequence, let payload) = self {
            Self.encodeEntry(epoch: epoch, sequence: sequence, payloadByteCount: payload.count, into: &bytes) {
                $0.copyBytes(from: payload)
            }
            return
        }
        Self.encode(kind: kind, epoch: epoch, headerSequence: headerSequence, bodyLength: encodedBodyByteCount,
            into: &bytes) { bytes in
            switch self {
            case .entry(_, _, let payload):
                bytes.append(contentsOf: payload)
            case .ack(_, _, let applied):
                bytes.appendLittleEndian(applied)
            case .heartbeat, .protecting, .handover, .busy:
                break
            case .hello(let hello):
                bytes.appendLengthPrefixed(hello.nodeName)
                bytes.appendLengthPrefixed(hello.channelAddress)
                bytes.appendLengthPrefixed(hello.clientAddress)
                bytes.appendLittleEndian(hello.readLeaseNanoseconds)
            case .checkpoint(_, _, let chunkIndex, let isLast, let estimatedBytes, let chunk):
                // Checked here, as the decoder checks it: a larger estimate would not decode as sent.
                precondition(estimatedBytes <= UInt64(Int.max), "a checkpoint estimate of \(estimatedBytes) bytes")
                bytes.appendLittleEndian(chunkIndex)
                bytes.append(isLast ? 1 : 0)
                bytes.appendLittleEndian(estimatedBytes)
                bytes.append(contentsOf: chunk)
            case .checkpointAck(_, _, let chunkIndex):
                bytes.appendLittleEndian(chunkIndex)
            case .refuse(_, let reason):
                bytes.append(contentsOf: reason.utf8)
            case .challenge(let nonce, let nodeName):
                // Checked here, as the decoder checks it: a nonce of another size would not decode as sent.
                precondition(nonce.count == Frame.challengeNonceBytes, "a challenge nonce of \(nonce.count) bytes")
                bytes.append(contentsOf: nonce)
                bytes.appendLengthPrefixed(nodeName)
            case .proof(let tag):
                precondition(tag.count == HMAC.tagBytes, "a proof tag of \(tag.count) bytes")
                bytes.append(contentsOf: tag)
            }
        }
    }

    /// Appends the wire bytes of `.entry(epoch:sequence:payload:)` whose payload `writePayload` writes into the
    /// buffer it is given, exactly `payloadByteCount` bytes: one frame, or for a payload over `Frame.entryPartBytes`
    /// the parts and last frame that `FrameDecoder` joins again.
    ///
    /// One frame is laid out whole in a scratch buffer (on the stack when short) and copied in one append: appending
    /// its header, payload and checksum in turn cost three passes through the array's generic append. A large
    /// payload is written into an array of its own, then each piece is copied into its frame.
    static func encodeEntry(
        epoch: UInt64, sequence: UInt64, payloadByteCount: Int, into bytes: inout [UInt8],
        writePayload: (UnsafeMutableRawBufferPointer) -> Void
    ) {
        guard payloadByteCount > Frame.entryPartBytes else {
            let frameLength = FrameCodec.overheadBytes + payloadByteCount
            let bodyEnd = FrameCodec.headerBytes + payloadByteCount
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: frameLength) { scratch in
                let frame = UnsafeMutableRawBufferPointer(scratch)
                let header = Self.header(
                    kind: .entry, epoch: epoch, headerSequence: sequence, bodyLength: payloadByteCount)
                withUnsafeBytes(of: header) { frame.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                writePayload(UnsafeMutableRawBufferPointer(rebasing: frame[FrameCodec.headerBytes..<bodyEnd]))
                let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: frame[..<bodyEnd]))
                frame.storeBytes(of: crc.littleEndian, toByteOffset: bodyEnd, as: UInt32.self)
                bytes.append(contentsOf: UnsafeBufferPointer(scratch))
            }
            return
        }
        let payload = [UInt8](unsafeUninitializedCapacity: payloadByteCount) { buffer, initialized in
            writePayload(UnsafeMutableRawBufferPointer(buffer))
            initialized = payloadByteCount
        }
        let total = entryWireBytes(payloadByteCount: payloadByteCount)
        if bytes.capacity - bytes.count < total { bytes.reserveCapacity(bytes.count + total) }
        let part = Frame.entryPartBytes
        let frames = (payloadByteCount + part - 1) / part
        payload.withUnsafeBufferPointer { all in
            for index in 0..<frames {
                let piece = (index * part)..<min(payloadByteCount, (index + 1) * part)
                encode(
                    kind: index == frames - 1 ? .entry : .entryPart, epoch: epoch, headerSequence: sequence,
                    bodyLength: piece.count, into: &bytes
                ) { $0.append(contentsOf: UnsafeBufferPointer(rebasing: all[piece])) }
            }
        }
    }

    /// A frame header, assembled in three words on the stack so that it is stored in one copy.
    private static func header(
        kind: FrameKind, epoch: UInt64, headerSequence: UInt64, bodyLength: Int
    ) -> (UInt64, UInt64, UInt64) {
        var header: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &header) { raw in
            raw.storeBytes(of: FrameCodec.magic.littleEndian, toByteOffset: FrameCodec.magicOffset, as: UInt16.self)
            raw[FrameCodec.versionOffset] = FrameCodec.version
            raw[FrameCodec.kindOffset] = kind.rawValue
            raw.storeBytes(
                of: UInt32(bodyLength).littleEndian, toByteOffset: FrameCodec.bodyLengthOffset, as: UInt32.self)
            raw.storeBytes(of: epoch.littleEndian, toByteOffset: FrameCodec.epochOffset, as: UInt64.self)
            raw.storeBytes(of: headerSequence.littleEndian, toByteOffset: FrameCodec.sequenceOffset, as: UInt64.self)
        }
        return header
    }

    /// The wire bytes of an entry with a `payloadByteCount`-byte payload, parts included.
    public static func entryWireBytes(payloadByteCount: Int) -> Int {
        let frames = max(1, (payloadByteCount + Frame.entryPartBytes - 1) / Frame.entryPartBytes)
        return payloadByteCount + frames * FrameCodec.overheadBytes
    }

    /// Appends a frame's wire bytes to `bytes`: the header, the `bodyLength` bytes `writeBody` appends, the CRC.
    ///
    /// The layout of every frame whose body is appended (`encode(into:)`, the parts of a large entry); a one-frame
    /// entry is laid out the same way in a scratch buffer by `encodeEntry`. Bytes already in `bytes` are left alone.
    static func encode(
        kind: FrameKind, epoch: UInt64, headerSequence: UInt64, bodyLength: Int, into bytes: inout [UInt8],
        writeBody: (inout [UInt8]) -> Void
    ) {
        precondition(bodyLength <= Int(UInt32.max), "a \(kind) body of \(bodyLength) bytes does not fit the header")
        let frameLength = FrameCodec.headerBytes + bodyLength + FrameCodec.trailerBytes
        let start = bytes.count
        if bytes.capacity - start < frameLength {
            bytes.reserveCapacity(Swift.max(start + frameLength, bytes.capacity * 2))
        }

        let header = Self.header(kind: kind, epoch: epoch, headerSequence: headerSequence, bodyLength: bodyLength)
        withUnsafeBytes(of: header) { bytes.append(contentsOf: $0) }
        writeBody(&bytes)

        // Checked here and again by the decoder, so an encoder bug cannot reach the wire as a "corrupt" frame.
        precondition(bytes.count - start == frameLength - FrameCodec.trailerBytes, "\(kind) body length miscounted")
        let crc = bytes.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        bytes.appendLittleEndian(crc)
    }

    /// This frame's wire bytes.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }

    /// The number of bytes `encode(into:)` appends, computed without encoding.
    ///
    /// Lets a bounded buffer decide whether a frame fits before writing any of it.
    public var encodedByteCount: Int {
        if case .entry(_, _, let payload) = self { return Self.entryWireBytes(payloadByteCount: payload.count) }
        return FrameCodec.headerBytes + encodedBodyByteCount + FrameCodec.trailerBytes
    }

    /// The body size for this frame's kind (see the table on `FrameCodec`).
    var encodedBodyByteCount: Int {
        switch self {
        case .entry(_, _, let payload): payload.count
        case .ack: 8
        case .heartbeat, .protecting, .handover, .busy: 0
        case .hello(let hello):
            6 + hello.nodeName.utf8.count + hello.channelAddress.utf8.count + hello.clientAddress.utf8.count + 8
        case .checkpoint(_, _, _, _, _, let chunk): Frame.checkpointFieldsBytes + chunk.count
        case .checkpointAck: 4
        case .refuse(_, let reason): reason.utf8.count
        case .challenge(let nonce, let nodeName): nonce.count + 2 + nodeName.utf8.count
        case .proof(let tag): tag.count
        }
    }

    /// What this kind stores in the header's `sequence` field (see the table on `FrameCodec`).
    var headerSequence: UInt64 {
        switch self {
        case .entry(_, let sequence, _), .heartbeat(_, let sequence), .checkpoint(_, let sequence, _, _, _, _),
            .checkpointAck(_, let sequence, _), .protecting(_, let sequence), .handover(_, let sequence):
            sequence
        case .ack(_, let received, _): received
        case .busy(let milliseconds): UInt64(milliseconds)
        case .hello, .refuse, .challenge, .proof: 0
        }
    }
}

extension [UInt8] {
    @inline(__always)
    fileprivate mutating func appendLittleEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }

    /// Appends `string` as a u16 byte count then its UTF-8; longer strings are a caller bug (names, addresses).
    fileprivate mutating func appendLengthPrefixed(_ string: String) {
        let count = string.utf8.count
        precondition(count <= Int(UInt16.max), "a length-prefixed string of \(count) bytes does not fit its u16 length")
        appendLittleEndian(UInt16(count))
        append(contentsOf: string.utf8)
    }
}
