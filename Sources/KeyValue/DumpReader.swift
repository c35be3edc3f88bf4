/// A reader of one value in RDB encoding (`rdbLoadObject`, `src/rdb.c`), the body of a DUMP payload (`DumpPayload`).
///
/// Every read checks the bytes left first and throws `.malformed` at the offset where the payload fails, so that no
/// length a payload claims is trusted: loops run until the bytes run out, never reserving by a claimed count.
/// The compact encodings inside a string (listpack, intset, LZF) are read by the functions at the end, over the
/// string's bytes alone.
struct DumpReader {
    private let bytes: ArraySlice<UInt8>
    private var position: Int
    /// Bytes that LZF strings have decompressed to so far, bounded by `KeyValueStore.valueBytesLimit`.
    private var decompressedByteCount = 0

    /// A reader at the start of `body`, a payload without its footer.
    init(_ body: ArraySlice<UInt8>) {
        bytes = body
        position = body.startIndex
    }

    /// Whether every byte has been read.
    var isAtEnd: Bool { position == bytes.endIndex }
    /// Where the reader is, from the payload's start.
    var offset: Int { position - bytes.startIndex }

    private var malformed: DumpPayloadError { .malformed(offset: offset) }

    // MARK: Objects

    /// The object type byte and the value it announces.
    mutating func object() throws(DumpPayloadError) -> DumpPayload.Value {
        let typeByte = try byte()
        guard let type = DumpPayload.ObjectType(rawValue: typeByte) else { throw malformed }
        switch type {
        case .string: return .string(try string())
        case .list:
            var list = CollectionValue(kind: .list)
            try forEachCounted { reader throws(DumpPayloadError) in list.elements.pushBack(try reader.string()) }
            return try nonEmpty(list)
        case .set:
            var set = CollectionValue(kind: .set)
            try forEachCounted { reader throws(DumpPayloadError) in try reader.add(try reader.string(), to: &set) }
            return try nonEmpty(set)
        case .hash:
            var hash = CollectionValue(kind: .hash)
            try forEachCounted { reader throws(DumpPayloadError) in
                let field = try reader.string()
                try reader.add(field, value: try reader.string(), to: &hash)
            }
            return try nonEmpty(hash)
        case .sortedSet, .sortedSetTextScores:
            var sortedSet = CollectionValue(kind: .sortedSet)
            try forEachCounted { reader throws(DumpPayloadError) in
                let member = try reader.string()
                let score = type == .sortedSet ? try reader.binaryScore() : try reader.textScore()
                try reader.add(member, score: score, to: &sortedSet)
            }
            return try nonEmpty(sortedSet)
        case .setIntegers:
            var set = CollectionValue(kind: .set)
            for integer in try Self.integerSet(try string()) {
                try add(DecimalInteger.text(integer), to: &set)
            }
            return try nonEmpty(set)
        case .hashListpack:
            var hash = CollectionValue(kind: .hash)
            let entries = try Self.listpack(try string(), at: offset)
            guard entries.count % 2 == 0 else { throw malformed }
            for pair in stride(from: 0, to: entries.count, by: 2) {
                try add(entries[pair], value: entries[pair + 1], to: &hash)
            }
            return try nonEmpty(hash)
        case .sortedSetListpack:
            var sortedSet = CollectionValue(kind: .sortedSet)
            let entries = try Self.listpack(try string(), at: offset)
            guard entries.count % 2 == 0 else { throw malformed }
            for pair in stride(from: 0, to: entries.count, by: 2) {
                guard let score = Score.parse(entries[pair + 1][...]) else { throw malformed }
                try add(entries[pair], score: score, to: &sortedSet)
            }
            return try nonEmpty(sortedSet)
        case .listQuicklistListpacks:
            var list = CollectionValue(kind: .list)
            try forEachCounted { reader throws(DumpPayloadError) in
                let container = try reader.length()
                let node = try reader.string()
                guard !node.isEmpty else { throw reader.malformed }
                switch container {
                // A plain node holds one element too large for a listpack.
                case 1: list.elements.pushBack(node)
                case 2: for element in try Self.listpack(node, at: reader.offset) { list.elements.pushBack(element) }
                default: throw reader.malformed
                }
            }
            return try nonEmpty(list)
        case .listZiplist:
            var list = CollectionValue(kind: .list)
            for element in try Self.ziplist(try string(), at: offset) { list.elements.pushBack(element) }
            return try nonEmpty(list)
        case .listQuicklist:
            var list = CollectionValue(kind: .list)
            try forEachCounted { reader throws(DumpPayloadError) in
                let node = try reader.string()
                for element in try Self.ziplist(node, at: reader.offset) { list.elements.pushBack(element) }
            }
            return try nonEmpty(list)
        case .hashZiplist, .sortedSetZiplist:
            let isHash = type == .hashZiplist
            var collection = CollectionValue(kind: isHash ? .hash : .sortedSet)
            let entries = try Self.ziplist(try string(), at: offset)
            guard entries.count % 2 == 0 else { throw malformed }
            for pair in stride(from: 0, to: entries.count, by: 2) {
                if isHash {
                    try add(entries[pair], value: entries[pair + 1], to: &collection)
                } else {
                    guard let score = Score.parse(entries[pair + 1][...]) else { throw malformed }
                    try add(entries[pair], score: score, to: &collection)
                }
            }
            return try nonEmpty(collection)
        case .module, .moduleAnnotated, .hashZipmap, .stream, .streamVersion2:
            throw .unsupportedType(typeByte)
        }
    }

    /// Reads a length, then runs `body` that many times; the bytes run out long before a false count does.
    private mutating func forEachCounted(
        _ body: (inout DumpReader) throws(DumpPayloadError) -> Void
    ) throws(DumpPayloadError) {
        var left = try length()
        while left > 0 {
            try body(&self)
            left -= 1
        }
    }

    private func nonEmpty(_ collection: CollectionValue) throws(DumpPayloadError) -> DumpPayload.Value {
        guard collection.count > 0 else { throw malformed }
        return .collection(collection)
    }

    private func add(_ member: [UInt8], value: [UInt8] = [], to collection: inout CollectionValue)
        throws(DumpPayloadError)
    {
        guard collection.members.storeMember(member[...], value: value[...]) else { throw malformed }
    }

    private func add(_ member: [UInt8], score: Double, to collection: inout CollectionValue) throws(DumpPayloadError) {
        guard !score.isNaN, collection.score(of: member[...]) == nil else { throw malformed }
        collection.setScore(score, of: member[...])
    }

    /// A score as `rdbLoadBinaryDoubleValue` reads it: 8 bytes, little-endian.
    private mutating func binaryScore() throws(DumpPayloadError) -> Double {
        var bits: UInt64 = 0
        for (shift, byte) in try take(8).enumerated() { bits |= UInt64(byte) << (8 * UInt64(shift)) }
        return Double(bitPattern: bits)
    }

    /// A score as `rdbLoadDoubleValue` reads it: a length byte (253 NaN, 254 +inf, 255 -inf), then that much text.
    private mutating func textScore() throws(DumpPayloadError) -> Double {
        switch try byte() {
        case 253: return .nan
        case 254: return .infinity
        case 255: return -.infinity
        case let count:
            guard let score = Score.parseWeight(try take(Int(count))) else { throw malformed }
            return score
        }
    }

    // MARK: Lengths and strings

    private mutating func byte() throws(DumpPayloadError) -> UInt8 {
        guard position < bytes.endIndex else { throw malformed }
        defer { position += 1 }
        return bytes[position]
    }

    private mutating func take(_ count: Int) throws(DumpPayloadError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.endIndex - position else { throw malformed }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    /// A length (`rdbLoadLenByRef`), or the special string encoding (0 to 3) when `isEncoded`.
    private mutating func lengthOrEncoding() throws(DumpPayloadError) -> (value: Int, isEncoded: Bool) {
        let first = try byte()
        switch first >> 6 {
        case 0: return (Int(first & 0x3f), false)
        case 1: return (Int(first & 0x3f) << 8 | Int(try byte()), false)
        case 3: return (Int(first & 0x3f), true)
        default:
            let width = first == 0x80 ? 4 : first == 0x81 ? 8 : 0
            guard width > 0 else { throw malformed }
            var value: UInt64 = 0
            for byte in try take(width) { value = value << 8 | UInt64(byte) }
            guard let length = Int(exactly: value) else { throw malformed }
            return (length, false)
        }
    }

    /// A length that must not be a special encoding.
    private mutating func length() throws(DumpPayloadError) -> Int {
        let (value, isEncoded) = try lengthOrEncoding()
        guard !isEncoded else { throw malformed }
        return value
    }

    /// A string (`rdbGenericLoadStringObject`): raw, an integer (8, 16 or 32 bits, little-endian) as its decimal
    /// text, or LZF-compressed.
    mutating func string() throws(DumpPayloadError) -> [UInt8] {
        let (value, isEncoded) = try lengthOrEncoding()
        guard isEncoded else { return Array(try take(value)) }
        switch value {
        case 0: return DecimalInteger.text(Int64(Int8(bitPattern: try byte())))
        case 1, 2:
            let width = value == 1 ? 2 : 4
            var bits: UInt32 = 0
            for (shift, byte) in try take(width).enumerated() { bits |= UInt32(byte) << (8 * UInt32(shift)) }
            let integer = width == 2 ? Int64(Int16(truncatingIfNeeded: bits)) : Int64(Int32(bitPattern: bits))
            return DecimalInteger.text(integer)
        case 3:
            let compressedCount = try length(), count = try length()
            let compressed = try take(compressedCount)
            guard count <= KeyValueStore.valueBytesLimit - decompressedByteCount,
                let string = Self.decompressLZF(compressed, count: count)
            else { throw malformed }
            decompressedByteCount += count
            return string
        default: throw malformed
        }
    }

    // MARK: Compact encodings inside a string

    /// LZF's decompression (`lzf_d.c`) of `input` into exactly `count` bytes, or nil when the input is not that:
    /// a run or back reference past either end, or a different length. The output never outgrows `count`, and
    /// reserves at most what `input` could expand to (a 3-byte back reference yields 264 bytes at most).
    static func decompressLZF(_ input: ArraySlice<UInt8>, count: Int) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(min(count, input.count * 88))
        var index = input.startIndex
        while index < input.endIndex {
            let control = Int(input[index])
            index += 1
            if control < 32 {
                let run = control + 1
                guard run <= input.endIndex - index, run <= count - output.count else { return nil }
                output.append(contentsOf: input[index..<(index + run)])
                index += run
                continue
            }
            var run = control >> 5
            if run == 7 {
                guard index < input.endIndex else { return nil }
                run += Int(input[index])
                index += 1
            }
            guard index < input.endIndex else { return nil }
            let distance = (control & 0x1f) << 8 + Int(input[index]) + 1
            index += 1
            run += 2
            guard distance <= output.count, run <= count - output.count else { return nil }
            // Byte by byte: a reference may overlap the bytes it is producing (a repeated pattern).
            var from = output.count - distance
            for _ in 0..<run {
                output.append(output[from])
                from += 1
            }
        }
        return output.count == count ? output : nil
    }

    /// The integers of an intset (`intset.c`): encoding width (2, 4 or 8 bytes) and count, both 32-bit little-endian,
    /// then the integers little-endian; nonempty and exactly that long (`intsetValidateIntegrity`).
    static func integerSet(_ data: [UInt8]) throws(DumpPayloadError) -> [Int64] {
        func little(_ from: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(data[from + $1]) << (8 * UInt64($1)) }
        }
        guard data.count >= 8 else { throw .malformed(offset: 0) }
        let width = Int(little(0, 4)), count = Int(little(4, 4))
        guard [2, 4, 8].contains(width), count > 0, data.count == 8 + count * width else { throw .malformed(offset: 0) }
        return (0..<count).map { index in
            let bits = little(8 + index * width, width)
            return switch width {
            case 2: Int64(Int16(truncatingIfNeeded: bits))
            case 4: Int64(Int32(truncatingIfNeeded: bits))
            default: Int64(bitPattern: bits)
            }
        }
    }

    /// The elements of a listpack (`listpack.c`), integers as their decimal text. Checked as
    /// `lpValidateIntegrity` checks it, and more: the total size in the header, each entry's encoding and back
    /// length within the bytes, the element count unless the header says it is unknown (65535), and the end byte
    /// last. `offset` is where the string holding it ended, for the error.
    static func listpack(_ data: [UInt8], at offset: Int) throws(DumpPayloadError) -> [[UInt8]] {
        let malformed = DumpPayloadError.malformed(offset: offset)
        func little(_ from: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(data[from + $1]) << (8 * UInt64($1)) }
        }
        guard data.count >= 7, little(0, 4) == UInt64(data.count) else { throw malformed }
        let declaredCount = Int(little(4, 2))
        var elements: [[UInt8]] = []
        var index = 6
        while true {
            guard index < data.count else { throw malformed }
            let first = data[index]
            if first == 0xff {
                guard index == data.count - 1 else { throw malformed }
                break
            }
            // The header's size, then the string's length or the integer's width.
            var header = 1, stringCount = 0, integerWidth = 0
            var integer: Int64?
            switch first {
            case 0x00...0x7f: integer = Int64(first)
            case 0x80...0xbf: stringCount = Int(first & 0x3f)
            case 0xc0...0xdf:
                header = 2
                guard index + 1 < data.count else { throw malformed }
                let raw = Int64(first & 0x1f) << 8 | Int64(data[index + 1])
                integer = raw >= 1 << 12 ? raw - (1 << 13) : raw
            case 0xe0...0xef:
                header = 2
                guard index + 1 < data.count else { throw malformed }
                stringCount = Int(first & 0x0f) << 8 | Int(data[index + 1])
            case 0xf0:
                header = 5
                guard index + 4 < data.count else { throw malformed }
                stringCount = Int(little(index + 1, 4))
            case 0xf1: integerWidth = 2
            case 0xf2: integerWidth = 3
            case 0xf3: integerWidth = 4
            case 0xf4: integerWidth = 8
            default: throw malformed
            }
            let entryCount: Int
            if integerWidth > 0 {
                guard integerWidth < data.count - index else { throw malformed }
                let bits = little(index + 1, integerWidth)
                let shift = UInt64(64 - 8 * integerWidth)
                integer = Int64(bitPattern: bits << shift) >> Int64(shift)
                entryCount = 1 + integerWidth
            } else {
                guard stringCount <= data.count - index - header else { throw malformed }
                entryCount = header + stringCount
            }
            let backLength = backLengthBytes(entryCount)
            guard backLength.count <= data.count - index - entryCount,
                data[(index + entryCount)..<(index + entryCount + backLength.count)].elementsEqual(backLength)
            else { throw malformed }
            if let integer {
                elements.append(DecimalInteger.text(integer))
            } else {
                elements.append(Array(data[(index + header)..<(index + header + stringCount)]))
            }
            index += entryCount + backLength.count
        }
        guard declaredCount == 0xffff || declaredCount == elements.count else { throw malformed }
        return elements
    }

    /// The elements of a ziplist (`ziplist.c`, what Redis before 7.0 wrote for small lists, hashes and sorted sets),
    /// integers as their decimal text. Checked as `ziplistValidateIntegrity` checks it: the total size and the tail
    /// offset in the header, each entry's previous-entry length and encoding within the bytes, the element count
    /// unless the header says it is unknown (65535), and the end byte last.
    static func ziplist(_ data: [UInt8], at offset: Int) throws(DumpPayloadError) -> [[UInt8]] {
        let malformed = DumpPayloadError.malformed(offset: offset)
        func little(_ from: Int, _ width: Int) -> UInt64 {
            (0..<width).reduce(0) { $0 | UInt64(data[from + $1]) << (8 * UInt64($1)) }
        }
        let headerCount = 10
        guard data.count >= headerCount + 1, little(0, 4) == UInt64(data.count) else { throw malformed }
        let tail = Int(little(4, 4)), declaredCount = Int(little(8, 2))
        var elements: [[UInt8]] = []
        var index = headerCount, previousCount = 0, lastEntry = headerCount
        while true {
            guard index < data.count else { throw malformed }
            if data[index] == 0xff {
                guard index == data.count - 1 else { throw malformed }
                break
            }
            lastEntry = index
            // The previous entry's length: one byte below 254, else 254 and 4 bytes.
            var previous = Int(data[index]), header = 1
            if previous == 254 {
                guard index + 4 < data.count else { throw malformed }
                previous = Int(little(index + 1, 4))
                header = 5
            }
            guard previous == previousCount else { throw malformed }
            guard index + header < data.count else { throw malformed }
            let encoding = data[index + header]
            var stringCount = 0, integerWidth = 0
            var integer: Int64?
            switch encoding >> 6 {
            case 0: stringCount = Int(encoding & 0x3f); header += 1
            case 1:
                guard index + header + 1 < data.count else { throw malformed }
                stringCount = Int(encoding & 0x3f) << 8 | Int(data[index + header + 1])
                header += 2
            case 2:
                guard encoding == 0x80, index + header + 4 < data.count else { throw malformed }
                stringCount = (1...4).reduce(0) { $0 << 8 | Int(data[index + header + $1]) }
                header += 5
            default:
                header += 1
                switch encoding {
                case 0xc0: integerWidth = 2
                case 0xd0: integerWidth = 4
                case 0xe0: integerWidth = 8
                case 0xf0: integerWidth = 3
                case 0xfe: integerWidth = 1
                case 0xf1...0xfd: integer = Int64(encoding & 0x0f) - 1
                default: throw malformed
                }
            }
            let entryCount: Int
            if integerWidth > 0 {
                guard integerWidth <= data.count - index - header else { throw malformed }
                let bits = little(index + header, integerWidth)
                let shift = UInt64(64 - 8 * integerWidth)
                integer = Int64(bitPattern: bits << shift) >> Int64(shift)
                entryCount = header + integerWidth
            } else {
                guard stringCount <= data.count - index - header else { throw malformed }
                entryCount = header + stringCount
            }
            if let integer {
                elements.append(DecimalInteger.text(integer))
            } else {
                elements.append(Array(data[(index + header)..<(index + entryCount)]))
            }
            previousCount = entryCount
            index += entryCount
        }
        guard tail == lastEntry, declaredCount == 0xffff || declaredCount == elements.count else { throw malformed }
        return elements
    }

    /// The back length that follows an entry of `count` bytes (`lpEncodeBacklen`): 7 bits a byte, most significant
    /// first, every byte but the first with its top bit set.
    private static func backLengthBytes(_ count: Int) -> [UInt8] {
        let width =
            count <= 127 ? 1 : count < 16383 ? 2 : count < 2_097_151 ? 3 : count < 268_435_455 ? 4 : 5
        return (0..<width).map { index in
            let digit = UInt8((count >> (7 * (width - 1 - index))) & 127)
            return index == 0 ? digit : digit | 128
        }
    }
}
