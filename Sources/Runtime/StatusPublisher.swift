import Posix
import Replication

/// The node's status for its two kinds of readers: this round's requests, and other threads.
///
/// Requests are routed by the status (a backup names the primary, INFO shows it), many times a round; computing
/// it from the core costs more than a request, so it is computed at most once a round (and again after a role
/// change) and handed around as a `StatusSnapshot`. Its counters and the machine's statistics cost more still and
/// few requests read them (INFO, a memory limit): they are computed when first read in the round. Other threads
/// (tests, `lockstep status`, the benchmark) read it through `RuntimeShared`, under a lock: it is published at most
/// every `publishIntervalNanoseconds`, at once after a role change, and never more often than the loop has something
/// new to show. That bound is what a status reader can tolerate being behind; publishing every round would cost a
/// large share of a request.
final class StatusPublisher {
    /// How old the published status may be: a millisecond behind is fresh enough for a reader on another thread.
    static var publishIntervalNanoseconds: UInt64 { 1_000_000 }

    /// A status handed around by reference: a `NodeStatus` read out of a class property is copied, retaining
    /// each of its strings and its counters, and parsing reads it once per client read.
    final class StatusSnapshot {
        let status: NodeStatus

        init(_ status: NodeStatus) { self.status = status }

        /// `body`'s result on the status, read in place: `snapshot.status` outside would copy it.
        func withStatus<Result>(_ body: (borrowing NodeStatus) -> Result) -> Result { body(status) }
    }

    let shared: RuntimeShared
    private let loop: EventLoop
    private let counters: CounterStore
    private let channels: ChannelPort
    /// The core's status; the driver owns the core, so it sets this once.
    var coreStatus: () -> NodeStatus = { preconditionFailure("the driver sets StatusPublisher.coreStatus first") }
    /// Open client connections and the machine's statistics, both constant-time reads the driver wires up.
    var openClientConnections: () -> Int = { 0 }
    var machineStatistics: () -> [String: UInt64] = { [:] }
    /// `NodeCore.machineRevision`: the machine's statistics are recomputed only when it moves (or the role changes).
    var machineRevision: () -> UInt64? = { nil }

    /// The status as of this round (or the last role change in it); nil until first needed in a round.
    private var cachedStatus: StatusSnapshot?
    /// The machine's statistics as of a revision: a round of reads changes nothing, and building them costs as much
    /// as a dozen requests.
    private var machineStatisticsCache: (revision: UInt64, figures: [String: UInt64])?
    private var publishedAt: UInt64 = 0
    private var publishedCounters = RuntimeCounters()
    /// Whether the core has handled an event since the last publication (its status may have changed).
    var hasUnpublishedEvents = false
    private var isPublishDue = false
    private var isPublishTimerArmed = false
    /// The exit published its last status: a publication queued before it does nothing.
    private var isClosed = false

    init(shared: RuntimeShared, channels: ChannelPort, counters: CounterStore, loop: EventLoop) {
        self.shared = shared
        self.channels = channels
        self.counters = counters
        self.loop = loop
    }

    // MARK: Routing status (loop thread)

    /// The status requests are routed by this round: the core's, plus recent counters.
    var routingStatus: StatusSnapshot {
        if let cachedStatus { return cachedStatus }
        var status = coreStatus()
        status.openClientConnections = openClientConnections()
        // Fresh when read: a client that writes and then asks INFO must see its keys.
        status.computeFigures(
            counters: { [unowned self] in currentCounters().dictionary },
            machineStatistics: { [unowned self] in currentMachineStatistics() })
        let snapshot = StatusSnapshot(status)
        cachedStatus = snapshot
        return snapshot
    }

    private func currentMachineStatistics() -> [String: UInt64] {
        let revision = machineRevision()
        if let revision, let cache = machineStatisticsCache, cache.revision == revision { return cache.figures }
        let figures = machineStatistics()
        machineStatisticsCache = revision.map { ($0, figures) }
        return figures
    }

    /// At the end of each round, and when the node starts exiting: the next request sees what changed.
    func forgetRoutingStatus() {
        cachedStatus = nil
    }

    /// The core changed role: requests from now on are routed by the new status, and it is published this round.
    func roleChanged() {
        cachedStatus = nil
        machineStatisticsCache = nil  // a new core counts its revisions afresh
        isPublishDue = true
    }

    /// The running totals as of now, for a metrics scrape: like INFO's, with the channels' latest figures counted.
    func currentCounters() -> RuntimeCounters {
        channels.countStatistics()
        return counters.values
    }

    // MARK: Publication

    /// Publishes this round after a role change or when the last publication is `publishIntervalNanoseconds` old
    /// (after the round's writes, which carry requests and replies: publishing is nobody's critical path);
    /// otherwise makes sure a timer publishes by then, so an idle loop's last changes are not left unpublished.
    func publishWhenDue() {
        // Nothing new: no timer either, or an idle loop would publish (and wake) once a millisecond forever.
        guard isPublishDue || hasUnpublishedEvents || counters.values != publishedCounters else { return }
        let elapsed = monotonicNanoseconds() &- publishedAt
        if isPublishDue || elapsed >= Self.publishIntervalNanoseconds {
            loop.runAfterRound { [unowned self] in
                guard !isClosed else { return }
                publish()
            }
            return
        }
        guard !isPublishTimerArmed else { return }
        isPublishTimerArmed = true
        loop.schedule(at: publishedAt &+ Self.publishIntervalNanoseconds) { [unowned self] in
            guard !isClosed else { return }
            isPublishTimerArmed = false
            publish()
        }
    }

    /// Publishes the status for other threads (and the channel counters it includes).
    func publish() {
        channels.countStatistics()
        var status = cachedStatus?.status ?? coreStatus()
        // Values, not closures, cross to other threads. The counters go beside the status (`NodeRuntime.status`).
        status.counters = [:]
        status.machineStatistics = status.machineStatistics
        let counters = counters.values
        shared.published.withLock { $0 = RuntimeShared.Published(status: status, counters: counters) }
        publishedAt = monotonicNanoseconds()
        isPublishDue = false
        hasUnpublishedEvents = false
        publishedCounters = counters
    }

    /// The exit's last publication, before the loop stops.
    func publishLast() {
        isClosed = true
        publish()
    }

    /// After the loop returned: the core's final status, or "crashed" if `crash()` stopped it.
    func publishAfterLoop() {
        var status = coreStatus()
        if shared.isCrashed.load(ordering: .acquiring) {
            status.role = .stopped
            status.reason = "crashed"
        }
        let counters = counters.values
        shared.published.withLock { $0 = RuntimeShared.Published(status: status, counters: counters) }
    }
}
