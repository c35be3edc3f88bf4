import Glibc
import Posix
import Synchronization

/// One helper thread that puts the service address on the device while the node is live and takes it off when it
/// is not (`ServiceAddress`).
///
/// Netlink and packet sockets are system calls that may wait (the kernel's rtnl lock, a slow device), so none runs
/// on the event loop: the loop only posts the role it wants (`want`), which never blocks. Only the latest wanted
/// state matters (a node that went live and stopped again before the thread ran needs nothing added), so the
/// queue is one slot, `pendingStatesLimit`, a newer state replacing the older. Going live adds the address, then
/// sends `announcementsCount` gratuitous ARPs `announcementSpacing` apart, as keepalived and arping do, so one
/// lost frame does not leave a client on the old owner. A failure is retried every `retryInterval` until it
/// succeeds or another state is wanted, and logged at its first occurrence and then at most once per
/// `failureLogInterval` (a missing device would otherwise fill the log).
final class ServiceAddressWorker: @unchecked Sendable {  // unchecked: `netlink` is the worker thread's alone
    /// What the node wants of the address.
    enum Wanted: Equatable, Sendable {
        /// On the device and announced: the node is primary or solo.
        case present
        /// Off the device: the node is anything else, or exiting.
        case absent
    }

    /// Wanted states held for the thread: one, the latest.
    static let pendingStatesLimit = 1
    /// Gratuitous ARPs sent after the address is added.
    static let announcementsCount = 3
    /// Time between them.
    static let announcementSpacing: Duration = .milliseconds(100)
    /// Time before a failed step is tried again.
    static let retryInterval: Duration = .milliseconds(500)
    /// Failures of a streak are logged at most this often after the first.
    static let failureLogInterval: Duration = .seconds(10)
    /// How long an exiting node keeps trying to take the address off before it leaves anyway (a crash leaves it
    /// too; the next start removes it).
    static let exitRemovalLimit: Duration = .seconds(2)
    /// Slices the thread sleeps in while an announcement or a retry is due, so a new wanted state is seen soon.
    static let wakeSlice: Duration = .milliseconds(10)

    private struct State {
        var pending: Wanted?
        var isStopping = false
        /// Set with `isStopping` when the address must come off before the thread ends.
        var exitDeadline: UInt64?
    }

    let address: ServiceAddress
    private let log: @Sendable (RuntimeEvent) -> Void
    private let netlink: RouteNetlink
    private let state = Mutex(State())
    private let helper = HelperThread()

    /// Looks the device up and removes a stale copy of the address (left by a crash of this node), on the calling
    /// thread: the node must not listen while the address still routes to it. A missing device or no permission
    /// is a start-up error.
    init(address: ServiceAddress, log: @escaping @Sendable (RuntimeEvent) -> Void) throws(ServiceAddressError) {
        self.address = address
        self.log = log
        do {
            netlink = try RouteNetlink()
        } catch {
            throw ServiceAddressError.classify(error, at: .lookUpDevice, device: address.device)
        }
        let device = try Self.lookUp(address.device, netlink)
        let wasPresent: Bool
        do {
            wasPresent = try netlink.deleteAddress(address.prefix, device: device.index)
        } catch {
            throw ServiceAddressError.classify(error, at: .remove, device: address.device)
        }
        if wasPresent { log(.serviceAddress(.staleCopyRemoved(address))) }
        // Announcing needs a packet socket: refused now rather than at the first failover.
        do {
            try GratuitousARP.checkPermission()
        } catch {
            throw ServiceAddressError.classify(error, at: .announce, device: address.device)
        }
    }

    /// Starts the thread.
    func start() throws(SystemError) {
        try helper.start { [self] in work() }
    }

    /// Posts the state the node wants; never blocks. Any thread.
    func want(_ wanted: Wanted) {
        let isPosted = state.withLock { state -> Bool in
            guard !state.isStopping else { return false }
            state.pending = wanted
            return true
        }
        if isPosted { helper.wake() }
    }

    /// Stops the thread after the address is off the device, or after `exitRemovalLimit`: for a node that exits.
    /// After `halt()` it only waits for the thread.
    func finish() {
        state.withLock {
            guard !$0.isStopping else { return }
            $0.pending = .absent
            $0.isStopping = true
            $0.exitDeadline = monotonicNanoseconds() + UInt64(Self.exitRemovalLimit.nanoseconds)
        }
        helper.wake()
        join()
    }

    /// Stops the thread at once, leaving the address as it is, like a crash. Any thread.
    func halt() {
        state.withLock {
            $0.isStopping = true
            $0.exitDeadline = nil
            $0.pending = nil
        }
        helper.wake()
    }

    /// Waits for the thread to end; call after `halt()` or from `finish()`.
    func join() {
        helper.join()
    }

    // MARK: The thread

    private func work() {
        var target: Wanted?
        var applied: Wanted?
        var announcementsLeft = 0
        var nextAttempt: UInt64 = 0
        var failures = 0
        var lastFailureLog: UInt64?
        while true {
            let (pending, isStopping, exitDeadline) = state.withLock { state in
                defer { state.pending = nil }
                return (state.pending, state.isStopping, state.exitDeadline)
            }
            if let pending, pending != target {
                target = pending
                announcementsLeft = 0
                nextAttempt = 0
                failures = 0
                lastFailureLog = nil
            }
            let now = monotonicNanoseconds()
            if isStopping {
                guard let exitDeadline, now < exitDeadline, target == .absent, applied != .absent else { return }
            }
            if let wanted = target, wanted != applied, now >= nextAttempt {
                do throws(ServiceAddressError) {
                    try apply(wanted)
                    applied = wanted
                    failures = 0
                    lastFailureLog = nil
                    if wanted == .present {
                        announcementsLeft = Self.announcementsCount - 1
                        nextAttempt = now + UInt64(Self.announcementSpacing.nanoseconds)
                    }
                } catch {
                    failures += 1
                    nextAttempt = now + UInt64(Self.retryInterval.nanoseconds)
                    let interval = UInt64(Self.failureLogInterval.nanoseconds)
                    if lastFailureLog.map({ now - $0 >= interval }) ?? true {
                        lastFailureLog = now
                        log(.serviceAddress(.failed(error, failures: failures, retryIn: Self.retryInterval)))
                    }
                }
            } else if applied == .present, target == .present, announcementsLeft > 0, now >= nextAttempt {
                announcementsLeft -= 1
                nextAttempt = now + UInt64(Self.announcementSpacing.nanoseconds)
                // A lost announcement is covered by the others; the first one's failure was logged by `apply`.
                _ = try? announce()
            }
            let isBusy = (target != nil && target != applied) || (target == .present && announcementsLeft > 0)
            if isBusy || isStopping {
                sleep(for: Self.wakeSlice)
                helper.forgetWakes()  // wakes only say "look again", which the loop does anyway
            } else {
                helper.waitForWake()
            }
        }
    }

    /// Makes the device hold the address (`present`: added, then announced once) or not (`absent`).
    private func apply(_ wanted: Wanted) throws(ServiceAddressError) {
        let device = try Self.lookUp(address.device, netlink)
        switch wanted {
        case .present:
            do {
                try netlink.addAddress(address.prefix, device: device.index)
            } catch {
                throw ServiceAddressError.classify(error, at: .add, device: address.device)
            }
            try announce(on: device)
            log(.serviceAddress(.added(address, hardwareAddress: device.description)))
        case .absent:
            let wasPresent: Bool
            do {
                wasPresent = try netlink.deleteAddress(address.prefix, device: device.index)
            } catch {
                throw ServiceAddressError.classify(error, at: .remove, device: address.device)
            }
            if wasPresent { log(.serviceAddress(.removed(address))) }
        }
    }

    private func announce(on known: NetworkDevice? = nil) throws(ServiceAddressError) {
        let device: NetworkDevice
        if let known { device = known } else { device = try Self.lookUp(address.device, netlink) }
        do {
            try GratuitousARP.announce(address.prefix.address, on: device)
        } catch {
            throw ServiceAddressError.classify(error, at: .announce, device: address.device)
        }
    }

    private static func lookUp(_ name: String, _ netlink: RouteNetlink) throws(ServiceAddressError) -> NetworkDevice {
        do {
            return try netlink.device(named: name)
        } catch {
            throw ServiceAddressError.classify(error, at: .lookUpDevice, device: name)
        }
    }
}
