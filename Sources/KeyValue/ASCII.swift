/// Byte-level ASCII helpers for command names and options, which Redis compares case-insensitively.
enum ASCII {
    static func lowercased(_ bytes: [UInt8]) -> [UInt8] {
        bytes.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0 }
    }

    /// Whether `bytes` equal `lowercaseWord` ignoring ASCII case; `lowercaseWord` must be lowercase.
    static func equals<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercaseWord: StaticString) -> Bool {
        guard bytes.count == lowercaseWord.utf8CodeUnitCount else { return false }
        return lowercaseWord.withUTF8Buffer { word in
            for (byte, wordByte) in zip(bytes, word) {
                let lower = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
                if lower != wordByte { return false }
            }
            return true
        }
    }

    /// Whether `byte` is a space to C's `isspace`: space, tab, line feed, vertical tab, form feed, carriage return.
    static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || (byte >= 0x09 && byte <= 0x0D)
    }
}
