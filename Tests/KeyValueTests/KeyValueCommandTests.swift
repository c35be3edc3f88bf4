import Testing
@testable import KeyValue

@Suite("command encoding for the log")
struct KeyValueCommandTests {
    @Test("any argument list survives encode and decode")
    func roundTrip() throws {
        let lists: [[[UInt8]]] = [
            [], [[]], [bytes("GET"), bytes("k")], [[0, 13, 10, 255], []],
            [bytes("SET"), bytes("k"), [UInt8](repeating: 7, count: 300)],  // a length that needs two bytes
            (0..<9).map { bytes("arg\($0)") },  // past the ranges kept inline
        ]
        for arguments in lists {
            #expect(try KeyValueCommand.decode(KeyValueCommand.encode(arguments)) == arguments)
        }
    }

    @Test("encodings just within and just past the stack-written limit are the same bytes and decode back")
    func stackWrittenLimit() throws {
        // One argument of n ≥ 128 bytes encodes as a count byte, a two-byte length and the bytes.
        for size in [ByteArray.stackWrittenLimit, ByteArray.stackWrittenLimit + 1] {
            let argument = (0..<(size - 3)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
            let encoding = KeyValueCommand.encode([argument])
            #expect(encoding.count == size)
            #expect(Array(encoding.prefix(3)) == [1, UInt8(argument.count & 0x7F) | 0x80, UInt8(argument.count >> 7)])
            #expect(Array(encoding.dropFirst(3)) == argument)
            #expect(try KeyValueCommand.decode(encoding) == [argument])
        }
    }

    @Test("the encoding is compact: one byte of framing per short argument")
    func compact() {
        #expect(KeyValueCommand.encode([bytes("SET"), bytes("k"), bytes("v")]).count == 1 + 4 + 2 + 2)
    }

    @Test("truncated, overlong, oversized and trailing encodings are typed errors")
    func malformed() {
        #expect(throws: KeyValueCommand.DecodingError.truncated(offset: 0)) { try KeyValueCommand.decode([]) }
        #expect(throws: KeyValueCommand.DecodingError.truncated(offset: 1)) { try KeyValueCommand.decode([0x80]) }
        #expect(throws: KeyValueCommand.DecodingError.varintTooLong(offset: 0)) {
            try KeyValueCommand.decode([UInt8](repeating: 0xFF, count: 10) + [1])
        }
        // A count far beyond the bytes present is refused before anything is reserved for it.
        #expect(throws: KeyValueCommand.DecodingError.countTooLarge(declared: 1 << 40, available: 0)) {
            try KeyValueCommand.decode([0x80, 0x80, 0x80, 0x80, 0x80, 0x20])
        }
        #expect(throws: KeyValueCommand.DecodingError.trailingBytes(1)) { try KeyValueCommand.decode([1, 0, 9]) }
    }

    @Test("corrupting any byte gives an error or another list, never a crash")
    func corruptEachByte() {
        let encoded = KeyValueCommand.encode([bytes("SET"), bytes("key"), bytes("value")])
        for index in encoded.indices {
            for flip: UInt8 in [0x01, 0x80, 0xFF] {
                var corrupt = encoded
                corrupt[index] ^= flip
                _ = try? KeyValueCommand.decode(corrupt)  // either outcome is fine; reaching here is the point
            }
        }
    }
}
