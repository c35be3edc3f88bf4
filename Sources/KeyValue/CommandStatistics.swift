import Synchronization

/// What this node executed, per command and per error: Redis 7.0's `INFO commandstats`, `INFO errorstats` and
/// `INFO latencystats`, and `total_error_replies` in `INFO stats`; `CONFIG RESETSTAT` clears them.
///
/// Node-local, like the slow log that holds it (`SlowLog.commandStatistics`): nothing replicated depends on it. A
/// node counts what its store applies and what its client protocol answers or refuses itself, so a backup counts
/// the commands it replays from the log, as a Redis replica counts what its master sends, plus its own clients'
/// local commands and refusals. Per command, as Redis defines them:
/// - `calls`: times it ran, and `usec` the microseconds it ran for; a blocking pop counts once, when it is applied.
/// - `failed_calls`: it ran and answered an error (WRONGTYPE, an AUTH with a wrong password, EXEC after EXECABORT).
/// - `rejected_calls`: refused before running: wrong arity, NOAUTH, READONLY on a backup, a refusal while queueing
///   inside MULTI, or in subscribed mode.
/// Every error reply counts once in `total_error_replies` and under its prefix (`errorstat_ERR`); an unknown command
/// or subcommand has no counters of its own, only its error, as in Redis. While `latency-tracking` is on (Redis's
/// default), every call's time also goes into its command's `LatencyHistogram`, whose percentiles INFO latencystats
/// shows: the same calls and the same timings as `calls` and `usec`.
///
/// The counters are arrays indexed by a slot: a data command's position in `DataCommand.allCases`, then the local
/// commands', then the subcommands Redis names apart (`client|id`); so counting costs no hashing, and the memory is
/// bounded by the command table: a histogram per command called, `LatencyHistogram.byteCount` each, at most one per
/// slot. Error prefixes are at most `errorPrefixesLimit`. One mutex covers the counters: the
/// store and the protocol note into it from the loop thread, and INFO reads it.
public final class CommandStatistics: Sendable {
    /// Distinct error prefixes kept, Redis's `ERROR_STATS_NUMBER`. Past it, as Redis 7.2 does, the prefixes are
    /// replaced by `errorStatsDisabledPrefix` (count 1) and no more are counted by prefix until `CONFIG RESETSTAT`;
    /// `total_error_replies` goes on counting. A prefix is at most 31 bytes, so the table stays under a few KiB.
    public static let errorPrefixesLimit = 128
    /// The one prefix shown once `errorPrefixesLimit` was passed.
    static let errorStatsDisabledPrefix = Array("ERRORSTATS_DISABLED".utf8)

    /// One command's counters.
    struct Figures: Sendable, Equatable {
        /// Times it ran (`calls`).
        var calls: UInt64 = 0
        /// What those runs took in all; INFO shows it in microseconds (`usec`).
        var nanoseconds: UInt64 = 0
        /// Times it was refused before running (`rejected_calls`).
        var rejectedCalls: UInt64 = 0
        /// Times it ran and answered an error (`failed_calls`).
        var failedCalls: UInt64 = 0
        /// What its calls took, while `latency-tracking` was on; allocated on the first such call.
        var latencies = LatencyHistogram()
    }

    /// `latency-tracking-info-percentiles`' default, Redis's.
    static let defaultPercentiles: [Double] = [50, 99, 99.9]

    /// The command a store is applying, noted when it starts and counted once timed (`KeyValueStore.applyTimed`).
    struct Execution: Sendable {
        /// Nil for a subcommand Redis would not know: only its error counts.
        var slot: Int?
        /// Counted already: the command is done, and what runs before the next one starts is not a call.
        var isCounted = false
    }

    private struct State {
        var figures = [Figures](repeating: Figures(), count: CommandStatistics.names.count)
        /// Prefix and count, in the order first seen; at most `errorPrefixesLimit`.
        var errors: [(prefix: [UInt8], count: UInt64)] = []
        var isErrorTrackingDisabled = false
        var totalErrorReplies: UInt64 = 0
        /// `latency-tracking`: settings, which CONFIG RESETSTAT keeps.
        var isLatencyTracking = true
        /// `latency-tracking-info-percentiles`, each within 0...100, in the order given; at most what one CONFIG SET
        /// value holds.
        var percentiles = CommandStatistics.defaultPercentiles
    }

    private let state = Mutex(State())

    /// Nothing counted yet.
    public init() {}

    // MARK: Slots

    /// The subcommands Redis 7.0 counts apart, by container: the containers Lockstep answers. A subcommand not listed
    /// is one Redis would not know either, whose error counts with no command, as Redis's "unknown subcommand" does.
    static let subcommands: [(container: String, names: [String])] = [
        ("client", ["caching", "getname", "getredir", "help", "id", "info", "kill", "list", "no-evict", "pause",
            "reply", "setname", "tracking", "trackinginfo", "unblock", "unpause"]),
        ("command", ["count", "docs", "getkeys", "getkeysandflags", "help", "info", "list"]),
        ("config", ["get", "help", "resetstat", "rewrite", "set"]),
        ("function", ["delete", "dump", "flush", "help", "kill", "list", "load", "restore", "stats"]),
        ("memory", ["doctor", "help", "malloc-stats", "purge", "stats", "usage"]),
        ("object", ["encoding", "freq", "help", "idletime", "refcount"]),
        ("pubsub", ["channels", "help", "numpat", "numsub", "shardchannels", "shardnumsub"]),
        ("script", ["debug", "exists", "flush", "help", "kill", "load"]),
        ("sentinel", ["ckquorum", "config", "debug", "failover", "flushconfig", "get-master-addr-by-name", "help",
            "info-cache", "is-master-down-by-addr", "master", "masters", "monitor", "myid", "pending-scripts",
            "remove", "replicas", "reset", "sentinels", "set", "simulate-failure", "slaves"]),
        ("session", ["close", "exec", "help", "open"]),
        ("slowlog", ["get", "help", "len", "reset"]),
    ]

    private static let localBase = DataCommand.allCases.count
    private static let subcommandBase = localBase + KeyValueFrontend.LocalCommand.allCases.count

    /// Each slot's name as INFO shows it: `set`, `client|id`.
    static let names: [String] =
        DataCommand.allCases.map(\.rawValue) + KeyValueFrontend.LocalCommand.allCases.map(\.rawValue)
        + subcommands.flatMap { container in container.names.map { "\(container.container)|\($0)" } }

    /// No subcommand's name is longer (`get-master-addr-by-name`, 23 bytes).
    private static let subcommandBytesLimit = 32

    /// Where each container's subcommands start among the slots, in `subcommands`' order.
    private static let subcommandStarts: [Int] = {
        var starts: [Int] = []
        var next = subcommandBase
        for container in subcommands {
            starts.append(next)
            next += container.names.count
        }
        return starts
    }()

    /// The slot of the data command at `ordinal` in `DataCommand.allCases`.
    @inline(__always)
    static func slot(dataOrdinal ordinal: Int) -> Int { ordinal }

    /// The slot of the data command `command` as `arguments` (its whole request) call it: OBJECT and MEMORY by their
    /// subcommand; nil for a subcommand Redis would not know.
    @inline(__always)
    static func slot(_ command: DataCommand, ordinal: Int, arguments: CommandArguments) -> Int? {
        guard command == .object || command == .memory else { return ordinal }
        return arguments.count > 1 ? subcommandSlot(command.rawValue, arguments.bytes(at: 1)) : ordinal
    }

    /// The slot of the data command `command`, found by a scan: for the rarer paths that hold no ordinal.
    static func slot(_ command: DataCommand) -> Int {
        DataCommand.allCases.firstIndex(of: command)!  // every case is in allCases
    }

    /// The slot of the blocking pop `name`.
    static func slot(_ name: BlockingCommand.Name) -> Int {
        // DEBUG's subcommands share its slot, as Redis counts them.
        guard name != .debugSleep else { return slot(KeyValueFrontend.LocalCommand.debug, subcommand: nil)! }
        return slot(DataCommand(rawValue: name.rawValue)!)  // every blocking pop is a data command of the same name
    }

    /// GET's slot, for the read that spares GET even its name's lookup.
    static let getSlot = slot(DataCommand.get)

    /// The slot of the local command `command`, or of its `subcommand` for those Redis names apart; nil for a
    /// subcommand Redis would not know. A scan of the few dozen local commands: they are not the data path.
    static func slot(_ command: KeyValueFrontend.LocalCommand, subcommand: ArraySlice<UInt8>?) -> Int? {
        if command.hasSubcommands, let subcommand { return subcommandSlot(command.rawValue, subcommand) }
        return localBase + KeyValueFrontend.LocalCommand.allCases.firstIndex(of: command)!
    }

    /// The slot of the command a whole request names, subcommand included; nil for an unknown one. For refusals,
    /// which are off the hot path.
    static func slot(of arguments: CommandArguments) -> Int? {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return nil }
        if let (command, ordinal) = DataCommand.entry(name: name), command != .select {
            return slot(command, ordinal: ordinal, arguments: arguments)
        }
        guard let command = KeyValueFrontend.LocalCommand(name: name) else { return nil }
        return slot(command, subcommand: arguments.count > 1 ? arguments.bytes(at: 1) : nil)
    }

    private static func subcommandSlot(_ container: String, _ subcommand: ArraySlice<UInt8>) -> Int? {
        // Longer than any subcommand's name: spares copying a large argument (an ECHO-sized one) to compare it.
        guard subcommand.count <= subcommandBytesLimit else { return nil }
        guard let index = subcommands.firstIndex(where: { $0.container == container }) else { return nil }
        let lowered = String(decoding: ASCII.lowercased(Array(subcommand)), as: UTF8.self)
        guard let offset = subcommands[index].names.firstIndex(of: lowered) else { return nil }
        return subcommandStarts[index] + offset
    }

    // MARK: Counting

    /// Whether `reply` is an error reply.
    @inline(__always)
    static func isError(_ reply: some Collection<UInt8>) -> Bool {
        reply.first == UInt8(ascii: "-")
    }

    /// Notes that the command at `slot` ran for `nanoseconds` and answered `reply`: a failed call when that is an
    /// error. A nil slot (an unknown subcommand) counts only the error.
    func noteCall(_ slot: Int?, nanoseconds: UInt64, reply: some Collection<UInt8>) {
        let isFailed = Self.isError(reply)
        state.withLock { state in
            if let slot {
                Self.add(
                    call: nanoseconds, isFailed: isFailed, isLatencyTracking: state.isLatencyTracking,
                    to: &state.figures[slot])
            }
            if isFailed { Self.count(error: reply, in: &state) }
        }
    }

    /// `noteCall` for the reply at `offset` in `replies`, which may hold earlier replies: a slice of them, made on every
    /// read's path, would retain the array when the reply is not an error.
    func noteCall(_ slot: Int?, nanoseconds: UInt64, replyAt offset: Int, of replies: [UInt8]) {
        guard offset < replies.count, replies[offset] == UInt8(ascii: "-") else {
            guard let slot else { return }
            return state.withLock { state in
                Self.add(
                    call: nanoseconds, isFailed: false, isLatencyTracking: state.isLatencyTracking,
                    to: &state.figures[slot])
            }
        }
        noteCall(slot, nanoseconds: nanoseconds, reply: replies[offset...])
    }

    /// One access to the counters, so the array is checked for sharing once per call, on every read's path; the
    /// latency goes into the same slot's histogram.
    @inline(__always)
    private static func add(
        call nanoseconds: UInt64, isFailed: Bool, isLatencyTracking: Bool, to figures: inout Figures
    ) {
        figures.calls &+= 1
        figures.nanoseconds &+= nanoseconds
        if isFailed { figures.failedCalls &+= 1 }
        if isLatencyTracking { figures.latencies.record(nanoseconds: nanoseconds) }
    }

    /// Notes that the command at `slot` (nil: unknown) was refused with `reply` before it ran.
    func noteRejection(_ slot: Int?, reply: some Collection<UInt8>) {
        state.withLock { state in
            if let slot { state.figures[slot].rejectedCalls &+= 1 }
            if Self.isError(reply) { Self.count(error: reply, in: &state) }
        }
    }

    /// Notes that the command at `slot`, counted as a call earlier, ended in the error `reply` later: a blocking pop
    /// ended by `CLIENT UNBLOCK ... ERROR`.
    func noteLateFailure(_ slot: Int, reply: some Collection<UInt8>) {
        state.withLock { state in
            state.figures[slot].failedCalls &+= 1
            Self.count(error: reply, in: &state)
        }
    }

    /// Notes an error reply, sent `times` times, that belongs to no command: a protocol error, an unknown command,
    /// the runtime's refusals.
    func noteError(_ reply: some Collection<UInt8>, times: Int = 1) {
        guard Self.isError(reply), times > 0 else { return }
        state.withLock { Self.count(error: reply, times: UInt64(times), in: &$0) }
    }

    /// Counts one error reply under its prefix, as Redis's `afterErrorReply`: the word after the `-` when a space
    /// ends it within the first 32 bytes, `ERR` otherwise.
    private static func count(error reply: some Collection<UInt8>, times: UInt64 = 1, in state: inout State) {
        state.totalErrorReplies &+= times
        guard !state.isErrorTrackingDisabled else { return }
        let head = Array(reply.prefix(32))
        var prefix = Array("ERR".utf8)
        if let space = head.firstIndex(of: UInt8(ascii: " ")), space > 1 { prefix = Array(head[1..<space]) }
        if let index = state.errors.firstIndex(where: { $0.prefix == prefix }) {
            state.errors[index].count &+= times
            return
        }
        guard state.errors.count < errorPrefixesLimit else {
            state.errors = [(errorStatsDisabledPrefix, 1)]
            state.isErrorTrackingDisabled = true
            return
        }
        state.errors.append((prefix, times))
    }

    /// Forgets every count and latency (`CONFIG RESETSTAT`), and counts error prefixes again; the latency settings
    /// stay as they were.
    func reset() {
        state.withLock { state in
            var fresh = State()
            fresh.isLatencyTracking = state.isLatencyTracking
            fresh.percentiles = state.percentiles
            state = fresh
        }
    }

    // MARK: Latency settings

    /// `latency-tracking`: whether calls go into the histograms. Turned off, the histograms keep what they hold, and
    /// INFO latencystats shows only its title, as in Redis.
    var isLatencyTracking: Bool {
        get { state.withLock { $0.isLatencyTracking } }
        set { state.withLock { $0.isLatencyTracking = newValue } }
    }

    /// `latency-tracking-info-percentiles`: the percentiles INFO latencystats shows, in order.
    var percentiles: [Double] {
        get { state.withLock { $0.percentiles } }
        set { state.withLock { $0.percentiles = newValue } }
    }

    /// The percentiles of `text`, as Redis's CONFIG SET reads `latency-tracking-info-percentiles`: split at each
    /// space (so two spaces make an empty one, refused), each parsed as Redis's `string2d`; an empty text is none.
    /// Redis's reason when one is not a number or is outside 0...100.
    static func parsePercentiles(_ text: String) -> Result<[Double], PercentilesError> {
        guard !text.isEmpty else { return .success([]) }
        var percentiles: [Double] = []
        for part in text.utf8.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false) {
            guard let value = Score.parse(ArraySlice(part)) else { return .failure(.notNumber) }
            guard value >= 0, value <= 100 else { return .failure(.outOfRange) }
            percentiles.append(value)
        }
        return .success(percentiles)
    }

    /// Why a `latency-tracking-info-percentiles` value was refused; its description is Redis's reason.
    enum PercentilesError: Error, CustomStringConvertible {
        /// A percentile `string2d` refuses (an empty one between two spaces too), or one outside 0...100.
        case notNumber, outOfRange

        /// Redis's reason, which CONFIG SET puts after its `CONFIG SET failed` prefix.
        var description: String {
            switch self {
            case .notNumber: "Invalid latency-tracking-info-percentiles parameters"
            case .outOfRange: "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
            }
        }
    }

    /// `latency-tracking-info-percentiles` as CONFIG GET shows it: each as Redis prints it, space-separated.
    var percentilesText: String {
        percentiles.map(LatencyHistogram.percentileText).joined(separator: " ")
    }

    // MARK: Reading

    /// One slot's counters, for tests.
    func figures(_ name: String) -> Figures? {
        guard let slot = Self.names.firstIndex(of: name) else { return nil }
        return state.withLock { $0.figures[slot] }
    }

    /// Error replies counted since the start or the last reset (`total_error_replies`).
    var totalErrorReplies: UInt64 { state.withLock { $0.totalErrorReplies } }

    /// `cmdstat_<name>` lines for every command with a count, sorted by name (Redis's order is its hash table's).
    func commandLines() -> [(String, String)] {
        let figures = state.withLock { $0.figures }
        var lines: [(String, String)] = []
        for (slot, figure) in figures.enumerated()
        where figure.calls != 0 || figure.rejectedCalls != 0 || figure.failedCalls != 0 {
            let microseconds = figure.nanoseconds / 1_000
            let perCall = figure.calls == 0 ? 0 : Double(microseconds) / Double(figure.calls)
            lines.append((
                "cmdstat_\(Self.names[slot])",
                "calls=\(figure.calls),usec=\(microseconds),usec_per_call=\(Self.twoDecimals(perCall)),"
                    + "rejected_calls=\(figure.rejectedCalls),failed_calls=\(figure.failedCalls)"
            ))
        }
        return lines.sorted { $0.0 < $1.0 }
    }

    /// `latency_percentiles_usec_<name>` lines for every command whose histogram holds a call, sorted by name as
    /// `commandLines` are; none while `latency-tracking` is off, as in Redis.
    func latencyLines() -> [(String, String)] {
        let (figures, isTracking, percentiles) = state.withLock { ($0.figures, $0.isLatencyTracking, $0.percentiles) }
        guard isTracking else { return [] }
        var lines: [(String, String)] = []
        for (slot, figure) in figures.enumerated() where !figure.latencies.isEmpty {
            let name = "latency_percentiles_usec_\(Self.names[slot])"
            lines.append((name, figure.latencies.line(percentiles: percentiles)))
        }
        return lines.sorted { $0.0 < $1.0 }
    }

    /// `errorstat_<PREFIX>` lines in byte order of the prefixes, as Redis's radix tree gives them; `#`, `:`, CR
    /// and LF, which would break an INFO line, become `_` (Redis's `getSafeInfoString`).
    func errorLines() -> [(String, String)] {
        let errors = state.withLock { $0.errors }
        return errors.sorted { $0.prefix.lexicographicallyPrecedes($1.prefix) }.map { error in
            let safe = error.prefix.map { byte -> UInt8 in
                byte == UInt8(ascii: "#") || byte == UInt8(ascii: ":") || byte == 13 || byte == 10
                    ? UInt8(ascii: "_") : byte
            }
            return ("errorstat_\(String(decoding: safe, as: UTF8.self))", "count=\(error.count)")
        }
    }

    /// `value` as C's `%.2f` prints it.
    private static func twoDecimals(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let fraction = hundredths % 100
        return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}
