import CShim
import Glibc
import Synchronization

/// Signals that arrived and were not yet delivered to the loop, one bit per signal number.
private let pendingSignalBits = Atomic<UInt64>(0)
/// The eventfd of the loop that handles signals, -1 when none; read inside the signal handler.
private let signalDoorbell = Atomic<CInt>(-1)

/// Process-wide signal dispositions.
public enum Signals {
    /// Ignores SIGPIPE for the whole process.
    ///
    /// Sockets already use `MSG_NOSIGNAL`, but a write to a pipe or a closed stdout would still kill the process
    /// silently; an `EPIPE` error is what every layer here expects instead.
    public static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Gives `signal` its default action back (e.g. after `EventLoop.handleSignals`).
    public static func restoreDefault(_ signalNumber: CInt) {
        signal(signalNumber, SIG_DFL)
    }
}

extension EventLoop {
    /// Delivers `signals` (e.g. SIGTERM, SIGINT) to `handler` on this loop's thread instead of their default
    /// action, so a node can shut down cleanly between rounds.
    ///
    /// The process-wide handler only sets a bit and rings this loop's eventfd, both async-signal-safe; the work
    /// happens in the loop. One loop per process handles signals: a later call on another loop takes over.
    /// signalfd would be tidier but is hidden behind _GNU_SOURCE in Swift's Glibc module.
    public func handleSignals(_ signals: [CInt], _ handler: @escaping (CInt) -> Void) throws(SystemError) {
        precondition(signals.allSatisfy { $0 > 0 && $0 < 64 }, "signal numbers are 1...63")
        signalHandler = handler
        // Touch both globals here: their lazy initialisation must not first happen inside the signal handler.
        _ = pendingSignalBits.load(ordering: .relaxed)
        signalDoorbell.store(doorbell.descriptor.rawValue, ordering: .releasing)
        for signalNumber in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signalNumber in
                let savedErrno = cshim_errno()
                pendingSignalBits.bitwiseOr(1 << UInt64(signalNumber), ordering: .acquiringAndReleasing)
                let doorbell = signalDoorbell.load(ordering: .acquiring)
                if doorbell >= 0 {
                    var one: UInt64 = 1
                    _ = write(doorbell, &one, 8)
                }
                errno = savedErrno
            }
            sigemptyset(&action.sa_mask)
            action.sa_flags = CInt(SA_RESTART)
            _ = try retryingInterrupts("sigaction") { sigaction(signalNumber, &action, nil) }
        }
    }

    /// Detaches this loop from signal delivery (the handlers stay installed and only record the signal).
    func stopHandlingSignals() {
        _ = signalDoorbell.compareExchange(
            expected: doorbell.descriptor.rawValue, desired: -1, ordering: .acquiringAndReleasing)
    }

    /// Called after the doorbell rang: hands every recorded signal to the handler, lowest number first.
    func deliverPendingSignals() {
        guard let signalHandler, signalDoorbell.load(ordering: .relaxed) == doorbell.descriptor.rawValue else {
            return
        }
        var bits = pendingSignalBits.exchange(0, ordering: .acquiringAndReleasing)
        while bits != 0 {
            let signalNumber = CInt(bits.trailingZeroBitCount)
            bits &= bits - 1
            signalHandler(signalNumber)
        }
    }
}
