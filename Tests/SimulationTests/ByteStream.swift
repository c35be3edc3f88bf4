import LogChannel

/// One direction of a simulated logging-channel connection, carried as bytes through the real codec.
///
/// The sender's frames are encoded with `Frame.encode(into:)` and appended to the stream; the network cuts the
/// stream at seeded points into chunks (and may hold a tail back to coalesce it with the next write, as TCP does);
/// each chunk that arrives goes through this direction's own `FrameDecoder`, and only what the decoder returns
/// reaches the node. So every frame the cores exchange in simulation crossed the production wire path, split
/// everywhere a real socket could split it.
///
/// The decoder-path checker lives here: `written` holds every frame encoded into the stream and not yet decoded,
/// and each decoded frame must be exactly the next of them. A frame lost, invented, reordered or altered between
/// encoder and decoder is a violation, whatever the cores make of it.
struct ByteStream {
    /// The body limit the receiving transport enforces; a checkpoint chunk is the largest body the cores send.
    static let bodyBytesLimit = 1 << 20

    private var decoder = FrameDecoder(bodyBytesLimit: Self.bodyBytesLimit)
    /// Frames encoded into the stream, oldest first from `writtenHead`, not yet returned by the decoder.
    private var written: [Frame] = []
    private var writtenHead = 0
    /// Bytes written but held back, to go out with the next write or when the hold ends.
    private(set) var held: [UInt8] = []
    var isHoldEnding = false
    /// When the last chunk arrives: a stream never delivers before what was sent on it earlier.
    var lastDelivery = Instant.zero
    /// Bytes were lost in a partition: TCP cannot deliver past a hole, so nothing more arrives and the
    /// receiver hears nothing from this direction until its silence timeout closes the connection.
    var isBroken = false

    /// Encodes `frames` after whatever was held, and returns the bytes now ready to cut and send.
    mutating func write(_ frames: [Frame]) -> [UInt8] {
        var bytes: [UInt8] = []
        swap(&bytes, &held)
        for frame in frames {
            frame.encode(into: &bytes)
            written.append(frame)
        }
        return bytes
    }

    /// Keeps `bytes` back for the next write (or until the hold ends).
    mutating func hold(_ bytes: [UInt8]) {
        held.append(contentsOf: bytes)
    }

    /// Takes the held bytes to send them now.
    mutating func takeHeld() -> [UInt8] {
        var bytes: [UInt8] = []
        swap(&bytes, &held)
        return bytes
    }

    /// The stream lost bytes; see `isBroken`.
    mutating func breakStream() {
        isBroken = true
        held = []
    }

    /// What the receiver's transport makes of a chunk that arrived.
    struct Received {
        var frames: [Frame] = []
        /// The decoder rejected the stream: the transport closes the connection.
        var failure: FrameError?
        /// Decoded frames that differ from what was written, in words for the violation report.
        var mismatches: [String] = []
    }

    /// Feeds an arriving chunk to the decoder and drains every complete frame.
    mutating func receive(_ chunk: [UInt8]) -> Received {
        var received = Received()
        guard !decoder.isPoisoned else { return received }
        decoder.append(contentsOf: chunk)
        do {
            while let frame = try decoder.next() {
                if writtenHead < written.count, written[writtenHead] == frame {
                    writtenHead += 1
                } else if let match = written[writtenHead...].prefix(8).firstIndex(of: frame) {
                    // Frames went missing: say so once, and compare what follows from after them.
                    received.mismatches.append("decoded a \(frame.kind) frame, but \(match - writtenHead) frames written before it never came out")
                    writtenHead = match + 1
                } else {
                    let expected = writtenHead < written.count ? "a \(written[writtenHead].kind) frame" : "nothing"
                    received.mismatches.append("decoded a \(frame.kind) frame where \(expected) was written")
                }
                received.frames.append(frame)
            }
        } catch {
            received.failure = error
        }
        if writtenHead > 64, writtenHead * 2 > written.count {
            written.removeSubrange(0..<writtenHead)
            writtenHead = 0
        }
        return received
    }
}
