/// Why a subcommand did not finish, and which exit code says so.
///
/// Two kinds only, so a script can tell "you called it wrong" (fix the command line) from "it ran and failed"
/// (look at the log): the exit codes every `--help` documents.
enum CommandError: Error, Equatable, CustomStringConvertible {
    /// The command line is wrong: an unknown or repeated flag, a missing or malformed value. Exit code 2.
    case usage(String)
    /// The command line was fine but the work failed: a busy port, an unreachable node, an arbiter error.
    /// Exit code 1.
    case failure(String)

    var description: String {
        switch self {
        case .usage(let message), .failure(let message): message
        }
    }

    var exitCode: Int32 {
        switch self {
        case .usage: ExitCode.usage
        case .failure: ExitCode.failure
        }
    }
}

/// The exit codes of every subcommand.
enum ExitCode {
    /// Done, or stopped cleanly on SIGTERM/SIGINT.
    static let success: Int32 = 0
    /// A runtime failure: busy port, missing arbiter directory, unreachable node, a node that stopped itself.
    static let failure: Int32 = 1
    /// A usage error: bad flag or value; nothing was started.
    static let usage: Int32 = 2

    /// The paragraph each `--help` ends with.
    static let helpText = """
        Exit codes:
          0  success (for node and pair: stopped cleanly after SIGTERM or Ctrl-C)
          1  runtime failure (busy port, arbiter error, unreachable node, node stopped by itself)
          2  usage error (unknown flag, missing or malformed value); nothing was started
        """
}
