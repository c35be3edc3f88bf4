/// A slow, lossy logging channel between the nodes, and how a run made it: netem where the kernel has it, the fault
/// proxy where it does not.
///
/// netem delays and drops packets on each node's veth (`Topology.setNetem`): real loss, which TCP repairs by
/// retransmitting. Without netem the channel crosses one `FaultProxy` per node in the clients namespace, delaying
/// each chunk `oneWayDelay`. A TCP proxy cannot lose a packet (it sees a byte stream the kernels already repaired),
/// so it emulates what a loss costs above TCP instead: every `stallEveryChunks`-th chunk waits `stall` longer and
/// the chunks behind it wait with it, as bytes behind a lost segment wait for its retransmission. `stall` is a few
/// round trips, about what a tail-loss probe takes to repair a loss at this round trip, and far under the nodes'
/// 300 ms silence timeout: a stall slows the pair, it does not end it. Not emulated: TCP's own retransmission and
/// congestion-window cuts, and loss on the clients' and etcd's paths.
struct SlowLink: Sendable {
    var oneWayDelay = Duration.milliseconds(5)
    /// netem's loss, in percent of packets.
    var lossPercent = 1.0
    /// The proxy's stand-in for loss.
    var stall = Duration.milliseconds(40)
    var stallEveryChunks = 100

    /// The least time a write's ack can take: the entry crosses the link to the backup and its ack crosses back.
    var roundTrip: Duration { oneWayDelay * 2 }

    var proxyMode: FaultProxy.Mode {
        .delayWithStalls(oneWayDelay, stall: stall, everyChunks: stallEveryChunks)
    }

    /// Which way a run slowed the link.
    enum Path: Sendable, CustomStringConvertible {
        case netem
        /// netem refused (tc's answer), so the channel crosses fault proxies.
        case faultProxy(netemRefusal: String)

        var description: String {
            switch self {
            case .netem: "netem on the nodes' veths"
            case .faultProxy(let refusal): "fault proxies in the clients namespace (no netem: \(refusal))"
            }
        }
    }
}
