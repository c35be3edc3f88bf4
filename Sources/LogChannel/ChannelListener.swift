import Posix

/// Accepts logging-channel connections on one address and hands each, open, to its owner.
///
/// Lives on one `EventLoop` thread like the connections it makes. `onAccept` runs on the loop thread with the new
/// connection: set its delegate there (or close it); `connectionOpened` follows at the end of the round.
/// `onAccept` is retained by the listener: capture the owner weakly, or `close()` the listener to break the cycle.
public final class ChannelListener {
    /// Connections accepted per readiness event; more wait for the next round, so a connect storm cannot starve
    /// the connections already open.
    public static let acceptsPerEventLimit = 16
    /// How long accepting pauses after a failure such as EMFILE. Level-triggered epoll would otherwise report the
    /// pending connection again at once and spin the loop.
    public static let acceptRetryDelay = Duration.milliseconds(100)

    /// The bound address: with port 0 requested, this holds the port the kernel chose.
    public let address: SocketAddress
    /// The loop whose thread accepts, and on which every accepted connection lives.
    public let loop: EventLoop
    /// Given to every accepted connection.
    public let configuration: ChannelConnection.Configuration
    /// Told of accept failures other than a connection reset before it was accepted; accepting resumes after
    /// `acceptRetryDelay`.
    public var onAcceptError: ((SystemError) -> Void)?

    private var registration: EventLoop.Registration?
    private var onAccept: ((ChannelConnection) -> Void)?

    /// Listens on `address` (port 0: any free port; read it back from `address`).
    ///
    /// A port already in use throws `SystemError(call: "bind", errno: EADDRINUSE)`.
    public init(
        on address: SocketAddress, loop: EventLoop,
        configuration: ChannelConnection.Configuration = ChannelConnection.Configuration(),
        onAccept: @escaping (ChannelConnection) -> Void
    ) throws(SystemError) {
        precondition(loop.isOwnedByCaller, "ChannelListener.init off the loop thread")
        let descriptor = try TCP.listen(on: address)
        do {
            self.address = try TCP.localAddress(of: descriptor)
        } catch {
            try? descriptor.close()  // the getsockname error is the one worth reporting
            throw error
        }
        self.loop = loop
        self.configuration = configuration
        self.onAccept = onAccept
        // Weak: the owner holds the listener; a listener dropped off the loop thread cannot deregister in deinit,
        // and its stale registration must then do nothing until `EventLoop.shutdown()` closes it.
        do {
            registration = try loop.register(descriptor, interest: .readable) { [weak self] _ in
                self?.acceptPending()
            }
        } catch {
            try? descriptor.close()  // the registration error is the one worth reporting
            throw error
        }
    }

    deinit {
        if let registration, loop.isOwnedByCaller { loop.close(registration) }
    }

    /// Whether `close()` was called or the listening socket is otherwise gone.
    public var isClosed: Bool { registration == nil }

    /// Stops accepting and closes the listening socket; connections already accepted are not affected.
    public func close() {
        precondition(loop.isOwnedByCaller, "ChannelListener.close off the loop thread")
        if let registration { loop.close(registration) }
        registration = nil
        onAccept = nil
        onAcceptError = nil
    }

    private func acceptPending() {
        for _ in 0..<Self.acceptsPerEventLimit {
            guard let registration, let listener = loop.descriptor(of: registration) else { return }
            do throws(SystemError) {
                guard let descriptor = try TCP.accept(from: listener) else { return }
                let connection = try ChannelConnection.adopt(
                    descriptor, on: loop, configuration: configuration, delegate: nil)
                onAccept?(connection)
            } catch {
                pauseAccepting(after: error)
                return
            }
        }
    }

    private func pauseAccepting(after error: SystemError) {
        guard let registration else { return }
        try? loop.setInterest([], for: registration)  // if even this fails, the retry below still runs
        loop.schedule(after: Self.acceptRetryDelay) { [weak self] in
            guard let self, let registration = self.registration else { return }
            try? loop.setInterest(.readable, for: registration)  // a failure here surfaces as no more accepts
        }
        onAcceptError?(error)
    }
}
