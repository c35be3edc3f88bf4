/// The top level of `lockstep`: which subcommand, and how its errors become exit codes.
enum Lockstep {
    static let help = """
        Usage: lockstep <command> [options]

        Lockstep runs a deterministic service, here a Redis-protocol key-value store, on two nodes in
        lockstep: the primary ships every nondeterministic input to the backup over a logging channel and
        withholds each reply until the backup has acked it; a shared-directory arbiter decides who may go live.

        Commands:
          node     run one node (run the same command, with its own addresses, on each of two machines)
          pair     run both nodes on this machine, supervised: clients on ports 7000 and 7001
          status   show the role, epoch, log positions, lag and peer health of running nodes
          arbiter  show the arbiter's epochs, or reset them to start a new cluster
          recover  after both nodes failed and one is gone for good, let the other go live from its disk
          client   send commands to the pair, each applied exactly once across failovers

        Run `lockstep <command> --help` for a command's flags and defaults.

        \(ExitCode.helpText)
        """

    /// Runs the subcommand named by `words[0]` and returns the process's exit code.
    static func main(_ words: [String]) -> Int32 {
        guard let command = words.first else {
            writeStandardError(help + "\n")
            return ExitCode.usage
        }
        let rest = Array(words.dropFirst())
        do throws(CommandError) {
            switch command {
            case "node": return try NodeCommand.run(rest)
            case "pair": return try PairCommand.run(rest)
            case "status": return try StatusCommand.run(rest)
            case "arbiter": return try ArbiterCommand.run(rest)
            case "recover": return try RecoverCommand.run(rest)
            case "client": return try ClientCommand.run(rest)
            case "help", "-h", "--help":
                writeStandardOutput(help + "\n")
                return ExitCode.success
            default:
                throw .usage(
                    "unknown command \"\(command)\"; the commands are node, pair, status, arbiter, recover and client")
            }
        } catch {
            let name = ["node", "pair", "status", "arbiter", "recover", "client"].contains(command) ? "lockstep \(command)" : "lockstep"
            switch error {
            case .usage(let message):
                writeStandardError("\(name): \(message)\nRun `\(name) --help` for usage.\n")
            case .failure(let message):
                writeStandardError("\(name): \(message)\n")
            }
            return error.exitCode
        }
    }
}
