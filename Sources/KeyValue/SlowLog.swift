#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// Commands that took long to execute on this node, newest first: Redis's SLOWLOG, and the two settings CONFIG SET
/// changes for it.
///
/// Node-local: the store notes what it executed (`KeyValueStore.apply`), timing each command with the monotonic
/// clock, the client protocol notes the commands the node answered itself, and the frontend reads the log for
/// SLOWLOG GET. The timings describe this node's work, never the replicated
/// state; nothing replicated or replayed depends on them. A backup notes the commands it replays, so SLOWLOG on a
/// backup shows its slow replays. Reads answered without an entry (GET, MGET, EXISTS...) are single lookups per key
/// and are not timed, so GET costs no clock read.
///
/// Shared by the store and the client protocol on the loop thread; a mutex makes the sharing safe for any thread, and
/// the threshold is an atomic so that a command that was fast costs no lock.
public final class SlowLog: Sendable {
    /// Most entries kept (`slowlog-max-len` at most): each holds at most 32 arguments of at most 128 bytes (Redis's
    /// own trimming), so the log stays within a few MiB.
    public static let entriesLimit = 1_024
    /// Redis's `SLOWLOG_ENTRY_MAX_ARGC` and `SLOWLOG_ENTRY_MAX_STRING`.
    static let argumentsLimit = 32, argumentBytesLimit = 128

    /// One slow command as SLOWLOG GET shows it.
    struct Entry: Sendable, Equatable {
        var id: Int64
        var unixSeconds: Int64
        var microseconds: Int64
        var arguments: [[UInt8]]
        /// The client's address and name, for a command this node answered itself; empty for one the store executed,
        /// which is the log's (as for Redis's own internal clients).
        var clientAddress = ""
        var clientName: [UInt8] = []
    }

    private struct State {
        var lengthLimit = 128
        /// Oldest first; at most `lengthLimit`.
        var entries: [Entry] = []
        var nextID: Int64 = 0
    }

    private let state = Mutex(State())
    /// The per-command and per-error counts INFO shows. They live with the slow log because both record what this node
    /// executed, at the same points: every store and protocol that share a slow log must share these too.
    public let commandStatistics = CommandStatistics()
    /// `slowlog-log-slower-than` in microseconds (Redis's default, 10 ms); negative: log nothing.
    private let threshold = Atomic<Int64>(10_000)

    /// An empty log with Redis's default settings.
    public init() {}

    /// `slowlog-log-slower-than`, in microseconds.
    var thresholdMicroseconds: Int64 {
        get { threshold.load(ordering: .relaxed) }
        set { threshold.store(newValue, ordering: .relaxed) }
    }

    /// `slowlog-max-len`; lowering it drops the oldest entries.
    var lengthLimit: Int {
        get { state.withLock { $0.lengthLimit } }
        set {
            state.withLock { state in
                state.lengthLimit = newValue
                if state.entries.count > newValue { state.entries.removeFirst(state.entries.count - newValue) }
            }
        }
    }

    /// Whether a command that took `nanoseconds` belongs in the log.
    @inline(__always)
    func isSlow(nanoseconds: UInt64) -> Bool {
        let limit = threshold.load(ordering: .relaxed)
        return limit >= 0 && nanoseconds / 1_000 >= UInt64(limit)
    }

    /// Counts a data command's call in `commandStatistics`; through the log, whose own reference to them needs no
    /// retain, where a caller reaching them from a store would retain both.
    func noteCall(_ slot: Int?, nanoseconds: UInt64, reply: [UInt8]) {
        commandStatistics.noteCall(slot, nanoseconds: nanoseconds, reply: reply)
    }

    /// Notes a command that `isSlow` judged slow, trimming its arguments as Redis does.
    ///
    /// The arguments come as slices of the command, so a large one is never copied whole only to be cut.
    func note(
        _ arguments: [ArraySlice<UInt8>], nanoseconds: UInt64, clientAddress: String = "", clientName: [UInt8] = []
    ) {
        var kept = arguments.prefix(arguments.count > Self.argumentsLimit ? Self.argumentsLimit - 1 : Self.argumentsLimit)
            .map { argument -> [UInt8] in
                guard argument.count > Self.argumentBytesLimit else { return Array(argument) }
                return Array(argument.prefix(Self.argumentBytesLimit))
                    + Array("... (\(argument.count - Self.argumentBytesLimit) more bytes)".utf8)
            }
        if arguments.count > Self.argumentsLimit {
            kept.append(Array("... (\(arguments.count - Self.argumentsLimit + 1) more arguments)".utf8))
        }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        state.withLock { state in
            guard state.lengthLimit > 0 else { return }
            state.entries.append(
                Entry(id: state.nextID, unixSeconds: Int64(now.tv_sec), microseconds: Int64(nanoseconds / 1_000),
                    arguments: kept, clientAddress: clientAddress, clientName: clientName))
            state.nextID += 1
            if state.entries.count > state.lengthLimit { state.entries.removeFirst() }
        }
    }

    /// `arguments` as the log may keep them: a password (AUTH's arguments, HELLO's after AUTH, `requirepass` in
    /// CONFIG SET) becomes `(redacted)`, as Redis redacts them.
    static func redacted(_ arguments: [ArraySlice<UInt8>]) -> [ArraySlice<UInt8>] {
        guard let name = arguments.first else { return arguments }
        var kept = arguments
        func redact(_ position: Int) { if position < kept.count { kept[position] = redactedText } }
        if ASCII.equals(name, "auth") {
            for position in 1..<kept.count { redact(position) }
        } else if ASCII.equals(name, "hello") {
            for position in 2..<max(2, kept.count) where ASCII.equals(arguments[position], "auth") {
                redact(position + 1)
                redact(position + 2)
            }
        } else if ASCII.equals(name, "config"), arguments.count > 1, ASCII.equals(arguments[1], "set") {
            for position in stride(from: 2, to: kept.count, by: 2) {
                if ASCII.equals(arguments[position], "requirepass") { redact(position + 1) }
            }
        }
        return kept
    }

    private static let redactedText = Array("(redacted)".utf8)[...]

    /// The newest `count` entries, newest first.
    func newest(_ count: Int) -> [Entry] {
        state.withLock { Array($0.entries.suffix(count).reversed()) }
    }

    /// Entries held.
    var count: Int { state.withLock { $0.entries.count } }

    /// Forgets every entry (SLOWLOG RESET); ids go on from where they were, as in Redis.
    func reset() {
        state.withLock { $0.entries.removeAll() }
    }

    /// The monotonic clock in nanoseconds, for timing a command.
    @inline(__always)
    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }
}
