import Glibc

/// Nanoseconds of CLOCK_MONOTONIC: never jumps, so every deadline and timeout in Lockstep is measured on it.
///
/// clock_gettime goes through the vDSO, without a system call, and cannot fail for a valid clock id.
@inline(__always)
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Nanoseconds since the Unix epoch on CLOCK_REALTIME: for timestamps shown to people and recorded in the log,
/// never for measuring intervals (it can jump).
@inline(__always)
public func wallClockNanoseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) &* 1_000_000_000 &+ Int64(now.tv_nsec)
}

/// Blocks the calling thread for `duration`, resuming after signals; for supervisors and tests, never on a loop.
public func sleep(for duration: Duration) {
    let (seconds, attoseconds) = duration.components
    guard seconds > 0 || attoseconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 {
        request = remaining  // only EINTR is possible with valid arguments
    }
}

extension Duration {
    /// Whole nanoseconds, truncated; durations here are far below the 292 years that overflow.
    public var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }

    /// The duration in milliseconds, with a fraction; for log lines and status.
    public var milliseconds: Double { Double(nanoseconds) / 1e6 }
}
