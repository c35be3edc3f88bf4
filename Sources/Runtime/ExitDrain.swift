import Node
import Posix

/// What the exit drain needs of the client port. A protocol, so that the drain is not generic over the client
/// protocol; it is called only while exiting, where a call through a witness table costs nothing that matters.
protocol DrainingClientPort: AnyObject {
    var connectionCount: Int { get }
    func beginDrain(refusalReason: String)
    func closeDrained(quietFor quietLimit: Duration)
}

/// The node's exit once the core is done: drain, close, stop the loop, all within `exitLingerLimit`.
///
/// It exists so that the rules for leaving (which client connections may be cut, and when) live in one place
/// apart from the ports that carry them out. It owns the exit's state, its two timers (the linger deadline and
/// the drain sweep) and the moment the loop stops; the driver starts it, and the ports tell it when a connection
/// or a channel ends, so that it can finish as soon as nothing is left. Its bounds are `exitLingerLimit` for the
/// whole exit and `clientDrainQuietLimit` for one quiet connection.
final class ExitDrain {
    /// How often an exiting node looks for drained client connections to close; a tenth of the default
    /// `clientDrainQuietLimit`, so a quiet connection goes at most that much later than its limit.
    static var sweepInterval: Duration { .milliseconds(10) }

    private let clients: any DrainingClientPort
    private let channels: ChannelPort
    private let publisher: StatusPublisher
    private let loop: EventLoop
    private let log: @Sendable (RuntimeEvent) -> Void
    private let lingerLimit: Duration
    private let quietLimit: Duration

    private(set) var isExiting = false
    private(set) var isFinished = false
    private(set) var reason: ExitReason?
    private var lingerTimer: EventLoop.TimerID?

    init(
        clients: any DrainingClientPort, channels: ChannelPort, publisher: StatusPublisher, loop: EventLoop,
        configuration: RuntimeConfiguration, log: @escaping @Sendable (RuntimeEvent) -> Void
    ) {
        self.clients = clients
        self.channels = channels
        self.publisher = publisher
        self.loop = loop
        self.log = log
        lingerLimit = configuration.exitLingerLimit
        quietLimit = configuration.clientDrainQuietLimit
    }

    /// The core is done (a stop completed, or a handover): let the channel drain, drain the clients, close
    /// everything, stop the loop; all within `exitLingerLimit`.
    ///
    /// Client connections are drained, not dropped: a connection closed with a request in flight leaves its client
    /// unable to tell whether the command ran. So reading goes on; every complete request that reached this node
    /// and was never executed (this round's batch, and whatever arrives from now on) is refused with the protocol's
    /// rejection reply, which promises it did nothing and names the node that took over; local requests are
    /// answered as usual, replies the core already released still leave, all in request order. A connection is
    /// closed when its client ends it, or once it has nothing outstanding and has been quiet for
    /// `clientDrainQuietLimit`, or at the linger deadline. Nothing reaches the core any more (`drive` ignores
    /// events once exiting), so no command is executed after the stop.
    func begin(reason: ExitReason) {
        guard !isExiting else { return }
        isExiting = true
        self.reason = reason
        publisher.forgetRoutingStatus()  // from now on the status names the successor
        channels.stopAccepting()
        clients.beginDrain(refusalReason: "this node has stopped (\(reason.description))")
        channels.closeAllForExit()
        lingerTimer = loop.schedule(after: lingerLimit) { [weak self] in
            self?.lingerTimer = nil
            self?.finish()
        }
        loop.schedule(after: Self.sweepInterval) { [weak self] in self?.sweep() }
        checkComplete()
    }

    /// Closes each client connection that is drained, then looks again after `sweepInterval` until the exit
    /// finishes.
    private func sweep() {
        guard isExiting, !isFinished else { return }
        clients.closeDrained(quietFor: quietLimit)
        checkComplete()
        guard !isFinished else { return }
        loop.schedule(after: Self.sweepInterval) { [weak self] in self?.sweep() }
    }

    /// Finishes the exit if nothing is left open; the ports call it whenever a connection or channel ends.
    func checkComplete() {
        guard isExiting, !isFinished, channels.isEmpty, clients.connectionCount == 0 else { return }
        finish()
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        if clients.connectionCount > 0 {
            log(.exitLingerExpired(openConnections: clients.connectionCount, linger: lingerLimit))
        }
        if let lingerTimer { loop.cancel(lingerTimer) }
        lingerTimer = nil
        publisher.publishLast()
        loop.stop()
    }
}
