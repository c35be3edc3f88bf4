/// Decides who may go live: a test-and-set "live" flag per epoch (DESIGN, protocol 4).
///
/// Taking epoch `e` succeeds for exactly one caller, ever. A node goes live only on a `.granted`
/// answer; an error means "unknown", and an unknown answer never lets anyone go live. This is a
/// protocol so that an arbiter on a coordination service (etcd) can replace the shared directory.
public protocol Arbiter: Sendable {
    /// The highest epoch taken so far and who took it; `nil` for an arbiter nobody has used yet.
    func current() throws(ArbiterError) -> EpochRecord?

    /// Tries to take `epoch` for `claim`. Refuses (`.lost`) an epoch lower than or equal to one
    /// already taken, naming the record that beat it.
    func take(epoch: UInt64, for claim: Claim) throws(ArbiterError) -> TakeResult
}

/// Who asks for an epoch: enough for the other node and for operators to find the winner.
public struct Claim: Equatable, Sendable, Codable {
    /// The node's name, as operators and logs know it; it identifies the claimant, it does not make one.
    public var nodeName: String
    /// The logging-channel address a joining node should dial.
    public var channelAddress: String
    /// The Redis-protocol address clients should use.
    public var clientAddress: String

    /// Creates a claim from the node's name and the addresses other nodes and clients should use to reach it.
    public init(nodeName: String, channelAddress: String, clientAddress: String) {
        self.nodeName = nodeName
        self.channelAddress = channelAddress
        self.clientAddress = clientAddress
    }
}

/// One taken epoch: who took it and when.
public struct EpochRecord: Equatable, Sendable, Codable {
    /// The epoch that was taken; epochs count up from 1.
    public var epoch: UInt64
    /// The node that took the epoch and where to reach it.
    public var claim: Claim
    /// Wall-clock time of the take, milliseconds since the Unix epoch; for people, not for decisions.
    public var takenAtMilliseconds: Int64

    /// Creates a record of `claim` taking `epoch` at `takenAtMilliseconds` (milliseconds since the Unix epoch).
    public init(epoch: UInt64, claim: Claim, takenAtMilliseconds: Int64) {
        self.epoch = epoch
        self.claim = claim
        self.takenAtMilliseconds = takenAtMilliseconds
    }
}

/// The arbiter's answer to a take: granted to the caller, or lost to the record that owns the epoch.
///
/// Both outcomes are definite; an arbiter that cannot tell throws `ArbiterError` instead, so "unknown" is never
/// mistaken for either.
public enum TakeResult: Equatable, Sendable {
    /// The caller owns the epoch and may go live in it.
    case granted(EpochRecord)
    /// Someone else owns this epoch or a later one; the caller must not go live.
    case lost(to: EpochRecord)
}
