/// A service whose whole state encodes and decodes in a few milliseconds: it provides the encoding as one byte array
/// and gets the stream of chunks for free.
///
/// Encoding the whole state at once is a step in proportion to the state, taken on the event loop when a backup
/// joins; that suits a state of a few megabytes, not gigabytes. A larger service implements `StateMachine`'s
/// `snapshot()` and `makeRestorer()` itself, as the bundled key-value store does.
public protocol SmallStateMachine: StateMachine {
    /// The whole state as bytes, the same in every process for equal states.
    func encoded() -> [UInt8]
    /// Replaces the state with one that `encoded()` produced, or throws and leaves the state as it was.
    mutating func restore(from encoded: [UInt8]) throws(SnapshotError)
}

extension SmallStateMachine {
    /// The state encoded now, to be streamed in chunks.
    public func snapshot() -> EncodedSnapshot { EncodedSnapshot(encoded()) }
    /// A restorer that collects the whole encoding and decodes it at the end.
    public func makeRestorer() -> EncodedRestorer<Self> { EncodedRestorer(self) }
}

/// A `SmallStateMachine`'s encoding, handed out in chunks.
public struct EncodedSnapshot: StateSnapshot, Equatable, Sendable {
    /// The whole encoding.
    public let bytes: [UInt8]
    private var offset = 0

    /// A snapshot of `bytes`, from the start.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    /// Whether every byte has been handed out.
    public var isFinished: Bool { offset == bytes.count }
    /// The encoding's exact size.
    public var estimatedByteCount: Int { bytes.count }

    /// The next at most `byteLimit` bytes.
    public mutating func nextChunk(byteLimit: Int) -> [UInt8] {
        let end = min(offset + max(byteLimit, 1), bytes.count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }
}

/// Collects a `SmallStateMachine`'s encoding and decodes it once complete.
public struct EncodedRestorer<Machine: SmallStateMachine>: SnapshotRestorer {
    private var machine: Machine
    private var bytes: [UInt8] = []

    /// A restorer that decodes into `machine` (an empty instance, for its configuration).
    public init(_ machine: Machine) { self.machine = machine }

    /// Keeps `chunk` for the end.
    public mutating func consume(_ chunk: [UInt8]) throws(SnapshotError) { bytes.append(contentsOf: chunk) }

    /// The machine decoded from everything consumed.
    public mutating func finish() throws(SnapshotError) -> Machine {
        try machine.restore(from: bytes)
        bytes = []
        return machine
    }
}
