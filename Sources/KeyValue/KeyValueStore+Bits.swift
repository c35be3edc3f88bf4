/// The bit commands on string values: SETBIT, GETBIT, BITCOUNT and BITPOS.
///
/// Bit 0 is the most significant bit of the first byte, as in Redis. A bit past the end of a value reads as 0; SETBIT
/// grows the value with zero bytes, up to `valueBytesLimit` (Redis's `proto-max-bulk-len`, which bounds the offsets
/// all four accept). SETBIT rewrites the whole value, because the digest and the stored content hash cover it whole:
/// O(value), where Redis's is O(1).
extension KeyValueStore {
    /// `SETBIT key offset 0|1`: the bit's old value; the key is created if missing, and grows to hold the offset.
    mutating func setBit(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let offset = Self.bitOffset(arguments.bytes(at: 2)) else { return Self.bitOffsetInvalid }
        guard let bit = DecimalInteger.parse(arguments.bytes(at: 3)), bit & ~1 == 0 else { return Self.bitInvalid }
        let key = arguments.key(at: 1)
        let byte = offset >> 3
        let mask = UInt8(0x80) >> (offset & 7)
        switch liveValue(key, clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing:
            var value = [UInt8](repeating: 0, count: byte + 1)
            if bit == 1 { value[byte] = mask }
            store(value[...], for: key, expiresAtMilliseconds: nil)
            notify(.string, "setbit", key)
            return Replies.zero
        case .value(let old):
            let wasSet = byte < old.count && old[old.startIndex + byte] & mask != 0
            // Nothing changes, so nothing is written: a watch of the key stays good, as in Redis.
            if byte < old.count && wasSet == (bit == 1) { return wasSet ? Replies.one : Replies.zero }
            var value = Array(old)
            if value.count <= byte { value.append(contentsOf: repeatElement(0, count: byte + 1 - value.count)) }
            if bit == 1 { value[byte] |= mask } else { value[byte] &= ~mask }
            replaceValue(value, for: key)
            notify(.string, "setbit", key)
            return wasSet ? Replies.one : Replies.zero
        }
    }

    /// `GETBIT key offset`: the bit, 0 past the end of the value or for a missing key.
    mutating func getBit(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let offset = Self.bitOffset(arguments.bytes(at: 2)) else { return Self.bitOffsetInvalid }
        switch liveValue(arguments.key(at: 1), clock: clock) {
        case .wrongType: return Replies.wrongType
        case .missing: return Replies.zero
        case .value(let value):
            let byte = offset >> 3
            guard byte < value.count else { return Replies.zero }
            return value[value.startIndex + byte] & (UInt8(0x80) >> (offset & 7)) != 0 ? Replies.one : Replies.zero
        }
    }

    /// `BITCOUNT key [start end [BYTE|BIT]]`: the set bits of the value, or of the bytes (or bits) from `start`
    /// through `end`, counted as GETRANGE counts; 0 for a missing key, which is looked up before the range is read.
    mutating func bitCount(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        let value: ArraySlice<UInt8>
        switch liveValue(arguments.key(at: 1), clock: clock) {
        case .value(let found): value = found
        case .missing: return Replies.zero
        case .wrongType: return Replies.wrongType
        }
        var bits = 0..<value.count * 8
        if arguments.count == 4 || arguments.count == 5 {
            guard let start = DecimalInteger.parse(arguments.bytes(at: 2)),
                let end = DecimalInteger.parse(arguments.bytes(at: 3))
            else { return Replies.notInteger }
            if start < 0 && end < 0 && start > end { return Replies.zero }
            var countsBits = false
            if arguments.count == 5 {
                guard let unit = Self.rangeUnit(arguments.bytes(at: 4)) else { return Replies.syntaxError }
                countsBits = unit
            }
            let total = Int64(value.count) * (countsBits ? 8 : 1)
            guard let range = Self.byteRange(start: start, end: end, count: total) else { return Replies.zero }
            bits = countsBits ? range : range.lowerBound * 8..<range.upperBound * 8
        } else if arguments.count != 2 {
            return Replies.syntaxError
        }
        return RESPWriter.integer(Int64(Self.setBitCount(value, bits: bits)))
    }

    /// `BITPOS key bit [start [end [BYTE|BIT]]]`: the position of the first bit equal to `bit` in the value, or in
    /// the bytes (or bits) from `start` through `end`; -1 when there is none. Without an end, the value reads as
    /// followed by zero bits, so a search for 0 that finds none answers the position just past the range; a
    /// missing key is all zero bits (0 for a 0, -1 for a 1).
    mutating func bitPosition(_ arguments: CommandArguments, clock: Clock) -> [UInt8] {
        guard let bit = DecimalInteger.parse(arguments.bytes(at: 2)) else { return Replies.notInteger }
        guard bit == 0 || bit == 1 else { return Self.bitArgumentInvalid }
        let value: ArraySlice<UInt8>
        switch liveValue(arguments.key(at: 1), clock: clock) {
        case .value(let found): value = found
        case .missing: return RESPWriter.integer(bit == 1 ? -1 : 0)
        case .wrongType: return Replies.wrongType
        }
        var bits = 0..<value.count * 8
        let isEndGiven = arguments.count >= 5
        if arguments.count >= 4 && arguments.count <= 6 {
            guard var start = DecimalInteger.parse(arguments.bytes(at: 3)) else { return Replies.notInteger }
            var countsBits = false
            if arguments.count == 6 {
                guard let unit = Self.rangeUnit(arguments.bytes(at: 5)) else { return Replies.syntaxError }
                countsBits = unit
            }
            let total = Int64(value.count) * (countsBits ? 8 : 1)
            var end = total - 1
            if isEndGiven {
                guard let given = DecimalInteger.parse(arguments.bytes(at: 4)) else { return Replies.notInteger }
                end = given
            }
            // Unlike BITCOUNT's, two negatives out of order are not special: they clamp like any others.
            if start < 0 { start += total }
            if end < 0 { end += total }
            start = max(start, 0)
            end = min(max(end, 0), total - 1)
            guard start <= end else { return RESPWriter.integer(-1) }
            bits = countsBits ? Int(start)..<Int(end) + 1 : Int(start) * 8..<(Int(end) + 1) * 8
        } else if arguments.count != 3 {
            return Replies.syntaxError
        }
        guard !bits.isEmpty else { return RESPWriter.integer(-1) }
        if let found = Self.firstBit(bit == 1, in: value, bits: bits) { return RESPWriter.integer(Int64(found)) }
        return RESPWriter.integer(bit == 0 && !isEndGiven ? Int64(bits.upperBound) : -1)
    }

    /// A bit offset argument, by Redis's `getBitOffsetFromArgument`: an integer, not negative, whose byte lies below
    /// `valueBytesLimit`; nil otherwise.
    static func bitOffset(_ argument: ArraySlice<UInt8>) -> Int? {
        guard let offset = DecimalInteger.parse(argument), offset >= 0, offset >> 3 < Int64(valueBytesLimit) else {
            return nil
        }
        return Int(offset)
    }

    /// Whether a BITCOUNT or BITPOS range unit says bits (`BIT`) rather than bytes (`BYTE`); nil for another word.
    private static func rangeUnit(_ argument: ArraySlice<UInt8>) -> Bool? {
        if ASCII.equals(argument, "bit") { return true }
        if ASCII.equals(argument, "byte") { return false }
        return nil
    }

    /// The bits set among `bits` of `value`, all of which lie inside it.
    static func setBitCount(_ value: ArraySlice<UInt8>, bits: Range<Int>) -> Int {
        guard !bits.isEmpty else { return 0 }
        let firstByte = bits.lowerBound >> 3, lastByte = (bits.upperBound - 1) >> 3
        var total = 0
        for index in firstByte...lastByte {
            total += (value[value.startIndex + index] & byteMask(index, firstByte, lastByte, bits)).nonzeroBitCount
        }
        return total
    }

    /// The first of `bits` of `value` that is set (`isSet`) or clear; nil when none is.
    static func firstBit(_ isSet: Bool, in value: ArraySlice<UInt8>, bits: Range<Int>) -> Int? {
        guard !bits.isEmpty else { return nil }
        let firstByte = bits.lowerBound >> 3, lastByte = (bits.upperBound - 1) >> 3
        for index in firstByte...lastByte {
            let byte = value[value.startIndex + index]
            // The sought bits as ones, those outside the range as zeros.
            let sought = (isSet ? byte : ~byte) & byteMask(index, firstByte, lastByte, bits)
            if sought != 0 { return index * 8 + sought.leadingZeroBitCount }
        }
        return nil
    }

    /// The bits of byte `index` that lie in `bits`, as a mask; the range's first and last bytes may be partial.
    private static func byteMask(_ index: Int, _ firstByte: Int, _ lastByte: Int, _ bits: Range<Int>) -> UInt8 {
        var mask: UInt8 = 0xFF
        if index == firstByte { mask &= 0xFF >> (bits.lowerBound & 7) }
        if index == lastByte { mask &= 0xFF << (7 - ((bits.upperBound - 1) & 7)) }
        return mask
    }

    private static let bitOffsetInvalid = RESPWriter.error("ERR bit offset is not an integer or out of range")
    private static let bitInvalid = RESPWriter.error("ERR bit is not an integer or out of range")
    private static let bitArgumentInvalid = RESPWriter.error("ERR The bit argument must be 1 or 0.")
}
