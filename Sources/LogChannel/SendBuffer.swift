/// The primary's bounded outgoing buffer for one logging channel: encoded frames waiting to be written, and the
/// accounting of entries waiting to be acked.
///
/// Batching falls out of the shape: every frame produced in one event-loop round is appended, then the transport
/// makes one `write()` of all unwritten bytes (IO-FINDINGS: batched writes plus cumulative acks doubled throughput).
///
/// Two bounds, because two things can grow:
/// - Entries count against `entriesLimit` and `bytesLimit` from append until a cumulative ack covers them, even after
///   they are written. That is the unacked log DESIGN §6 bounds: it caps what a failover may have to replay, and
///   `.full` is the primary's signal to pause client intake.
/// - Every other frame (acks, heartbeats, hello, checkpoint chunks, ...) is never acked, so it counts against the
///   separate `controlBytesLimit` only until it is written. Control frames have their own allowance so a full
///   entry log never blocks a heartbeat, while a stalled peer still cannot make them grow without bound.
///
/// Written bytes leave memory at once (the buffer is compacted), so memory is at most the unwritten bytes, which are
/// bounded by `bytesLimit + controlBytesLimit`. Appending to a full buffer returns `.full` and changes nothing.
public struct SendBuffer: Sendable {
    /// The bounds on one channel's outgoing data.
    public struct Limits: Sendable, Equatable {
        /// Entries appended but not yet acked.
        public var entriesLimit: Int
        /// Encoded bytes of entries appended but not yet acked.
        public var bytesLimit: Int
        /// Encoded bytes of non-entry frames appended but not yet written.
        ///
        /// 1 MiB default: far more than the heartbeats and acks of a stalled round, and room for one checkpoint chunk
        /// of up to a frame's size. A sender of checkpoint chunks waits for `.appended` before producing the next.
        public var controlBytesLimit: Int

        public init(entriesLimit: Int, bytesLimit: Int, controlBytesLimit: Int = 1 << 20) {
            precondition(entriesLimit > 0, "a send buffer that holds no entry can never send one")
            precondition(bytesLimit >= FrameCodec.overheadBytes, "a send buffer smaller than a frame header")
            precondition(controlBytesLimit >= FrameCodec.overheadBytes, "no room for even a heartbeat")
            self.entriesLimit = entriesLimit
            self.bytesLimit = bytesLimit
            self.controlBytesLimit = controlBytesLimit
        }
    }

    /// Which bound refused a frame.
    public enum FullReason: Equatable, Sendable {
        /// `entriesLimit` unacked entries are held.
        case entries
        /// The entry would take unacked bytes past `bytesLimit`.
        case bytes
        /// The control frame would take unwritten control bytes past `controlBytesLimit`.
        case controlBytes
    }

    /// Whether `append` took the frame.
    public enum AppendResult: Equatable, Sendable {
        case appended
        /// Nothing was changed; retry after a write (control frames) or an ack (entries).
        case full(FullReason)
    }

    public let limits: Limits

    /// Encoded frames; bytes before `writtenIndex` have been written and await compaction.
    private var storage: [UInt8] = []
    private var writtenIndex = 0
    /// Bytes appended since this buffer was created; frame ends are recorded in this absolute stream offset.
    private var appendedOffset: UInt64 = 0
    /// Bytes written since this buffer was created.
    private var writtenOffset: UInt64 = 0

    /// Entries not yet acked, oldest first. At most `entriesLimit`.
    private var unacked = PendingFrames<UnackedEntry>()
    /// Control frames not yet completely written, oldest first. At most `controlBytesLimit / 28`.
    private var unwrittenControl = PendingFrames<UnwrittenControlFrame>()

    public private(set) var unackedEntries = 0
    public private(set) var unackedBytes = 0
    /// Encoded bytes of control frames not yet completely written.
    public private(set) var unwrittenControlBytes = 0
    /// The highest entry sequence appended, 0 before the first.
    public private(set) var lastAppendedSequence: UInt64 = 0

    public init(limits: Limits) {
        self.limits = limits
    }

    /// Bytes appended but not yet written: what the next `write()` should send.
    public var unwrittenBytes: Int { storage.count - writtenIndex }

    /// Whether no further entry can be admitted until an ack arrives: the primary's cue to pause intake.
    ///
    /// An entry can still be refused for `.bytes` while this is false, if it is larger than the room left.
    public var isFull: Bool { unackedEntries >= limits.entriesLimit || unackedBytes >= limits.bytesLimit }

    /// Encodes `frame` at the end of the unwritten bytes if its bound has room, and otherwise changes nothing.
    ///
    /// Entries must arrive in strictly increasing sequence order: cumulative acks release a prefix.
    public mutating func append(_ frame: Frame) -> AppendResult {
        if case .entry(let epoch, let sequence, let payload) = frame {
            return appendEntry(epoch: epoch, sequence: sequence, payloadByteCount: payload.count) {
                $0.append(contentsOf: payload)
            }
        }
        let size = frame.encodedByteCount
        guard size <= limits.controlBytesLimit - unwrittenControlBytes else { return .full(.controlBytes) }
        frame.encode(into: &storage)
        appendedOffset += UInt64(size)
        unwrittenControl.append(UnwrittenControlFrame(byteCount: size, endOffset: appendedOffset))
        unwrittenControlBytes += size
        return .appended
    }

    /// Appends the entry frame `.entry(epoch:sequence:payload:)` whose payload `writePayload` appends, exactly
    /// `payloadByteCount` bytes of it, if the bounds have room; otherwise changes nothing and does not call it.
    ///
    /// The sender's payload is written straight into the buffer, never built as an array of its own: that array
    /// was an allocation, a copy and a free per entry on the primary (Benchmarks/README.md).
    public mutating func appendEntry(
        epoch: UInt64, sequence: UInt64, payloadByteCount: Int, writePayload: (inout [UInt8]) -> Void
    ) -> AppendResult {
        let size = FrameCodec.overheadBytes + payloadByteCount
        guard unackedEntries < limits.entriesLimit else { return .full(.entries) }
        guard size <= limits.bytesLimit - unackedBytes else { return .full(.bytes) }
        precondition(sequence > lastAppendedSequence, "entry \(sequence) after \(lastAppendedSequence)")
        Frame.encode(
            kind: .entry, epoch: epoch, headerSequence: sequence, bodyLength: payloadByteCount, into: &storage,
            writeBody: writePayload)
        appendedOffset += UInt64(size)
        unacked.append(UnackedEntry(sequence: sequence, byteCount: size, endOffset: appendedOffset))
        unackedEntries += 1
        unackedBytes += size
        lastAppendedSequence = sequence
        return .appended
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
    ///
    /// Control frames that are now completely written free their allowance; entries stay counted until acked.
    public mutating func markWritten(_ count: Int) {
        precondition(count >= 0 && count <= unwrittenBytes, "wrote \(count) of \(unwrittenBytes) unwritten bytes")
        writtenIndex += count
        writtenOffset += UInt64(count)
        while let frame = unwrittenControl.first, frame.endOffset <= writtenOffset {
            unwrittenControl.removeFirst()
            unwrittenControlBytes -= frame.byteCount
        }
        compact()
    }

    /// Applies a cumulative ack: releases every entry with a sequence at most `sequence` whose bytes were written.
    ///
    /// An entry not yet completely written stays held even if the ack covers it: the peer cannot have received it,
    /// so such an ack is the peer's error (for the core to judge), and releasing it would leave its bytes in memory
    /// but out of the accounting. Returns how many entries were released.
    @discardableResult
    public mutating func releaseThrough(_ sequence: UInt64) -> Int {
        var released = 0
        while let entry = unacked.first, entry.sequence <= sequence, entry.endOffset <= writtenOffset {
            unacked.removeFirst()
            unackedEntries -= 1
            unackedBytes -= entry.byteCount
            released += 1
        }
        return released
    }

    /// Drops the written prefix once it is all of the storage, or more than half of it, so that copying stays
    /// amortised linear while memory stays near the unwritten bytes.
    private mutating func compact() {
        if writtenIndex == storage.count {
            storage.removeAll(keepingCapacity: true)
            writtenIndex = 0
        } else if writtenIndex > storage.count / 2 {
            storage.removeSubrange(0..<writtenIndex)
            writtenIndex = 0
        }
    }

    private struct UnackedEntry: Sendable {
        var sequence: UInt64
        var byteCount: Int
        /// Absolute stream offset just past the entry's last byte: written once `writtenOffset` reaches it.
        var endOffset: UInt64
    }

    private struct UnwrittenControlFrame: Sendable {
        var byteCount: Int
        var endOffset: UInt64
    }

    /// A FIFO over an array with a head index, compacted like the byte storage; its callers bound its length.
    private struct PendingFrames<Element: Sendable>: Sendable {
        private var elements: [Element] = []
        private var head = 0

        var first: Element? { head < elements.count ? elements[head] : nil }

        mutating func append(_ element: Element) { elements.append(element) }

        mutating func removeFirst() {
            head += 1
            if head == elements.count {
                elements.removeAll(keepingCapacity: true)
                head = 0
            } else if head > elements.count / 2 {
                elements.removeSubrange(0..<head)
                head = 0
            }
        }
    }
}
