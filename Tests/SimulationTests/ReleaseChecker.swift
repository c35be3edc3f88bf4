/// The output checker: at most one node releases replies per epoch, and release epochs never go back.
///
/// Together these are "two primaries never exist" as a client could notice it: whoever releases output in an
/// epoch owns it, and once output left in a newer epoch, an older epoch's owner has been superseded and must stay
/// silent (DESIGN 4). The epoch is the releasing node's own at the moment it releases.
struct ReleaseChecker {
    private var releasingNodeByEpoch: [UInt64: Int] = [:]
    private var highestReleasedEpoch: UInt64 = 0

    /// Node `node` released replies in `epoch`; returns what that breaks.
    mutating func released(by node: Int, epoch: UInt64) -> [String] {
        var found: [String] = []
        if let other = releasingNodeByEpoch[epoch], other != node {
            found.append("n\(node) and n\(other) both released output in epoch \(epoch)")
        }
        releasingNodeByEpoch[epoch] = node
        if epoch < highestReleasedEpoch {
            found.append("n\(node) released in epoch \(epoch) after output left in epoch \(highestReleasedEpoch)")
        }
        highestReleasedEpoch = max(highestReleasedEpoch, epoch)
        return found
    }
}
