/// The on-disk form of an `EpochRecord`: a few lines of text an operator can read with `cat`.
///
/// ```
/// lockstep-arbiter 1
/// epoch 7
/// node alpha
/// channel 10.0.0.1:7000
/// client 10.0.0.1:6379
/// taken-at-ms 1700000000000
/// crc32c 1a2b3c4d
/// ```
///
/// The first line names the format and its version, so a later format is refused rather than misread. The last
/// line is the CRC32C of every byte before it, so a torn write, a flipped bit or a hand edit is detected instead
/// of being believed. Values are escaped (`\\`, `\n`, `\r`) so any node name or address stays on its line.
/// Decoding is strict: exact keys in exact order, canonical numbers, valid UTF-8, nothing after the checksum.
extension EpochRecord {
    /// The format version written in the first line.
    static let textFormatVersion = 1

    /// The largest record we read. Real records are about 150 bytes plus the three values; anything
    /// larger is not a record of ours, and reading it whole would let a stray file grow our memory.
    public static let textBytesLimit = 4096

    /// Why a byte string is not a valid record; becomes `ArbiterError.corruptRecord` with the record's location.
    public struct TextDefect: Error, Equatable {
        /// What is wrong with the bytes, for the `corruptRecord` description.
        public var reason: String
    }

    /// The record as the bytes of its file (or of its etcd value), checksum line included.
    public func encodedText() -> [UInt8] {
        var text = ""
        text += "lockstep-arbiter \(Self.textFormatVersion)\n"
        text += "epoch \(epoch)\n"
        text += "node \(Self.escaped(claim.nodeName))\n"
        text += "channel \(Self.escaped(claim.channelAddress))\n"
        text += "client \(Self.escaped(claim.clientAddress))\n"
        text += "taken-at-ms \(takenAtMilliseconds)\n"
        var bytes = Array(text.utf8)
        bytes += Array("crc32c \(Self.hex8(CRC32C.checksum(bytes)))\n".utf8)
        return bytes
    }

    /// Parses and verifies a record's bytes; the caller still checks the epoch against the file name or key.
    public static func decoded(fromText bytes: [UInt8]) throws(TextDefect) -> EpochRecord {
        guard !bytes.isEmpty else { throw TextDefect(reason: "empty file") }
        guard bytes.count <= textBytesLimit else {
            throw TextDefect(reason: "longer than \(textBytesLimit) bytes")
        }
        guard bytes.last == UInt8(ascii: "\n") else { throw TextDefect(reason: "does not end with a newline") }
        // Lines without their newlines; the record ends with one, so the last split piece is dropped.
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast()
        let expectedKeys = ["lockstep-arbiter", "epoch", "node", "channel", "client", "taken-at-ms", "crc32c"]
        var values: [String] = []
        for (index, line) in lines.enumerated() {
            guard index < expectedKeys.count else { throw TextDefect(reason: "more than \(expectedKeys.count) lines") }
            guard let text = String(validating: line, as: UTF8.self) else {
                throw TextDefect(reason: "line \(index + 1) is not valid UTF-8")
            }
            let key = expectedKeys[index]
            guard text.hasPrefix(key + " ") else {
                throw TextDefect(reason: "line \(index + 1) should start with \"\(key) \"")
            }
            values.append(String(text.dropFirst(key.count + 1)))
            // The version comes first, so a newer format is named as such rather than as a bad checksum.
            if index == 0, values[0] != String(textFormatVersion) {
                throw TextDefect(reason: "unsupported format version \(values[0])")
            }
        }
        guard values.count == expectedKeys.count else {
            throw TextDefect(reason: "truncated after \(values.count) of \(expectedKeys.count) lines")
        }
        let checksummedCount = bytes.count - (lines.last!.count + 1)
        let actual = hex8(CRC32C.checksum(bytes[..<checksummedCount]))
        guard values[6] == actual else {
            throw TextDefect(reason: "checksum mismatch: file says \(values[6]), content gives \(actual)")
        }
        guard let epoch = UInt64(values[1]), String(epoch) == values[1] else {
            throw TextDefect(reason: "epoch \"\(values[1])\" is not a number")
        }
        guard let takenAt = Int64(values[5]), String(takenAt) == values[5] else {
            throw TextDefect(reason: "taken-at-ms \"\(values[5])\" is not a number")
        }
        let claim = Claim(
            nodeName: try unescaped(values[2]), channelAddress: try unescaped(values[3]),
            clientAddress: try unescaped(values[4]))
        return EpochRecord(epoch: epoch, claim: claim, takenAtMilliseconds: takenAt)
    }

    private static func escaped(_ value: String) -> String {
        var result = ""
        for character in value.unicodeScalars {
            switch character {
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            default: result.unicodeScalars.append(character)
            }
        }
        return result
    }

    private static func unescaped(_ value: String) throws(TextDefect) -> String {
        var result = ""
        var isEscaping = false
        for character in value.unicodeScalars {
            if isEscaping {
                switch character {
                case "\\": result += "\\"
                case "n": result += "\n"
                case "r": result += "\r"
                default: throw TextDefect(reason: "unknown escape \\\(character)")
                }
                isEscaping = false
            } else if character == "\\" {
                isEscaping = true
            } else {
                result.unicodeScalars.append(character)
            }
        }
        guard !isEscaping else { throw TextDefect(reason: "value ends inside an escape") }
        return result
    }

    private static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}

/// CRC32C (Castagnoli), the checksum the logging channel uses too, computed bit by bit.
///
/// Records are a few hundred bytes read a handful of times per failover, so a table buys nothing here.
enum CRC32C {
    static func checksum<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 {
                crc = (crc & 1) == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
        }
        return ~crc
    }
}
