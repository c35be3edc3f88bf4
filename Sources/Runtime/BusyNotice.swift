/// When a node warns its peer of a long step ahead (`ChannelConnection.announceBusy`), and for how long.
///
/// A node's loop does everything in turn, so work in proportion to one large request (parsing it, executing it,
/// hashing its value into the digest, copying it into its entry and its frames) keeps the loop from sending
/// heartbeats for that long; at hundreds of megabytes, for longer than the silence timeout. Without a notice the
/// peer would take that silence for a crash and fail over, or drop its backup. Only the time hangs take to detect
/// grows, and only during such a step: a crashed peer's channel still closes at once.
enum BusyNotice {
    /// Requests, or entries to replay, this large or larger in one step are announced.
    static let thresholdBytes = 1 << 20
    /// What the notice excuses per mebibyte: well above what a mebibyte costs the loop, even in a debug build.
    static let allowancePerMebibyte: Duration = .milliseconds(50)

    /// The silence to excuse ahead of a step over `bytes`.
    static func allowance(forBytes bytes: Int) -> Duration {
        allowancePerMebibyte * ((bytes >> 20) + 1)
    }
}
