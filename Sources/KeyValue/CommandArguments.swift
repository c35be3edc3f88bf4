/// The arguments of one request, read in place from its `KeyValueCommand` encoding.
///
/// Both nodes read every command from its encoding, and the primary's frontend writes it. Decoding into
/// `[[UInt8]]` cost an array per argument, though the name and the options never needed one; this view finds
/// each argument once and copies out only what a command keeps (a key, a value). Reading an element copies
/// its bytes, so code that only looks at an argument uses `bytes(at:)`.
struct CommandArguments: RandomAccessCollection, Sendable {
    /// The encoding: what the log carries.
    let encoding: [UInt8]
    /// Where each argument's bytes sit in `encoding`.
    private let ranges: ArgumentRanges

    private init(encoding: [UInt8], ranges: ArgumentRanges) {
        self.encoding = encoding
        self.ranges = ranges
    }

    /// Encodes `arguments`: `argument count · (length · bytes)*`, counts and lengths as LEB128 varints.
    init(encoding arguments: [[UInt8]]) {
        var source: [UInt8] = []
        var ranges: [Range<Int>] = []
        for argument in arguments {
            let start = source.count
            source.append(contentsOf: argument)
            ranges.append(start..<source.count)
        }
        self.init(encodingRanges: ranges, of: source)
    }

    /// Encodes the arguments at `ranges` in `source`, copying their bytes once (the parser's buffer holds a
    /// request's arguments until it is complete).
    init(encodingRanges ranges: [Range<Int>], of source: [UInt8]) {
        self = source.withUnsafeBufferPointer { sourceBytes in
            CommandArguments(encoding: ranges.count, of: sourceBytes, at: { ranges[$0] })
        }
    }

    /// Encodes `count` arguments, the one at position `i` being the bytes at `range(i)` in `source`.
    init(encoding count: Int, of source: UnsafeBufferPointer<UInt8>, at range: (Int) -> Range<Int>) {
        var noSpareBuffers: [[UInt8]] = []
        self.init(encoding: count, of: source, at: range, spareBuffers: &noSpareBuffers)
    }

    /// The same, written into the last of `spareBuffers` when it has room (taken from there), rather than into a
    /// new array: a handled command's array, reused, spares an allocation and a free per request.
    init(
        encoding count: Int, of source: UnsafeBufferPointer<UInt8>, at range: (Int) -> Range<Int>,
        spareBuffers: inout [[UInt8]]
    ) {
        var sizeBytes = Varint.byteCount(UInt64(count))
        for position in 0..<count {
            let argument = range(position)
            sizeBytes += Varint.byteCount(UInt64(argument.count)) + argument.count
        }
        var encodedRanges = ArgumentRanges(count: count)
        // Written in place, in one pass: appending a varint and a copy per argument would check the array's
        // uniqueness and capacity each time (Benchmarks/README.md).
        func write(_ bytes: UnsafeMutableBufferPointer<UInt8>) {
            var offset = Varint.write(UInt64(count), into: bytes, at: 0)
            for position in 0..<count {
                let argument = range(position)
                offset = Varint.write(UInt64(argument.count), into: bytes, at: offset)
                let start = offset
                if let to = bytes.baseAddress, let from = source.baseAddress, !argument.isEmpty {
                    (to + start).initialize(from: from + argument.lowerBound, count: argument.count)
                }
                offset += argument.count
                encodedRanges.append(start..<offset)
            }
            precondition(offset == sizeBytes, "command encoding miscounted")
        }
        var encoding: [UInt8]
        if sizeBytes <= ByteArray.stackWrittenLimit, !spareBuffers.isEmpty,
            spareBuffers[spareBuffers.count - 1].capacity >= sizeBytes
        {
            encoding = spareBuffers.removeLast()
            ByteArray.replaceContents(of: &encoding, count: sizeBytes, write)
        } else {
            encoding = ByteArray.written(count: sizeBytes, write)
        }
        self.init(encoding: encoding, ranges: encodedRanges)
    }

    /// The arguments `encoding` holds; it must be exactly one encoding.
    init(decoding encoding: [UInt8]) throws(KeyValueCommand.DecodingError) {
        if let ranges = Self.shortRanges(encoding) {
            self.init(encoding: encoding, ranges: ranges)
            return
        }
        var offset = 0
        let count = try Self.readVarint(encoding, &offset)
        // Every argument takes at least its one length byte, which bounds the allocation below.
        guard count <= UInt64(encoding.count - offset) else {
            throw .countTooLarge(declared: count, available: encoding.count - offset)
        }
        var ranges = ArgumentRanges(count: Int(count))
        for _ in 0..<count {
            let length = try Self.readVarint(encoding, &offset)
            guard length <= UInt64(encoding.count - offset) else {
                throw .countTooLarge(declared: length, available: encoding.count - offset)
            }
            let end = offset + Int(length)
            ranges.append(offset..<end)
            offset = end
        }
        guard offset == encoding.count else { throw .trailingBytes(encoding.count - offset) }
        self.init(encoding: encoding, ranges: ranges)
    }

    /// Where the arguments of a short command sit: at most `ArgumentRanges.inlineLimit` of them, each count and
    /// length one varint byte, which is nearly every command. Read in one pass without the general path's checks
    /// per byte; nil for anything else, which the general path decodes or rejects.
    private static func shortRanges(_ encoding: [UInt8]) -> ArgumentRanges? {
        encoding.withUnsafeBufferPointer { bytes in
            guard let first = bytes.first, first <= UInt8(ArgumentRanges.inlineLimit) else { return nil }
            var ranges = ArgumentRanges(count: Int(first))
            var offset = 1
            for _ in 0..<Int(first) {
                guard offset < bytes.count, bytes[offset] < 0x80 else { return nil }
                let start = offset + 1
                let end = start + Int(bytes[offset])
                guard end <= bytes.count else { return nil }
                ranges.append(start..<end)
                offset = end
            }
            return offset == bytes.count ? ranges : nil
        }
    }

    /// The start of an encoded command, read without decoding the rest: its name, and where its second argument sits
    /// when the encoding is exactly two arguments in the short form (a one-byte count and lengths), as nearly every
    /// GET is. Nil when the encoding ends before the name does, or the name is longer than any command's. A malformed
    /// encoding may give a name: `init(decoding:)` is what checks it, unless a second argument was found.
    ///
    /// Positions rather than slices: a result holding a slice was copied and destroyed through run-time type
    /// information, costing more than decoding.
    static func peek(_ encoding: [UInt8]) -> (name: CommandName, secondArgument: Range<Int>?)? {
        let found: (name: CommandName, end: Int)? = encoding.withUnsafeBufferPointer { bytes in
            var offset = 0
            while offset < bytes.count, bytes[offset] & 0x80 != 0 { offset += 1 }  // the count's varint
            offset += 1
            // A name short enough to be a command's has a one-byte length.
            guard offset < bytes.count, Int(bytes[offset]) <= CommandName.bytesLimit else { return nil }
            let end = offset + 1 + Int(bytes[offset])
            guard end <= bytes.count, let name = CommandName(UnsafeBufferPointer(rebasing: bytes[(offset + 1)..<end]))
            else { return nil }
            return (name, end)
        }
        guard let (name, nameEnd) = found else { return nil }
        // `2 · n · name · m · argument`, with n and m below 0x80 and nothing after: a complete, valid encoding.
        guard encoding[0] == 2, nameEnd < encoding.count, encoding[nameEnd] < 0x80,
            nameEnd + 1 + Int(encoding[nameEnd]) == encoding.count
        else { return (name, nil) }
        return (name, (nameEnd + 1)..<encoding.count)
    }

    /// Where the key sits when `encoding` is exactly `GET key` in the short form (a one-byte count and lengths), the
    /// name in any letter case; nil for anything else. GET is the commonest command by far, and this spares it the
    /// name's lookup (`peek`), which costs several times as much.
    static func getKey(_ encoding: [UInt8]) -> Range<Int>? {
        encoding.withUnsafeBufferPointer { bytes in
            // `| 0x20` folds exactly the two cases of each letter onto the lower one.
            guard bytes.count >= 6, bytes[0] == 2, bytes[1] == 3, bytes[2] | 0x20 == UInt8(ascii: "g"),
                bytes[3] | 0x20 == UInt8(ascii: "e"), bytes[4] | 0x20 == UInt8(ascii: "t"), bytes[5] < 0x80,
                6 + Int(bytes[5]) == bytes.count
            else { return nil }
            return 6..<bytes.count
        }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { ranges.count }

    /// A copy of the argument at `position`.
    subscript(position: Int) -> [UInt8] {
        // Through `ByteArray.written`: `Array` of the slice costs several times more (Benchmarks/README.md), and an
        // element pushed, a member added or a value stored is copied here.
        let range = ranges[position]
        return encoding.withUnsafeBufferPointer { source in
            ByteArray.written(count: range.count) { target in
                guard let from = source.baseAddress, let to = target.baseAddress, !range.isEmpty else { return }
                to.initialize(from: from + range.lowerBound, count: range.count)
            }
        }
    }

    /// The bytes of the argument at `position`, without copying them.
    func bytes(at position: Int) -> ArraySlice<UInt8> {
        encoding[ranges[position]]
    }

    /// Reads one varint, telling a truncated encoding from an overlong number.
    private static func readVarint(_ bytes: [UInt8], _ offset: inout Int) throws(KeyValueCommand.DecodingError)
        -> UInt64
    {
        let start = offset
        guard let value = Varint.read(bytes, at: &offset) else {
            // Only a tenth byte can overflow 64 bits, so with fewer left the bytes simply ran out.
            if bytes.count - start < 10 { throw .truncated(offset: bytes.count) }
            throw .varintTooLong(offset: start)
        }
        return value
    }
}

/// Where a command's arguments sit in its encoding. The first few are kept inline, so the commands that make up
/// nearly all traffic (GET, SET, INCR, DEL of one key) allocate no list, where a list of ranges per command would
/// cost an allocation per SET on the backup and two on the primary. Longer commands keep the rest in `overflow`.
private struct ArgumentRanges: Sendable {
    private typealias Inline = InlineArray<4, Range<Int>>
    static var inlineLimit: Int { Inline.count }
    private var inline = Inline(repeating: 0..<0)
    /// Nil until a range past the inline ones arrives: even an empty array costs a release when its owner goes, twice
    /// per GET on the primary.
    private var overflow: [Range<Int>]?
    private(set) var count = 0

    /// Empty, with room for `expected` ranges.
    init(count expected: Int) {
        guard expected > Self.inlineLimit else { return }
        var reserved: [Range<Int>] = []
        reserved.reserveCapacity(expected - Self.inlineLimit)
        overflow = reserved
    }

    mutating func append(_ range: Range<Int>) {
        if count < Self.inlineLimit {
            inline[count] = range
        } else {
            overflow = overflow ?? []
            overflow!.append(range)
        }
        count += 1
    }

    subscript(position: Int) -> Range<Int> {
        precondition(position >= 0 && position < count, "argument \(position) of \(count)")
        return position < Self.inlineLimit ? inline[position] : overflow![position - Self.inlineLimit]
    }
}
