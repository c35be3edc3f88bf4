import Glibc
import LogChannel
import Node
import Posix
import Primary
import Replication

/// What a node tells its operator: one log line each, typed so that programs (tests, hooks, metrics) act on the
/// values and never parse the line.
public enum RuntimeEvent: Sendable, CustomStringConvertible {
    /// The node moved between roles, in `epoch` (the last one it had, once stopped).
    case roleChanged(from: NodeStatus.Role, to: NodeStatus.Role, epoch: UInt64, reason: RoleChangeReason)
    /// A protocol core's remark (a lost backup, an arbiter retry, a checkpoint sent): for people only.
    case note(String)
    /// The primary stopped; these client connections waited for replies it will never release, so their
    /// outcome is unknown to their clients and the connections were closed rather than answered with a guess.
    case withheldRepliesDiscarded(connections: Int, StopReason)
    /// One client connection was closed by the node.
    case clientClosed(id: UInt64, ClientCloseReason)
    /// Connections were refused at `limit` open connections, `total` so far (logged at the first and every 1,000th).
    case clientsRefused(total: Int, limit: Int)
    /// Accepting a connection failed (`role` "client" or "logging channel"); accepting resumes shortly.
    case acceptFailed(role: String, SystemError)
    /// A logging channel from (or to) `peer` was refused before the core heard of it; `total` refusals of this
    /// kind so far (logged at the first and every `ChannelRefusal.logEvery`th, so a flood cannot flood the log).
    case channelRefused(peer: String, ChannelRefusal, total: Int)
    /// A metrics request was refused; `total` refusals of this kind so far (logged at the first and every
    /// `MetricsRefusal.logEvery`th).
    case metricsRefused(MetricsRefusal, total: Int)
    /// The exit linger ran out with these client connections still open; they were closed.
    case exitLingerExpired(openConnections: Int, linger: Duration)
    /// One idle sweep closed `count` connections idle for `timeout` (`RuntimeConfiguration.clientIdleTimeout`).
    case idleClientsClosed(count: Int, timeout: Duration)
    /// A stop was requested by a signal, or by the supervisor's disappearance.
    case stopRequested(by: String)
    /// The service address was added, removed, or could not be (`ServiceAddress`).
    case serviceAddress(ServiceAddressEvent)
    /// The role-change hook printed, finished, timed out or could not run (`RoleChangeHook`).
    case roleChangeHook(RoleChangeHookEvent)

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .roleChanged(let from, let to, let epoch, let reason):
            "\(from.rawValue) -> \(to.rawValue) at epoch \(epoch): \(reason)"
        case .note(let line):
            line
        case .withheldRepliesDiscarded(let connections, let reason):
            "closed \(connections) client connection(s) whose replies were withheld (outcome unknown): \(reason)"
        case .clientClosed(let id, let reason):
            "client \(id): \(reason)"
        case .clientsRefused(let total, let limit):
            "refused \(total) client connection(s) so far: \(limit) are open, the limit"
        case .acceptFailed(let role, let error):
            "accepting a \(role) connection failed: \(error); accepting again shortly"
        case .channelRefused(let peer, let refusal, let total):
            "refused a logging channel with \(peer): \(refusal) (\(total) such refusal(s) so far)"
        case .metricsRefused(let refusal, let total):
            "metrics request: \(refusal) (\(total) such refusal(s) so far)"
        case .exitLingerExpired(let open, let linger):
            "closing \(open) client connection(s) still open after the \(linger) exit linger"
        case .idleClientsClosed(let count, let timeout):
            "closed \(count) client connection(s) idle for \(timeout)"
        case .stopRequested(let cause):
            "\(cause): stopping (a primary first hands over to a caught-up backup)"
        case .serviceAddress(let event):
            event.description
        case .roleChangeHook(let event):
            event.description
        }
    }
}

/// Why the node closed one client connection.
public enum ClientCloseReason: Equatable, Sendable, CustomStringConvertible {
    /// The client broke the wire protocol; it was answered with the protocol's error first.
    case brokeProtocol
    /// The client left more reply bytes unread than `RuntimeConfiguration.clientOutputBytesLimit`.
    case outputUnread(bytes: Int, limit: Int)
    /// The event loop could not watch the connection.
    case cannotWatch(SystemError)
    /// The client reached a bound (see `ConnectionRefusal`); it was told so, when that cut into no reply.
    case refused(ConnectionRefusal)
    /// A notice was due for a listening connection with `limit` requests already in flight: the notice can only
    /// wait in line behind them, and the line is full.
    case noticeUnqueued(limit: Int)
    /// Another connection asked for it to be closed (Redis's CLIENT KILL), along with `others` more: logged once for
    /// them all, naming the first.
    case killed(byClient: UInt64, others: Int)

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .brokeProtocol: "broke the wire protocol; answered with the error and closed"
        case .outputUnread(let bytes, let limit):
            "left \(bytes) reply bytes unread, past the \(limit)-byte limit; disconnected"
        case .cannotWatch(let error): "cannot change what the loop watches (\(error)); closed"
        case .refused(let refusal): "\(refusal)"
        case .noticeUnqueued(let limit):
            "had \(limit) requests in flight, the limit, when a notice was due for it; disconnected"
        case .killed(let asker, let others):
            "closed at the request of client \(asker)" + (others > 0 ? ", with \(others) more" : "")
        }
    }
}

/// Why an accepted logging channel was closed before the core heard of it.
public enum ChannelRefusal: Equatable, Sendable, CustomStringConvertible {
    /// The node is exiting.
    case exiting
    /// `RuntimeConfiguration.channelConnectionsLimit` channels are open.
    case tooManyChannels(Int)
    /// The peer did not prove it holds the cluster secret; it received nothing but the handshake's frames.
    case authenticationFailed(AuthenticationFailure)
    /// The peer had not proved the cluster secret when a newer connection needed its place among the
    /// `RuntimeConfiguration.unauthenticatedChannelsLimit` unauthenticated ones.
    case evictedBeforeHandshake(Int)
    /// Before proving the cluster secret, the peer sent bytes that are not a handshake frame (garbage, another
    /// protocol, or a header announcing more than `Frame.handshakeBodyBytesLimit`).
    case undecodableBeforeHandshake(FrameError)

    /// Refusals of one kind are logged at the first and then at every this many: each is counted
    /// (`lockstep_channel_closes_<code>` in INFO), and a stranger retrying in a loop must not fill the disk.
    public static let logEvery = 1_000

    /// A stable snake_case name for this kind of refusal.
    public var code: String {
        switch self {
        case .exiting: "exiting"
        case .tooManyChannels: "too_many_channels"
        case .authenticationFailed(let failure): "authentication_failed_" + failure.code
        case .evictedBeforeHandshake: "evicted_before_handshake"
        case .undecodableBeforeHandshake: "undecodable_before_handshake"
        }
    }

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .exiting: "this node is exiting"
        case .tooManyChannels(let count): "\(count) channels are open already"
        case .authenticationFailed(let failure): "the peer \(failure); closed"
        case .evictedBeforeHandshake(let limit):
            "the peer had not proved the cluster secret when a newer connection needed its place among \(limit) "
                + "unauthenticated ones; closed"
        case .undecodableBeforeHandshake(let error): "the peer sent no handshake frame (\(error)); closed"
        }
    }
}

/// What happened to the service address (`ServiceAddress`).
public enum ServiceAddressEvent: Sendable, CustomStringConvertible {
    /// The node went live: the address is on the device, announced from `hardwareAddress` (the device's
    /// description, with its MAC).
    case added(ServiceAddress, hardwareAddress: String)
    /// The node stopped being live: the address is off the device.
    case removed(ServiceAddress)
    /// At start, the address was found on the device (a crash left it) and removed before the node listened.
    case staleCopyRemoved(ServiceAddress)
    /// A step failed, `failures` times in a row so far; it is tried again in `retryIn`. Logged at the first
    /// failure and then at most every `ServiceAddressWorker.failureLogInterval`.
    case failed(ServiceAddressError, failures: Int, retryIn: Duration)

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .added(let address, let device):
            "service address \(address.prefix) added on \(device) and announced by gratuitous ARP"
        case .removed(let address):
            "service address \(address) removed"
        case .staleCopyRemoved(let address):
            "service address \(address) was left from an earlier run; removed before listening"
        case .failed(let error, let failures, let retry):
            "service address: \(error) (\(failures) failure(s) in a row); trying again in \(retry)"
        }
    }
}

/// What the role-change hook did (`RoleChangeHook`).
public enum RoleChangeHookEvent: Sendable, CustomStringConvertible {
    /// One line the hook wrote to its standard output or error.
    case output(RoleChangeNotice, line: String)
    /// The hook wrote more lines than `RoleChangeHook.outputLinesLimit`; these were not logged.
    case outputCut(RoleChangeNotice, droppedLines: Int)
    /// The hook ended by itself.
    case finished(RoleChangeNotice, ChildProcess.ExitStatus, elapsed: Duration)
    /// The hook ran past its time limit (or the node's exit) and was killed with its process group.
    case timedOut(RoleChangeNotice, limit: Duration, pid: pid_t)
    /// The hook could not be started.
    case cannotStart(RoleChangeNotice, SystemError)
    /// Role changes came faster than the hook ran: the oldest waiting one was dropped, `total` so far, to keep
    /// `limit` waiting.
    case dropped(total: Int, limit: Int)
    /// The node exited with these notices still waiting; they were not run.
    case notRunAtExit(count: Int)

    /// One log line: what happened and what follows.
    public var description: String {
        switch self {
        case .output(let notice, let line):
            "role-change hook (\(notice)): \(line)"
        case .outputCut(let notice, let dropped):
            "role-change hook (\(notice)): \(dropped) more output line(s) not logged"
        case .finished(let notice, let status, let elapsed):
            "role-change hook (\(notice)) \(status) after \(elapsed)"
        case .timedOut(let notice, let limit, let pid):
            "role-change hook (\(notice)) still running after its \(limit) limit: killed process group \(pid)"
        case .cannotStart(let notice, let error):
            "role-change hook (\(notice)) cannot start: \(error)"
        case .dropped(let total, let limit):
            "role-change hook: \(limit) runs are waiting; dropped the oldest waiting one (\(total) dropped so far)"
        case .notRunAtExit(let count):
            "role-change hook: the node is exiting; \(count) waiting run(s) not started"
        }
    }
}
