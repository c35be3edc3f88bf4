import Posix
import Replication

/// One client's socket, parsing session, ordered replies and unwritten output; owned by the loop thread.
///
/// The runtime reads a connection when it is readable and allowed to (see `ClientPort.updateInterest`), parses
/// every complete request into the pipeline, and writes the filled prefix of the pipeline once per loop round.
final class ClientConnection<Session> {
    /// Index in the client port's connection table; part of every tag, so a release finds its connection in O(1).
    let index: Int
    /// Unique within the process: the protocol's client id, and what log lines name.
    let id: UInt64
    let registration: EventLoop.Registration
    var session: Session
    var pipeline: ReplyPipeline
    /// The client's address and the one it connected to, read once at accept; for CLIENT LIST (`ClientPort+Listing`).
    var peerAddress: SocketAddress?
    var localAddress: SocketAddress?

    /// Reply bytes not yet taken by the kernel, from `outputOffset` on; bounded by `clientOutputBytesLimit`.
    var output: [UInt8] = []
    var outputOffset = 0
    /// How many written bytes `markWritten` may leave at the front of `output`.
    static var keptWrittenBytes: Int { 4096 }
    /// Queued for the round's client flush.
    var isFlushQueued = false
    /// What the loop watches this socket for: `.readable` from its registration on, changed only by
    /// `ClientPort.updateInterest`, which skips the loop when nothing changed (twice per request).
    var watchedInterest: EventLoop.Interest = .readable

    /// Replicated requests parsed into this round's batch and not yet handed to the core. They were never executed,
    /// so whatever happens to the node, their clients may be told so.
    var unhandedCount = 0
    /// Stopped parsing because the round's batch or this pipeline was full; listed in the client port's backlog.
    var isBacklogged = false
    /// A replicated request parsed while the core's intake was paused: tagged, its reply slot taken, not handed to
    /// the core (counted in `unhandedCount`). It waits for intake to resume rather than being refused, so the write
    /// completes once the arbiter answers, as a write waiting on backpressure does. While it waits nothing after it
    /// is parsed (its reply would have to wait behind this one anyway) and the socket is not read, so the client's
    /// further bytes wait in the kernel: a paused node holds at most one command per connection beyond the batch.
    var parkedCommand: ClientCommand?
    /// Holds a parked command and is listed in the client port's `pausedClients`, to go on at resume.
    var isListedAsPaused = false
    /// The protocol said the connection listens for the node's notices (`ClientRequest.listen`): it is pushed them
    /// after role changes, and never closed as idle.
    var isListening = false
    /// The protocol said the connection monitors (`ClientRequest.monitor`): every round's feed is pushed to it.
    var isMonitoring = false
    /// The tag of the connection's blocking command (`ClientRequest.blocking`) from intake until a reply fills its
    /// slot; the connection is read but not parsed further meanwhile, as Redis runs no command of a blocked client.
    var blockingTag: UInt64?
    /// How long the blocking command may wait once its reply says it waits; nil for ever.
    var blockingTimeout: Duration?
    /// Armed once the released reply said the connection waits; cancelled when it is answered.
    var blockingTimer: EventLoop.TimerID?
    /// The client sent end of stream: no more requests, but replies still go out.
    var isInputClosed = false
    /// QUIT or a protocol error: close once the pipeline is empty and the output written.
    var isClosingAfterOutput = false
    var isClosed = false
    /// While the node exits: when this connection last read a byte or wrote one (monotonic nanoseconds). It is closed
    /// only after `clientDrainQuietLimit` of quiet with nothing outstanding (see `ClientPort.closeDrained`).
    var lastActivityNanoseconds: UInt64 = 0
    /// Read nothing since the last idle sweep; set by each sweep, cleared by each read (a store, not a clock read).
    var isQuietSinceSweep = false
    /// Consecutive idle sweeps that found this connection quiet with nothing outstanding; it is closed at
    /// `clientIdleTimeout` worth of them.
    var quietSweeps = 0

    init(index: Int, id: UInt64, registration: EventLoop.Registration, session: Session, pendingRepliesLimit: Int) {
        self.index = index
        self.id = id
        self.registration = registration
        self.session = session
        self.pipeline = ReplyPipeline(capacity: pendingRepliesLimit)
    }

    var unwrittenOutputBytes: Int { output.count - outputOffset }

    /// Replicated requests the core holds and has not answered: their outcome is unknown to this node's clients
    /// until the core releases or rejects them.
    var handedCount: Int { pipeline.awaitingCount - unhandedCount }

    /// Moves the filled prefix of the pipeline into the output buffer.
    func drainPipeline() {
        // Through a pointer: appending the slice itself goes through a slower, element-wise path.
        pipeline.drainFilled { reply in reply.withUnsafeBufferPointer { output.append(contentsOf: $0) } }
    }

    /// Records that the kernel took `count` bytes, dropping written bytes when that is cheap.
    func markWritten(_ count: Int) {
        outputOffset += count
        if outputOffset == output.count {
            // Written replies stay until they add up to `keptWrittenBytes`: emptying the array costs about as much
            // as writing a short reply, and the next replies go after them either way.
            guard outputOffset >= Self.keptWrittenBytes || output.capacity > 1 << 20 else { return }
            output.removeAll(keepingCapacity: output.capacity <= 1 << 20)
            outputOffset = 0
        } else if outputOffset * 2 >= output.count {
            output.removeSubrange(0..<outputOffset)
            outputOffset = 0
        }
    }

    /// Whether every request read so far is answered and its reply written: closing now cuts nothing off that
    /// this node has seen (bytes still on their way are the drain's quiet period's concern).
    var hasNothingOutstanding: Bool {
        pipeline.isEmpty && unwrittenOutputBytes == 0 && !isBacklogged
    }

    /// Whether nothing more will be written and the connection can go.
    var isDone: Bool {
        pipeline.isEmpty && unwrittenOutputBytes == 0 && (isClosingAfterOutput || isInputClosed)
    }
}
