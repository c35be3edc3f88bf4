import Arbiter
import Replication

/// What a node restarting over its data directory found there: a whole state (a snapshot and the log after it, with
/// no gap) and the markers that say what that state is worth.
public struct RecoveredState<Machine> {
    /// The state after replaying every durable entry.
    public var machine: Machine
    /// The last entry `machine` reflects.
    public var sequence: UInt64
    /// The epoch of that entry (or of the snapshot, when the log after it is empty).
    public var epoch: UInt64
    /// The epoch this node last owned as primary, from its `owned-epoch` marker.
    public var ownedEpoch: UInt64?
    /// The epoch in which this node last protected a primary, from its `protecting` marker.
    public var protectingEpoch: UInt64?

    /// A recovered state; the markers are nil when their files are absent.
    public init(machine: Machine, sequence: UInt64, epoch: UInt64, ownedEpoch: UInt64?, protectingEpoch: UInt64?) {
        self.machine = machine
        self.sequence = sequence
        self.epoch = epoch
        self.ownedEpoch = ownedEpoch
        self.protectingEpoch = protectingEpoch
    }
}

/// The recovery rule: when may a node go live from its own disk after a restart?
///
/// **Rule.** Let E be the arbiter's current epoch. A node may take epoch E+1 from its disk if (a) the arbiter names
/// it the owner of E and its disk holds the `owned-epoch` marker for E, or (b) its disk holds the `protecting` marker
/// for E, or (c) the arbiter names it the owner of E and its disk holds the `owned-epoch` or `protecting` marker
/// for E-1 (it took E and died before its marker for E was durable). Any other node waits for a live primary to
/// bring it up to date.
///
/// **What the rule relies on** (with a data directory on both nodes):
/// 1. A primary releases a reply only once its own durable log holds the entry (`PrimaryCore.releasableThrough`).
/// 2. A backup acks only entries its durable log holds (`BackupCore.ack`).
/// 3. `owned-epoch` for E is durable before any entry of E counts as persisted: the runtime writes markers and
///    entries in the order the core gave them and reports `.persisted` only after everything queued before.
/// 4. `protecting` for E from entry s is written only after the snapshot of the installed checkpoint and the log
///    through s-1 are durable, and removed before that state is discarded (`DurableAction`).
/// 5. A node loads only a whole state: a snapshot and the log after it with no gap (the runtime refuses a torn
///    middle and treats a gap as no state).
///
/// **Proof that a node admitted by the rule holds every reply ever released.** By induction over epochs.
/// (a) The owner of E released each reply of E only once durable on its disk (1); the marker shows this disk is
/// the one it wrote in E (3). Replies of earlier epochs: it took E from an empty arbiter (there were none), or as
/// E-1's protecting backup (it acked, so held durably, every reply released while it protected (2), and the rest
/// came in its checkpoint), or as E-1's owner that lost its backup (its disk held them by induction), or by this
/// rule (by induction). (c) Without the marker for E it released nothing in E (3), and its marker for E-1 makes
/// the case of (a) or (b) for E-1. (b) The backup protecting in E from s holds entries before s in its snapshot and log (4);
/// every reply from s on was released only after its ack (the output rule), which it sent only once durable (2).
/// A later epoch than E would be at the arbiter; so would a lost protecting backup, since a primary that loses it
/// withholds everything until it takes E+1. Taking E+1 at the arbiter keeps two primaries impossible, as ever.
///
/// With `--fsync always` "durable" survives a power cut; with `everysec` or `no` it survives the process dying,
/// and a power cut may take what the kernel had not yet written out (as Redis's appendfsync).
extension NodeCore {
    /// Why `recovered` may go live under `record` (the arbiter's current epoch), or nil when it may not.
    func recoveryProof(under record: EpochRecord) -> String? {
        recovered.flatMap { recoveryProofText($0, under: record) }
    }

    func recoveryProofText(_ recovered: RecoveredState<Machine>, under record: EpochRecord) -> String? {
        let isOwner = record.claim.nodeName == configuration.nodeName
        if isOwner, recovered.ownedEpoch == record.epoch {
            return "this node owned epoch \(record.epoch) and persisted every entry before releasing its reply"
        }
        if isOwner, record.epoch > 1, recovered.ownedEpoch == record.epoch - 1 || recovered.protectingEpoch == record.epoch - 1 {
            // It took E and died before its marker for E was durable, so it released nothing in E (3); what it held
            // for E-1 is the whole story.
            return "this node took epoch \(record.epoch) but released nothing in it, and "
                + (recovered.ownedEpoch == record.epoch - 1
                    ? "owned epoch \(record.epoch - 1)" : "was the protecting backup in epoch \(record.epoch - 1)")
        }
        if recovered.protectingEpoch == record.epoch {
            return "this node was the protecting backup in epoch \(record.epoch) and acked only durable entries"
        }
        return nil
    }

    /// Why `recovered` (if any) may not go live under `record`: what the waiting node says.
    func recoveryRefusal(under record: EpochRecord) -> String {
        guard let recovered else { return "this node has no durable state" }
        let owned = recovered.ownedEpoch.map { "owned epoch \($0)" } ?? "owned no epoch"
        let protecting = recovered.protectingEpoch.map { "protected in epoch \($0)" } ?? "protected in no epoch"
        return "its disk (through sequence \(recovered.sequence)) cannot prove it holds every acknowledged write: "
            + "the arbiter is at epoch \(record.epoch) of \(record.claim.nodeName), and this node \(owned) and "
            + "\(protecting)"
    }

    /// A restarted node that may go live from its disk asks for the next epoch; the answer comes to `.starting`.
    mutating func recover(under record: EpochRecord, proof: String, into actions: inout [NodeAction]) {
        role = .starting
        recoveryEpoch = record.epoch + 1
        actions.append(.note("recovering from disk: \(proof); asking the arbiter for epoch \(record.epoch + 1)"))
        actions.append(.takeEpoch(record.epoch + 1))
    }
}
