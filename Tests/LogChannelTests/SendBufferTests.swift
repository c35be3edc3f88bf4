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

    static func buffer(unwrittenBytes: Int = 1 << 16) -> SendBuffer {
        SendBuffer(unwrittenBytesLimit: unwrittenBytes)
    }

    static func unwritten(_ buffer: SendBuffer) -> [UInt8] {
        buffer.withUnwrittenBytes { Array($0) }
    }

    /// Appends entries `sequences`, requiring each to fit.
    static func appendEntries(_ sequences: ClosedRange<UInt64>, to buffer: inout SendBuffer, frameBytes: Int = 40) {
        for sequence in sequences {
            #expect(buffer.append(entry(sequence, frameBytes: frameBytes)) == true)
        }
    }

    @Test("a frame that would take the unwritten bytes past the limit is refused, and a smaller one still fits")
    func refusedPastTheLimit() {
        // Given room for two 40-byte entries and 30 bytes more
        var buffer = Self.buffer(unwrittenBytes: 110)
        Self.appendEntries(1...2, to: &buffer)
        // When a third arrives, then it does not fit, though a heartbeat does
        #expect(buffer.append(Self.entry(3)) == false)
        #expect(buffer.append(Self.heartbeat) == true)
        #expect(buffer.unwrittenBytes == 108)
    }

    @Test("entries and control frames share the one bound: nothing is counted once written")
    func writtenBytesFreeRoomAtOnce() {
        // Given a buffer holding exactly one entry
        var buffer = Self.buffer(unwrittenBytes: 40)
        Self.appendEntries(1...1, to: &buffer)
        #expect(buffer.append(Self.heartbeat) == false)
        // When part of it is written, then exactly that much room is free again
        buffer.markWritten(27)
        #expect(buffer.append(Self.heartbeat) == false)
        buffer.markWritten(1)
        #expect(buffer.append(Self.heartbeat) == true)
        #expect(buffer.unwrittenBytes == 12 + 28)
    }

    @Test("an entry whose payload writes itself goes out as the same frame, under the same bound")
    func entryWrittenInPlace() {
        // Given two buffers with room for two 40-byte entries
        var framed = Self.buffer(unwrittenBytes: 80)
        var inPlace = Self.buffer(unwrittenBytes: 80)
        var calls = 0
        func appendInPlace(_ sequence: UInt64) -> Bool {
            inPlace.appendEntry(epoch: 1, sequence: sequence, payloadByteCount: 40 - FrameCodec.overheadBytes) {
                calls += 1
                $0.copyBytes(from: [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: 12))
            }
        }
        // When the same entries are appended as frames and written in place
        for sequence: UInt64 in 1...2 {
            #expect(framed.append(Self.entry(sequence)) == true)
            #expect(appendInPlace(sequence))
        }
        // Then the bytes agree, and a third is refused without its payload being written
        #expect(Self.unwritten(inPlace) == Self.unwritten(framed))
        #expect(!appendInPlace(3))
        #expect(calls == 2)
    }

    @Test("appending to a full buffer changes nothing")
    func fullAppendChangesNothing() {
        var buffer = Self.buffer(unwrittenBytes: 80)
        Self.appendEntries(1...2, to: &buffer)
        let before = (Self.unwritten(buffer), buffer.lastAppendedSequence)
        #expect(buffer.append(Self.entry(3)) == false)
        #expect(Self.unwritten(buffer) == before.0)
        #expect(buffer.lastAppendedSequence == before.1)
    }

    @Test("written bytes leave memory")
    func writtenBytesLeaveMemory() {
        var buffer = Self.buffer()
        Self.appendEntries(1...2, to: &buffer)
        buffer.markWritten(buffer.unwrittenBytes)
        #expect(buffer.unwrittenBytes == 0)
        #expect(Self.unwritten(buffer).isEmpty)
    }

    @Test("many appends become one contiguous write of every frame in order")
    func batching() {
        // Given entries and control frames appended in one round
        var buffer = Self.buffer()
        let frames: [Frame] = [Self.entry(1), Self.heartbeat, Self.entry(2), .ack(epoch: 1, received: 4, applied: 3)]
        for frame in frames { #expect(buffer.append(frame) == true) }
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

    @Test("an entry too large for the whole limit is refused, never admitted")
    func entryLargerThanLimit() {
        var buffer = Self.buffer(unwrittenBytes: 100)
        #expect(buffer.append(Self.entry(1, frameBytes: 101)) == false)
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
