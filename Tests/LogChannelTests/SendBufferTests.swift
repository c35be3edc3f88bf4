import Testing
@testable import LogChannel

@Suite("bounded send buffer")
struct SendBufferTests {
    /// An entry whose encoded frame is exactly `frameBytes` long (at least the 28-byte overhead).
    static func entry(_ sequence: UInt64, frameBytes: Int = 40) -> Frame {
        .entry(epoch: 1, sequence: sequence, payload: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence),
                                                                count: frameBytes - FrameCodec.overheadBytes))
    }

    static let heartbeat = Frame.heartbeat(epoch: 1, sequence: 0)   // 28 bytes on the wire

    static func buffer(entries: Int = 100, bytes: Int = 1 << 16, controlBytes: Int = 1 << 10) -> SendBuffer {
        SendBuffer(limits: .init(entriesLimit: entries, bytesLimit: bytes, controlBytesLimit: controlBytes))
    }

    static func unwritten(_ buffer: SendBuffer) -> [UInt8] {
        buffer.withUnwrittenBytes { Array($0) }
    }

    /// Appends entries `sequences`, requiring each to fit.
    static func appendEntries(_ sequences: ClosedRange<UInt64>, to buffer: inout SendBuffer, frameBytes: Int = 40) {
        for sequence in sequences {
            #expect(buffer.append(entry(sequence, frameBytes: frameBytes)) == .appended)
        }
    }

    /// Writes everything unwritten, as a transport whose socket took it all would.
    static func writeAll(_ buffer: inout SendBuffer) {
        buffer.markWritten(buffer.unwrittenBytes)
    }

    @Test("an entry past the entries limit is refused as full by entries")
    func fullByEntries() {
        var buffer = Self.buffer(entries: 3)
        Self.appendEntries(1...3, to: &buffer)
        #expect(buffer.isFull)
        #expect(buffer.append(Self.entry(4)) == .full(.entries))
    }

    @Test("an entry that would pass the bytes limit is refused as full by bytes")
    func fullByBytes() {
        // Given room for two 40-byte entries and 30 bytes more
        var buffer = Self.buffer(bytes: 110)
        Self.appendEntries(1...2, to: &buffer)
        // When a third arrives, then it does not fit, though a smaller one would
        #expect(!buffer.isFull)
        #expect(buffer.append(Self.entry(3)) == .full(.bytes))
        #expect(buffer.append(Self.entry(3, frameBytes: 30)) == .appended)
    }

    @Test("an entry whose payload writes itself goes out as the same frame, under the same bounds")
    func entryWrittenInPlace() {
        // Given two buffers with room for two 40-byte entries
        var framed = Self.buffer(entries: 2)
        var inPlace = Self.buffer(entries: 2)
        var calls = 0
        func appendInPlace(_ sequence: UInt64) -> SendBuffer.AppendResult {
            inPlace.appendEntry(epoch: 1, sequence: sequence, payloadByteCount: 40 - FrameCodec.overheadBytes) {
                calls += 1
                $0.append(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: 12))
            }
        }
        // When the same entries are appended as frames and written in place
        for sequence: UInt64 in 1...2 {
            #expect(framed.append(Self.entry(sequence)) == .appended)
            #expect(appendInPlace(sequence) == .appended)
        }
        // Then the bytes and the accounting agree, and a third is refused without its payload being written
        #expect(Self.unwritten(inPlace) == Self.unwritten(framed))
        #expect(inPlace.unackedEntries == 2 && inPlace.unackedBytes == framed.unackedBytes)
        #expect(appendInPlace(3) == .full(.entries))
        #expect(calls == 2)
    }

    @Test("appending to a full buffer changes nothing")
    func fullAppendChangesNothing() {
        var buffer = Self.buffer(entries: 2)
        Self.appendEntries(1...2, to: &buffer)
        let before = (Self.unwritten(buffer), buffer.unackedEntries, buffer.unackedBytes, buffer.lastAppendedSequence)
        #expect(buffer.append(Self.entry(3)) == .full(.entries))
        #expect(Self.unwritten(buffer) == before.0)
        #expect(buffer.unackedEntries == before.1)
        #expect(buffer.unackedBytes == before.2)
        #expect(buffer.lastAppendedSequence == before.3)
    }

    @Test("a cumulative ack releases every entry through its sequence and makes room")
    func cumulativeAckMakesRoom() {
        // Given a full buffer whose entries were all written
        var buffer = Self.buffer(entries: 5)
        Self.appendEntries(1...5, to: &buffer)
        Self.writeAll(&buffer)
        // When the backup acks through 3
        #expect(buffer.releaseThrough(3) == 3)
        // Then 1...3 are released at once and three more entries fit
        #expect(buffer.unackedEntries == 2)
        #expect(buffer.unackedBytes == 80)
        #expect(!buffer.isFull)
        Self.appendEntries(6...8, to: &buffer)
        #expect(buffer.append(Self.entry(9)) == .full(.entries))
    }

    @Test("an ack at or below what was already acked releases nothing")
    func staleAck() {
        var buffer = Self.buffer()
        Self.appendEntries(1...3, to: &buffer)
        Self.writeAll(&buffer)
        buffer.releaseThrough(2)
        #expect(buffer.releaseThrough(2) == 0)
        #expect(buffer.releaseThrough(0) == 0)
        #expect(buffer.unackedEntries == 1)
    }

    @Test("an ack never releases an entry that was not completely written")
    func ackBeyondWritten() {
        // Given three entries of which only the first and half the second reached the socket
        var buffer = Self.buffer()
        Self.appendEntries(1...3, to: &buffer)
        buffer.markWritten(60)
        // When an ack claims all three, then only the written one is released
        #expect(buffer.releaseThrough(3) == 1)
        #expect(buffer.unackedEntries == 2)
    }

    @Test("written bytes leave memory but stay counted until acked")
    func writtenStaysCounted() {
        var buffer = Self.buffer()
        Self.appendEntries(1...2, to: &buffer)
        Self.writeAll(&buffer)
        #expect(buffer.unwrittenBytes == 0)
        #expect(Self.unwritten(buffer).isEmpty)
        #expect(buffer.unackedEntries == 2)
        #expect(buffer.unackedBytes == 80)
    }

    @Test("many appends become one contiguous write of every frame in order")
    func batching() {
        // Given entries and control frames appended in one round
        var buffer = Self.buffer()
        let frames: [Frame] = [Self.entry(1), Self.heartbeat, Self.entry(2), .ack(epoch: 1, received: 4, applied: 3)]
        for frame in frames { #expect(buffer.append(frame) == .appended) }
        // When the transport takes the unwritten bytes, then they are the frames' encodings back to back
        #expect(Self.unwritten(buffer) == frames.flatMap(\.encoded))
        #expect(FrameSamples.decode([Self.unwritten(buffer)]).frames == frames)
    }

    @Test("a partial write leaves exactly the rest for the next write")
    func partialWrite() {
        var buffer = Self.buffer()
        Self.appendEntries(1...3, to: &buffer)
        let all = Self.unwritten(buffer)
        buffer.markWritten(50)
        #expect(buffer.unwrittenBytes == all.count - 50)
        #expect(Self.unwritten(buffer) == Array(all[50...]))
        // Appending after a partial write continues the same stream
        Self.appendEntries(4...4, to: &buffer)
        #expect(Self.unwritten(buffer) == Array(all[50...]) + Self.entry(4).encoded)
    }

    @Test("control frames use their own allowance and never count as unacked entries")
    func controlFramesBypassEntryLimits() {
        // Given a buffer full of entries
        var buffer = Self.buffer(entries: 1)
        Self.appendEntries(1...1, to: &buffer)
        #expect(buffer.isFull)
        // When a heartbeat and an ack are appended, then they are admitted and counted apart
        #expect(buffer.append(Self.heartbeat) == .appended)
        #expect(buffer.append(.ack(epoch: 1, received: 0, applied: 0)) == .appended)
        #expect(buffer.unackedEntries == 1)
        #expect(buffer.unackedBytes == 40)
        #expect(buffer.unwrittenControlBytes == 28 + 36)
    }

    @Test("control frames past their allowance are refused as full by control bytes")
    func controlAllowance() {
        var buffer = Self.buffer(controlBytes: 2 * 28)
        #expect(buffer.append(Self.heartbeat) == .appended)
        #expect(buffer.append(Self.heartbeat) == .appended)
        let before = Self.unwritten(buffer)
        #expect(buffer.append(Self.heartbeat) == .full(.controlBytes))
        #expect(Self.unwritten(buffer) == before)
    }

    @Test("a control frame frees its allowance only once completely written")
    func writtenControlFreesAllowance() {
        var buffer = Self.buffer(controlBytes: 28)
        #expect(buffer.append(Self.heartbeat) == .appended)
        buffer.markWritten(27)
        #expect(buffer.append(Self.heartbeat) == .full(.controlBytes))
        buffer.markWritten(1)
        #expect(buffer.unwrittenControlBytes == 0)
        #expect(buffer.append(Self.heartbeat) == .appended)
    }

    @Test("an entry too large for the whole bytes limit is refused, never admitted")
    func entryLargerThanLimit() {
        var buffer = Self.buffer(bytes: 100)
        #expect(buffer.append(Self.entry(1, frameBytes: 101)) == .full(.bytes))
        #expect(buffer.unwrittenBytes == 0)
    }

    @Test("the transport can write with a throwing call and its typed error passes through")
    func writeErrorPassesThrough() {
        struct SocketClosed: Error, Equatable {}
        var buffer = Self.buffer()
        Self.appendEntries(1...1, to: &buffer)
        #expect(throws: SocketClosed()) {
            try buffer.withUnwrittenBytes { (_: UnsafeRawBufferPointer) throws(SocketClosed) -> Int in
                throw SocketClosed()
            }
        }
        #expect(buffer.unwrittenBytes == 40)
    }
}
