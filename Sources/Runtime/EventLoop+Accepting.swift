import Posix

/// Binding and accepting on a port's listener, shared by the client and metrics ports (the logging channel's is
/// `ChannelListener`).
extension EventLoop {
    /// Connections taken per readable event on a listener: a burst is accepted, and the round serves the others too.
    static var acceptsPerEventLimit: Int { 16 }
    /// How long a listener is left unwatched after an accept failed.
    static var acceptRetryDelay: Duration { .milliseconds(100) }

    /// Binds a port's listener before anything runs, so a busy port is a typed error naming `role` at start.
    static func listen(on address: SocketAddress, addressText: String, role: String) throws(RuntimeError)
        -> (FileDescriptor, SocketAddress)
    {
        let socket: FileDescriptor
        do {
            socket = try TCP.listen(on: address)
        } catch {
            throw .cannotListen(role: role, address: addressText, error)
        }
        do {
            return (socket, try TCP.localAddress(of: socket))
        } catch {
            try? socket.close()  // the getsockname error is the one worth reporting
            throw .cannotListen(role: role, address: addressText, error)
        }
    }

    /// Accepts up to `acceptsPerEventLimit` pending connections on `listener`, handing each to `adopt`.
    ///
    /// A failure (EMFILE and the like) is logged, and the listener is unwatched for `acceptRetryDelay`: level-triggered
    /// epoll would report the pending connection again at once, and the loop would spin. A listener closed meanwhile
    /// stays closed (its registration is stale).
    func acceptPending(
        on listener: Registration, role: String, log: (RuntimeEvent) -> Void, adopt: (FileDescriptor) -> Void
    ) {
        for _ in 0..<Self.acceptsPerEventLimit {
            guard let socket = descriptor(of: listener) else { return }
            let accepted: FileDescriptor?
            do {
                accepted = try TCP.accept(from: socket)
            } catch {
                log(.acceptFailed(role: role, error))
                try? setInterest([], for: listener)  // if even this fails, the retry below still runs
                schedule(after: Self.acceptRetryDelay) { [weak self] in
                    try? self?.setInterest(.readable, for: listener)  // failing here means no more accepts
                }
                return
            }
            guard let socket = accepted else { return }
            adopt(socket)
        }
    }
}
