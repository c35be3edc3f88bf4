/// One logging channel's outgoing bytes: encoded frames waiting to be written, bounded by what is not yet written.
///
/// Batching falls out of the shape: every frame produced in one event-loop round is appended, then the transport makes
/// one `write()` of all unwritten bytes (see IO-FINDINGS: batched writes plus cumulative acks are how throughput
/// scales).
///
/// This buffer bounds memory only, and only bytes the socket has not taken yet: written bytes are dropped by
/// compaction, once they are all or more than half of the storage. The unacked log that DESIGN §6 bounds is the primary
/// core's (`PrimaryLimits`): the core pauses intake long before this buffer could fill, so reaching
/// `unwrittenBytesLimit` means the peer has stopped reading, and the connection closes rather than grow. Appending to a
/// full buffer returns `false` and changes nothing.
public struct SendBuffer: Sendable {
    /// Bytes appended and not yet written that an append may never take the buffer past.
    public let unwrittenBytesLimit: Int

    /// Encoded frames; bytes before `writtenIndex` have been written and await compaction.
    private var storage: [UInt8] = []
    private var writtenIndex = 0
    /// Storage capacity an emptied buffer keeps for the next frames; more, grown for a large entry, is freed.
    static let keptCapacityBytes = 16 << 20
    /// The highest entry sequence appended, 0 before the first.
    public private(set) var lastAppendedSequence: UInt64 = 0

    /// An empty buffer that never holds more than `unwrittenBytesLimit` unwritten bytes, at least one frame's overhead.
    public init(unwrittenBytesLimit: Int) {
        precondition(unwrittenBytesLimit >= FrameCodec.overheadBytes, "a send buffer smaller than a frame header")
        self.unwrittenBytesLimit = unwrittenBytesLimit
    }

    /// Bytes appended but not yet written: what the next `write()` should send.
    public var unwrittenBytes: Int { storage.count - writtenIndex }

    /// Encodes `frame` at the end of the unwritten bytes if the bound has room; otherwise changes nothing.
    ///
    /// Entries must arrive in strictly increasing sequence order.
    public mutating func append(_ frame: Frame) -> Bool {
        if case .entry(let epoch, let sequence, let payload) = frame {
            return appendEntry(epoch: epoch, sequence: sequence, payloadByteCount: payload.count) {
                $0.copyBytes(from: payload)
            }
        }
        guard hasRoom(for: frame.encodedByteCount) else { return false }
        frame.encode(into: &storage)
        return true
    }

    /// Appends the entry frame `.entry(epoch:sequence:payload:)` whose payload `writePayload` writes into the buffer
    /// it is given, exactly `payloadByteCount` bytes, if the bound has room; otherwise changes nothing and does not
    /// call it.
    ///
    /// The sender's payload is written where its frame is laid out (`Frame.encodeEntry`), never built as an array of
    /// its own, which would cost an allocation, a copy and a free per entry on the primary.
    public mutating func appendEntry(
        epoch: UInt64, sequence: UInt64, payloadByteCount: Int, writePayload: (UnsafeMutableRawBufferPointer) -> Void
    ) -> Bool {
        guard hasRoom(for: Frame.entryWireBytes(payloadByteCount: payloadByteCount)) else { return false }
        precondition(sequence > lastAppendedSequence, "entry \(sequence) after \(lastAppendedSequence)")
        Frame.encodeEntry(
            epoch: epoch, sequence: sequence, payloadByteCount: payloadByteCount, into: &storage,
            writePayload: writePayload)
        lastAppendedSequence = sequence
        return true
    }

    private func hasRoom(for byteCount: Int) -> Bool {
        byteCount <= unwrittenBytesLimit - unwrittenBytes
    }

    /// Calls `body` with every unwritten byte, contiguous and in order, without copying them.
    ///
    /// The transport writes from the pointer, which is valid only inside `body`, then reports what the kernel took
    /// through `markWritten(_:)`.
    public func withUnwrittenBytes<R, E: Error>(
        _ body: (UnsafeRawBufferPointer) throws(E) -> R
    ) throws(E) -> R {
        let result: Result<R, E> = storage.withUnsafeBytes { all in
            do throws(E) {
                return .success(try body(UnsafeRawBufferPointer(rebasing: all[writtenIndex...])))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Records that the first `count` unwritten bytes reached the socket, and drops them from memory.
    public mutating func markWritten(_ count: Int) {
        precondition(count >= 0 && count <= unwrittenBytes, "wrote \(count) of \(unwrittenBytes) unwritten bytes")
        writtenIndex += count
        compact()
    }

    /// Drops the written prefix once it is all of the storage, or more than half of it, so that copying stays
    /// amortised linear while memory stays near the unwritten bytes.
    private mutating func compact() {
        if writtenIndex == storage.count {
            // A large entry's storage is let go once written, so one huge request does not pin it for the channel's life.
            if storage.capacity > Self.keptCapacityBytes { storage = [] } else { storage.removeAll(keepingCapacity: true) }
            writtenIndex = 0
        } else if writtenIndex > storage.count / 2 {
            storage.removeSubrange(0..<writtenIndex)
            writtenIndex = 0
        }
    }
}
