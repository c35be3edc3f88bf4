import Glibc
import LockstepClient
import Synchronization

/// `lockstep client ADDR... [-- COMMAND ARGS...]`: commands sent through `LockstepClient`, each applied exactly once
/// whatever fails over meanwhile; without a command, an interactive prompt like redis-cli's.
enum ClientCommand {
    static let help = """
        Usage: lockstep client HOST:PORT... [options] [-- COMMAND [ARG...]]

        Sends data commands to the pair's primary through the Lockstep client library: it finds the primary
        among the nodes given, opens a session, and applies each command exactly once, retrying it on the
        new primary if a failover happens meanwhile. Give every node's client address, e.g.

          lockstep client 127.0.0.1:7000 127.0.0.1:7001 -- INCR visits

        Without `-- COMMAND`, reads commands from standard input, one per line (words split as redis-cli
        does: "double" or 'single' quotes, backslash escapes in double quotes), and prints each reply; with a
        terminal, a prompt. Only data commands run in a session (GET, SET, INCR, HSET, ...); MULTI, SUBSCRIBE,
        AUTH and the like are refused.

        Options:
          --requirepass-file PATH  AUTH with the password in PATH (trailing newlines dropped)
          --service-name NAME   the name SENTINEL is asked about (default lockstep)
          --timeout MS          how long one command may take, failovers included (default \
        \(defaultTimeout.wholeMilliseconds))
          -h, --help            show this help

        \(ExitCode.helpText)
          With client, 1 also means a command's reply was an error, or its outcome is unknown (the message
          says whether it may have been applied; it was applied at most once).
        """

    static let defaultTimeout: Duration = .seconds(15)
    /// The longest line read in interactive mode; a longer one is refused, not buffered without bound.
    static let lineBytesLimit = 1 << 20

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        let split = words.firstIndex(of: "--")
        let flags = Array(words[..<(split ?? words.endIndex)])
        let command = split.map { Array(words[words.index(after: $0)...]) }
        let arguments = try Arguments(
            flags, command: "client", valued: ["--requirepass-file", "--service-name", "--timeout"],
            allowsPositionals: true)
        if arguments.contains("--help") {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        guard !arguments.positionals.isEmpty else { throw .usage("give at least one node address, HOST:PORT") }
        var configuration = LockstepClientConfiguration()
        if let path = arguments.string("--requirepass-file") {
            configuration.password = String(decoding: try ClientOptions.readPasswordFile(path), as: UTF8.self)
        }
        if let name = arguments.string("--service-name") { configuration.serviceName = name }
        configuration.requestTimeout = try arguments.milliseconds("--timeout", default: defaultTimeout, in: 1...3_600_000)
        if let command, command.isEmpty { throw .usage("give a command after --") }
        let client: LockstepClient
        do {
            client = try LockstepClient(addresses: arguments.positionals, configuration: configuration)
        } catch {
            throw .usage("\(error)")
        }
        let isTerminal = isatty(STDOUT_FILENO) == 1
        return waitFor {
            if let command {
                let status = await send(command, through: client, isTerminal: isTerminal)
                await client.close()
                return status
            }
            var status = ExitCode.success
            while let line = prompt(isTerminal ? "lockstep> " : nil) {
                let words: [String]
                do {
                    words = try CommandLineWords.split(line)
                } catch {
                    writeStandardError("(error) \(error)\n")
                    status = ExitCode.failure
                    continue
                }
                guard let first = words.first else { continue }
                if ["quit", "exit"].contains(first.lowercased()) { break }
                if await send(words, through: client, isTerminal: isTerminal) != ExitCode.success {
                    status = ExitCode.failure
                }
            }
            await client.close()
            return status
        }
    }

    /// Sends one command and prints its reply; the exit status it calls for.
    static func send(_ command: [String], through client: LockstepClient, isTerminal: Bool) async -> Int32 {
        do {
            let reply = try await client.send(command)
            writeStandardOutput(ReplyText.format(reply, isTerminal: isTerminal) + "\n")
            if case .error = reply { return ExitCode.failure }
            return ExitCode.success
        } catch {
            writeStandardError("(error) \(error)\n")
            return ExitCode.failure
        }
    }

    /// One line of standard input (without its line break), after showing `prompt` when given; nil at its end.
    static func prompt(_ prompt: String?) -> String? {
        if let prompt { writeStandardOutput(prompt) }
        guard let line = readLine(strippingNewline: true) else { return nil }
        guard line.utf8.count <= lineBytesLimit else {
            writeStandardError("(error) the line is over \(lineBytesLimit) bytes and was skipped\n")
            return ""
        }
        return line
    }

    /// Runs `body` on the concurrency pool and blocks this (main) thread until it returns: the subcommands are
    /// synchronous, the client library is async. Checking each millisecond costs nothing a person would notice.
    static func waitFor(_ body: @escaping @Sendable () async -> Int32) -> Int32 {
        let result = Mutex<Int32?>(nil)
        let finished = Atomic<Bool>(false)
        Task {
            let status = await body()
            result.withLock { $0 = status }
            finished.store(true, ordering: .releasing)
        }
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
        return result.withLock { $0 } ?? ExitCode.failure
    }
}
