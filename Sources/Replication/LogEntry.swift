/// What one log entry asks the backup to replay.
///
/// The logging channel carries entries as opaque payloads; this is their meaning and encoding:
/// `kind (1) · recorded count (2, LE) · recorded values (9 each: tag, 8 LE) · rest`, where the rest is
/// the command bytes for `.command`, 8 bytes of digest for `.digest`, and nothing for `.tick` and `.barrier`.
public enum LogEntry: Equatable, Sendable {
    /// A client command, with the nondeterministic values the primary's execution read.
    case command([UInt8], recorded: [Recorded])
    /// Timer-driven work, e.g. active expiry, with the values it read.
    case tick(recorded: [Recorded])
    /// The primary's state digest after every entry before this one; the backup compares its own.
    case digest(UInt64)
    /// Nothing to replay: appended after reads answered without entries of their own, when no other entry follows
    /// them, so that its ack releases their replies (`StateMachine.read`).
    case barrier
}

/// A payload that is not a valid `LogEntry`.
public enum LogEntryError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The payload has no bytes at all.
    case empty
    /// The first byte names no entry kind this build knows.
    case unknownKind(UInt8)
    /// The payload ends after `available` bytes where the encoding needs `needed`.
    case truncated(needed: Int, available: Int)
    /// A recorded value's tag byte names no kind of recorded value (clock read, random value, observation).
    case unknownRecordedTag(UInt8)
    /// This many bytes follow a complete tick or digest entry.
    case trailingBytes(Int)

    /// One sentence for the log: what is wrong with the entry, and that the backup rejoins from a checkpoint.
    public var description: String {
        switch self {
        case .empty: "empty log entry; the backup rejoins from a checkpoint"
        case .unknownKind(let kind): "log entry of unknown kind \(kind); the backup rejoins from a checkpoint"
        case .truncated(let needed, let available):
            "log entry truncated: needs \(needed) bytes, has \(available); the backup rejoins from a checkpoint"
        case .unknownRecordedTag(let tag): "recorded value with unknown tag \(tag); the backup rejoins from a checkpoint"
        case .trailingBytes(let count): "log entry has \(count) unexpected trailing bytes; the backup rejoins from a checkpoint"
        }
    }
}

extension LogEntry {
    private static let commandKind: UInt8 = 1, tickKind: UInt8 = 2, digestKind: UInt8 = 3, barrierKind: UInt8 = 4
    private static let clockTag: UInt8 = 1, randomTag: UInt8 = 2, observationTag: UInt8 = 3

    /// Appends the encoding to `bytes`, written on the stack (`write(into:)`) and copied in one append.
    public func encode(into bytes: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: encodedByteCount) { scratch in
            write(into: UnsafeMutableRawBufferPointer(scratch))
            bytes.append(contentsOf: UnsafeBufferPointer(scratch))
        }
    }

    /// Writes the encoding into `bytes`, which holds exactly `encodedByteCount` of them.
    ///
    /// Through a pointer rather than appended: each append checks the array's uniqueness and capacity, and the
    /// generic path of `append(contentsOf:)` costs more than the rest of encoding an entry.
    public func write(into bytes: UnsafeMutableRawBufferPointer) {
        precondition(bytes.count == encodedByteCount, "a \(bytes.count)-byte buffer for a \(encodedByteCount)-byte entry")
        var offset = 0
        func putByte(_ value: UInt8) {
            bytes[offset] = value
            offset += 1
        }
        func put(_ value: UInt64) {
            bytes.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        func putRecorded(_ values: [Recorded]) {
            precondition(values.count <= Int(UInt16.max), "a command read more nondeterminism than an entry holds")
            bytes.storeBytes(of: UInt16(values.count).littleEndian, toByteOffset: offset, as: UInt16.self)
            offset += 2
            for value in values {
                switch value {
                case .clock(let nanoseconds): putByte(Self.clockTag); put(UInt64(bitPattern: nanoseconds))
                case .random(let random): putByte(Self.randomTag); put(random)
                case .observation(let value): putByte(Self.observationTag); put(value)
                }
            }
        }
        switch self {
        case .command(let command, let recorded):
            putByte(Self.commandKind)
            putRecorded(recorded)
            command.withUnsafeBytes { source in
                guard let from = source.baseAddress, let to = bytes.baseAddress else { return }
                (to + offset).copyMemory(from: from, byteCount: source.count)
            }
        case .tick(let recorded):
            putByte(Self.tickKind)
            putRecorded(recorded)
        case .digest(let digest):
            putByte(Self.digestKind)
            putRecorded([])
            put(digest)
        case .barrier:
            putByte(Self.barrierKind)
            putRecorded([])
        }
    }

    /// The entry's encoding as a new array, allocated once at its exact size.
    public var encoded: [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(encodedByteCount)  // one allocation, not one per growth
        encode(into: &bytes)
        return bytes
    }

    /// The length of the encoding.
    public var encodedByteCount: Int {
        switch self {
        case .command(let command, let recorded): 3 + 9 * recorded.count + command.count
        case .tick(let recorded): 3 + 9 * recorded.count
        case .digest: 3 + 8
        case .barrier: 3
        }
    }

    /// Decodes one entry that fills `bytes` exactly. A command keeps `bytes`' storage when the caller hands over the
    /// only reference (the entry's header is removed in place), where a copy would allocate an array per entry.
    public init(decoding bytes: consuming [UInt8]) throws(LogEntryError) {
        let (kind, recorded, offset) = try Self.decodeHeader(bytes)
        switch kind {
        case Self.commandKind:
            var command = bytes
            command.removeSubrange(0..<offset)
            self = .command(command, recorded: recorded)
        case Self.tickKind:
            guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
            self = .tick(recorded: recorded)
        case Self.digestKind:
            if bytes.count - offset < 8 { throw .truncated(needed: offset + 8, available: bytes.count) }
            guard offset + 8 == bytes.count else { throw .trailingBytes(bytes.count - offset - 8) }
            self = .digest(Self.readUInt64(bytes, at: offset))
        case Self.barrierKind:
            guard offset == bytes.count else { throw .trailingBytes(bytes.count - offset) }
            self = .barrier
        default:
            throw .unknownKind(kind)
        }
    }

    /// An entry's kind, its recorded values, and where the rest of it starts.
    private static func decodeHeader(_ bytes: [UInt8]) throws(LogEntryError) -> (UInt8, [Recorded], Int) {
        guard let kind = bytes.first else { throw .empty }
        var offset = 1
        func need(_ count: Int) throws(LogEntryError) {
            if bytes.count - offset < count { throw .truncated(needed: offset + count, available: bytes.count) }
        }
        try need(2)
        let count = Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
        offset += 2
        var recorded: [Recorded] = []
        if count > 0 { recorded.reserveCapacity(count) }  // even reserving nothing allocated
        for _ in 0..<count {
            try need(9)
            let tag = bytes[offset]
            let value = readUInt64(bytes, at: offset + 1)
            offset += 9
            switch tag {
            case clockTag: recorded.append(.clock(Int64(bitPattern: value)))
            case randomTag: recorded.append(.random(value))
            case observationTag: recorded.append(.observation(value))
            default: throw .unknownRecordedTag(tag)
            }
        }
        return (kind, recorded, offset)
    }

    private static func readUInt64(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        var value: UInt64 = 0
        for index in 0..<8 { value |= UInt64(bytes[offset + index]) << (8 * index) }
        return value
    }
}
