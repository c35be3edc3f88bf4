/// The state checker: one canonical history of state digests, and every node's state held against it.
///
/// Modelled on TigerBeetle's state checker. `digests[s]` is the digest of the state after entry `s` of the live
/// history, recorded from whichever node is first seen holding it; after every event a node handles, the
/// simulation hands over that node's digest at its applied sequence, and a different digest at a recorded
/// sequence is a divergence. The state is a function of the sequence alone (every change to it is an entry), so it
/// does not matter that a node is seen only between events, after a whole batch: each sighting is a point on the
/// one history, and any two sightings at one sequence must agree.
///
/// **Where a history may fork, and the rule.** One history can legitimately split in exactly one way. A primary
/// that lost its backup keeps executing while it asks the arbiter for the next epoch (it releases nothing), and a
/// primary that is paused or cut off keeps its entries; meanwhile the backup may win that epoch and go live holding
/// entries only through sequence `L`, its last received. The new primary's entries after `L` differ from the old
/// primary's, and the old primary, once it hears the arbiter, stops and drops its state. So:
///
/// - A node's *line* is the epoch its state follows: the epoch it serves, or, for a backup, the epoch of the primary
///   that sent its checkpoint and entries (`NodeStatus.epoch` in both cases). A primary that keeps its own state
///   into a new epoch (it won the arbiter itself) continues its line; nothing forks.
/// - When a backup goes live at epoch `E` holding entries through `L`, every line older than `E` shares the live
///   history only through `L`: the recorded digests after `L` are dropped (they came from the old primary's dead
///   branch), and a node on an older line is neither compared nor recorded past `L`. At or before `L` it is still
///   compared: the new primary holds exactly what the old one sent, so their states there must agree.
///
/// A node rejoining from a checkpoint holds the state at the checkpoint's sequence on the line of the primary that
/// sent it; it is compared there like any other sighting.
struct StateChecker {
    /// A node's state that disagrees with the history.
    struct Divergence: Equatable {
        var sequence: UInt64
        var expected: UInt64
        var actual: UInt64
    }

    /// `digests[s]`: the state after entry `s` on the live history; nil where no node has been seen at `s`.
    private var digests: [UInt64?] = []
    /// Every backup that went live: at `epoch`, holding entries through `sequence`. Epochs increase along it.
    private var goLives: [(epoch: UInt64, sequence: UInt64)] = []

    /// The last sequence that line `epoch` shares with the live history (`.max` for the live line).
    func sharedThrough(line epoch: UInt64) -> UInt64 {
        var shared = UInt64.max
        for goLive in goLives.reversed() {
            guard goLive.epoch > epoch else { break }
            shared = min(shared, goLive.sequence)
        }
        return shared
    }

    /// A backup went live at `epoch` holding entries through `sequence`: the history continues from there.
    mutating func backupWentLive(epoch: UInt64, holdingThrough sequence: UInt64) {
        goLives.append((epoch, sequence))
        let kept = Int(sequence) + 1
        if digests.count > kept { digests.removeSubrange(kept...) }
    }

    /// Holds a node's state against the history: records it if nobody was seen at `sequence` yet, and returns the
    /// divergence if the history says otherwise. A node on a dead branch past its fork is ignored.
    mutating func observe(line: UInt64, sequence: UInt64, digest: UInt64) -> Divergence? {
        guard sequence <= sharedThrough(line: line) else { return nil }
        let index = Int(sequence)
        if index >= digests.count { digests.append(contentsOf: repeatElement(nil, count: index + 1 - digests.count)) }
        guard let expected = digests[index] else {
            digests[index] = digest
            return nil
        }
        return expected == digest ? nil : Divergence(sequence: sequence, expected: expected, actual: digest)
    }
}
