import Arbiter
import EtcdArbiter

/// `lockstep arbiter show|reset --arbiter DIR`: the operator's view of, and only way to restart, the epochs.
///
/// A node never reuses an epoch, so a brand-new cluster over an old arbiter directory would be refused at
/// epoch 1. Retiring the old records must be a deliberate act, because doing it under a running primary is
/// exactly how two primaries would come to exist: hence a separate subcommand with a warning, not a `node` flag.
enum ArbiterCommand {
    static let help = """
        Usage: lockstep arbiter show  --arbiter DIR|etcd://HOST:PORT[,HOST:PORT...]/PREFIX
               lockstep arbiter reset --arbiter DIR   (etcd: not yet)

        show   prints the highest epoch taken in the arbiter directory and who took it.
        reset  starts a new cluster over an old arbiter directory: it moves every epoch record into a new
               folder DIR/retired-<unix ms>/ (nothing is deleted), so the next node to start takes epoch 1.
               It also clears a corrupt record, which otherwise keeps its epoch taken forever.

               Run reset only when NO node that uses DIR is running. A live primary keeps its epoch, and a
               new node would take epoch 1 again beside it: two primaries. `lockstep pair --fresh` runs reset
               itself (and moves the nodes' data aside), because a new cluster starts from nothing.

        Options:
          --arbiter DIR  the shared arbiter directory (required)
          -h, --help     show this help

        \(ExitCode.helpText)
        """

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        guard let action = words.first, !action.hasPrefix("-") else {
            let arguments = try Arguments(words, command: "arbiter", valued: ["--arbiter"])
            if arguments.wantsHelp {
                writeStandardOutput(help + "\n")
                return ExitCode.success
            }
            throw .usage("name an action: lockstep arbiter show --arbiter DIR, or lockstep arbiter reset --arbiter DIR")
        }
        let arguments = try Arguments(Array(words.dropFirst()), command: "arbiter \(action)", valued: ["--arbiter"])
        if arguments.wantsHelp {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        let value = try arguments.required("--arbiter")
        if let location = try ArbiterChoice.etcdLocation(value) {
            switch action {
            case "show":
                return try show(EtcdArbiter(location: location), describing: "\(location)")
            case "reset":
                throw .failure(
                    "lockstep arbiter reset does not support etcd yet; with no node running, delete the records "
                        + "with `etcdctl del --prefix \(location.prefix)/epoch/`")
            default:
                throw .usage("unknown arbiter action \"\(action)\"; use show or reset")
            }
        }
        let arbiter = DirectoryArbiter(directory: value)
        switch action {
        case "show":
            return try show(arbiter)
        case "reset":
            return try reset(arbiter)
        default:
            throw .usage("unknown arbiter action \"\(action)\"; use show or reset")
        }
    }

    static func show(_ arbiter: DirectoryArbiter) throws(CommandError) -> Int32 {
        try show(arbiter, describing: arbiter.directory)
    }

    /// Prints the highest record of any arbiter; `place` names where it lives (a directory, an etcd location).
    static func show(_ arbiter: some Arbiter, describing place: String) throws(CommandError) -> Int32 {
        do {
            guard let record = try arbiter.current() else {
                writeStandardOutput("no epoch taken yet in \(place); the first node to start takes epoch 1\n")
                return ExitCode.success
            }
            let takenAt = LogLine.isoTimestamp(wallClockNanoseconds: record.takenAtMilliseconds &* 1_000_000)
            writeStandardOutput(
                "epoch \(record.epoch) taken by node \(record.claim.nodeName) at \(takenAt): clients "
                    + "\(record.claim.clientAddress), logging channel \(record.claim.channelAddress)\n")
            return ExitCode.success
        } catch {
            throw .failure(error.description)
        }
    }

    static func reset(_ arbiter: DirectoryArbiter) throws(CommandError) -> Int32 {
        LogLine.write(
            "arbiter",
            "warning: resetting \(arbiter.directory); no node that uses it may be running, or two primaries "
                + "could exist (a live primary keeps its epoch while a new node takes epoch 1 again)")
        let retired = try retire(arbiter)
        if let retired {
            writeStandardOutput("retired the old epoch records to \(retired); the next node to start takes epoch 1\n")
        } else {
            writeStandardOutput("no epoch records in \(arbiter.directory); nothing to retire\n")
        }
        return ExitCode.success
    }

    /// `DirectoryArbiter.reset()` with its error as a runtime failure; the folder the records went to, if any.
    static func retire(_ arbiter: DirectoryArbiter) throws(CommandError) -> String? {
        do {
            return try arbiter.reset()
        } catch {
            throw .failure("cannot reset the arbiter: \(error)")
        }
    }
}
