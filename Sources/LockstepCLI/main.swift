import Glibc

// The `lockstep` command: dispatch to a subcommand and turn its outcome into an exit code. Everything else lives
// in one file per subcommand.
exit(Lockstep.main(Array(CommandLine.arguments.dropFirst())))
