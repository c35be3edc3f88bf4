import Arbiter
import Durability
import EtcdArbiter

/// `lockstep recover`: the operator's way out when the other node is gone for good and this one cannot prove by
/// itself that it holds every acknowledged write.
///
/// It vouches for this node's disk as if it had been the protecting backup in the arbiter's current epoch (a
/// `protecting` marker), so the node, started as usual, goes live from it once it finds no primary to join. What
/// the other node acknowledged beyond this disk is then lost; the command prints what it can see of that gap and
/// writes nothing without `--accept-data-loss`.
enum RecoverCommand {
    static let help = """
        Usage: lockstep recover --data-dir DIR --arbiter DIR|etcd://HOST:PORT[,HOST:PORT...]/PREFIX
                                [--accept-data-loss]

        After both nodes failed, a restarted node goes live from its own disk only if the disk proves it
        holds every acknowledged write (it owned the arbiter's current epoch, or protected its primary in
        it). When the node that could prove it is gone for good, this command lets the node over DIR go
        live from what it has: it prints what this disk holds, what the arbiter says, and what may be lost,
        and with --accept-data-loss marks the disk so that the node, started again with its usual command,
        goes live from it (unless it finds a live primary to join, which keeps everything).

        Run it only while the node over DIR is stopped (its data directory's lock says so otherwise).

        Options:
          --data-dir DIR       the node's data directory (required)
          --arbiter VALUE      the node's arbiter: a shared directory or an etcd location (required)
          --accept-data-loss   write the mark; without it, nothing is changed
          -h, --help           show this help

        \(ExitCode.helpText)
        """

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        let arguments = try Arguments(
            words, command: "recover", valued: ["--data-dir", "--arbiter"], switches: ["--accept-data-loss"])
        if arguments.wantsHelp {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        let path = try arguments.required("--data-dir")
        let arbiterValue = try arguments.required("--arbiter")
        let arbiter: any Arbiter
        if let location = try ArbiterChoice.etcdLocation(arbiterValue) {
            arbiter = EtcdArbiter(location: location)
        } else {
            arbiter = DirectoryArbiter(directory: arbiterValue)
        }
        let record: EpochRecord
        do {
            guard let current = try arbiter.current() else {
                throw CommandError.failure(
                    "the arbiter holds no epoch: nothing was ever served under it, so there is no epoch to recover "
                        + "into; a node over \(path) that holds data waits rather than start a new cluster over it")
            }
            record = current
        } catch let error as CommandError {
            throw error
        } catch {
            throw .failure("cannot read the arbiter: \(error)")
        }
        do {
            let directory = try DataDirectory(path: path)
            let (summary, _) = try LogRecovery.scan(directory)
            let snapshot = try SnapshotFile.latest(in: directory)
            let markers = DurableMarkers(directory)
            var owned: UInt64?, protecting: UInt64?
            if case .ownedEpoch(let epoch, _) = try markers.read(.ownedEpoch) { owned = epoch }
            if case .protecting(let epoch, _) = try markers.read(.protecting) { protecting = epoch }
            let lastSequence = summary.lastSequence.map { max($0, snapshot?.sequence ?? 0) } ?? snapshot?.sequence
            let lastEpoch = max(summary.lastEpoch ?? 0, snapshot?.epoch ?? 0)
            guard let lastSequence else {
                throw CommandError.failure("\(path) holds no state: there is nothing to recover from")
            }
            var report = "this node's disk (\(path)) holds every entry through \(lastSequence), the last of epoch "
                + "\(lastEpoch)"
            report += owned.map { "; it owned epoch \($0)" } ?? ""
            report += protecting.map { "; it protected its primary in epoch \($0)" } ?? ""
            report += "\nthe arbiter is at epoch \(record.epoch), taken by node \(record.claim.nodeName)\n"
            if owned == record.epoch || protecting == record.epoch {
                writeStandardOutput(report + "this disk already proves it holds every acknowledged write; start the "
                    + "node as usual and it recovers by itself\n")
                return ExitCode.success
            }
            report += lastEpoch < record.epoch
                ? "lost if you go on: whatever was acknowledged in epochs \(lastEpoch + 1)...\(record.epoch) (this "
                    + "disk has none of them), and in epoch \(lastEpoch) after entry \(lastSequence)\n"
                : "lost if you go on: whatever epoch \(record.epoch) acknowledged after entry \(lastSequence)\n"
            guard arguments.contains("--accept-data-loss") else {
                writeStandardOutput(report + "nothing changed: run again with --accept-data-loss to go live from this "
                    + "disk\n")
                return ExitCode.failure
            }
            try markers.write(.protecting(epoch: record.epoch, fromSequence: lastSequence + 1))
            writeStandardOutput(report + "marked: start the node as usual; finding no live primary, it takes epoch "
                + "\(record.epoch + 1) from this disk\n")
            return ExitCode.success
        } catch let error as CommandError {
            throw error
        } catch {
            throw .failure("\(error)")
        }
    }
}
