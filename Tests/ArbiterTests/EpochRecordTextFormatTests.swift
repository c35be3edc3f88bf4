import Testing

@testable import Arbiter

@Suite("Epoch record text format")
struct EpochRecordTextFormatTests {
    static let sample = EpochRecord(
        epoch: 42, claim: Claim(nodeName: "alpha", channelAddress: "10.0.0.1:7000", clientAddress: "[::1]:6379"),
        takenAtMilliseconds: 1_700_000_000_123)

    @Test("a record survives encoding and decoding unchanged")
    func roundTrip() throws {
        #expect(try EpochRecord.decoded(fromText: Self.sample.encodedText()) == Self.sample)
    }

    @Test("names with spaces, backslashes, newlines and non-ASCII stay on their line")
    func awkwardNames() throws {
        let awkward = EpochRecord(
            epoch: 1, claim: Claim(nodeName: "node \\ one\nepoch 9\r", channelAddress: "", clientAddress: "héllo ✓"),
            takenAtMilliseconds: -5)
        let text = awkward.encodedText()
        #expect(text.filter { $0 == UInt8(ascii: "\n") }.count == 7)
        #expect(try EpochRecord.decoded(fromText: text) == awkward)
    }

    @Test("changing any single byte of a record is detected")
    func everyByteCorruptionIsDetected() {
        let valid = Self.sample.encodedText()
        for index in valid.indices {
            for flip: UInt8 in [0x01, 0x20, 0x80] {
                var corrupted = valid
                corrupted[index] ^= flip
                #expect(throws: EpochRecord.TextDefect.self, "byte \(index) xor \(flip)") {
                    try EpochRecord.decoded(fromText: corrupted)
                }
            }
        }
    }

    @Test("every truncation of a record is detected")
    func everyTruncationIsDetected() {
        let valid = Self.sample.encodedText()
        for length in 0..<valid.count {
            #expect(throws: EpochRecord.TextDefect.self, "first \(length) bytes") {
                try EpochRecord.decoded(fromText: Array(valid.prefix(length)))
            }
        }
    }

    @Test("anything after the checksum line is refused")
    func trailingBytesAreRefused() {
        #expect(throws: EpochRecord.TextDefect.self) {
            try EpochRecord.decoded(fromText: Self.sample.encodedText() + Array("extra\n".utf8))
        }
    }

    @Test("a record longer than the limit is refused before parsing")
    func oversizedIsRefused() {
        let huge = [UInt8](repeating: UInt8(ascii: "a"), count: EpochRecord.textBytesLimit + 1)
        #expect(throws: EpochRecord.TextDefect(reason: "longer than \(EpochRecord.textBytesLimit) bytes")) {
            try EpochRecord.decoded(fromText: huge)
        }
    }

    @Test("CRC32C matches the standard check value")
    func crcCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    }
}
