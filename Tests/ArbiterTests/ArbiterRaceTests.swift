import Glibc
import Testing

@testable import Arbiter

/// Many real processes race for the same epoch through `link()` on one directory.
///
/// Unit tests run takes one after another; only separate processes hitting the file system at the same
/// instant can show that exactly one take wins. Each contender is the `arbiter-race` probe, woken by an
/// absolute wall-clock time so they all try together.
@Suite("Arbiter race between processes", .serialized)
struct ArbiterRaceTests {
    static let roundsCount = 10
    static let contendersCount = 32
    /// Time from the start of a round until its contenders try: enough to start 32 processes on 2 cores.
    static let startDelayMilliseconds: Int64 = 600
    /// A round that has not finished this long after its start is a hang, reported as a failure.
    static let roundDeadlineMilliseconds: Int64 = 20_000

    @Test("of 32 processes racing for one epoch exactly one wins, and every loser names it")
    func oneWinnerPerEpoch() throws {
        let probe = try ContenderProcess.probePath()
        try withTemporaryDirectory { directory in
            let began = nowMilliseconds()
            var lateRounds = 0
            for epoch in 1...UInt64(Self.roundsCount) {
                let names = (0..<Self.contendersCount).map { "r\(epoch)-n\($0)" }
                let round = try race(probe, directory, names.map { ($0, epoch) })
                if round.wasLate { lateRounds += 1 }

                let granted = round.lines.filter { $0.hasPrefix("granted ") }
                try #require(granted.count == 1, "epoch \(epoch): \(round.lines)")
                let winner = String(granted[0].split(separator: " ")[2])
                #expect(granted[0] == "granted \(epoch) \(winner)")
                for line in round.lines where line != granted[0] {
                    #expect(line == "lost \(epoch) \(winner)", "epoch \(epoch)")
                }
                let record = try DirectoryArbiter(directory: directory).current()
                #expect(record?.epoch == epoch)
                #expect(record?.claim.nodeName == winner)
            }
            let expectedNames = (1...UInt64(Self.roundsCount)).map { DirectoryArbiter.fileName(ofEpoch: $0) }
            #expect(directoryNames(directory) == expectedNames, "only records remain, no temporary files")
            print("""
                arbiter race: \(Self.roundsCount) rounds × \(Self.contendersCount) processes in \
                \(nowMilliseconds() - began) ms (\(lateRounds) rounds started some contender late)
                """)
        }
    }

    @Test("racing for two neighbouring epochs at once grants each at most once, and every answer matches the records")
    func neighbouringEpochs() throws {
        let probe = try ContenderProcess.probePath()
        try withTemporaryDirectory { directory in
            for round in 1...3 {
                let lower = UInt64(2 * round - 1), higher = UInt64(2 * round)
                let contenders = (0..<Self.contendersCount).map { index in
                    ("r\(round)-n\(index)", index.isMultiple(of: 2) ? lower : higher)
                }
                let outcome = try race(probe, directory, contenders)
                let arbiter = DirectoryArbiter(directory: directory)
                let grantedHigher = outcome.lines.filter { $0.hasPrefix("granted \(higher) ") }
                #expect(grantedHigher.count == 1, "round \(round): \(outcome.lines)")
                #expect(outcome.lines.filter { $0.hasPrefix("granted \(lower) ") }.count <= 1)
                for line in outcome.lines {
                    let words = line.split(separator: " ").map(String.init)
                    try #require(words.count == 3 && (words[0] == "granted" || words[0] == "lost"), "\(line)")
                    // Whatever a contender was told, the record on disk says the same.
                    let named = try arbiter.record(ofEpoch: UInt64(words[1])!)
                    #expect(named.claim.nodeName == words[2], "\(line)")
                }
                #expect(try arbiter.current()?.epoch == higher)
            }
        }
    }

    /// Starts one probe per contender, all told to try at the same instant, and collects one line from each.
    private func race(
        _ probe: String, _ directory: String, _ contenders: [(name: String, epoch: UInt64)]
    ) throws -> (lines: [String], wasLate: Bool) {
        let startAt = nowMilliseconds() + Self.startDelayMilliseconds
        var processes: [ContenderProcess] = []
        defer { for process in processes { process.killAndReap() } }
        for contender in contenders {
            processes.append(try ContenderProcess.spawn(
                probe, [directory, String(contender.epoch), contender.name, "--start-at-ms", String(startAt)]))
        }
        let wasLate = nowMilliseconds() > startAt
        try ContenderProcess.waitForAll(&processes, deadlineMilliseconds: startAt + Self.roundDeadlineMilliseconds)
        var lines: [String] = []
        for process in processes {
            let status = process.exitStatus.map(String.init) ?? "by a signal"
            #expect(process.exitStatus == 0, "\(process.pid) exited \(status): \(process.text)")
            let processLines = process.text.split(separator: "\n").map(String.init)
            #expect(processLines.count == 1, "\(process.pid) printed \(process.text)")
            lines += processLines.prefix(1)
        }
        return (lines, wasLate)
    }
}

/// One `arbiter-race` child: its PID, the read end of a pipe holding its stdout and stderr, and how it ended.
///
/// A private helper rather than the shared Posix module, which is being written in parallel. The pipe's read end
/// is non-blocking and each child is reaped by PID, so a write end that another test's concurrent spawn
/// inherited cannot make us wait: we read what the child wrote once it has exited.
private final class ContenderProcess {
    let pid: pid_t
    private var outputDescriptor: CInt
    private(set) var output: [UInt8] = []
    /// The exit code, or `nil` while running (or when killed by a signal).
    private(set) var exitStatus: Int32?
    private(set) var hasEnded = false
    /// A contender prints one short line; anything beyond this is a runaway, not information.
    static let outputBytesLimit = 64 << 10

    var text: String { String(decoding: output, as: UTF8.self) }

    private init(pid: pid_t, outputDescriptor: CInt) {
        self.pid = pid
        self.outputDescriptor = outputDescriptor
    }

    /// The probe executable: SwiftPM puts it next to the test bundle (`<build>/debug/*.xctest`).
    static func probePath() throws -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { throw TestSetupError("readlink /proc/self/exe failed with errno \(errno)") }
        let executable = String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let folder = executable.split(separator: "/", omittingEmptySubsequences: false).dropLast()
            .joined(separator: "/")
        let probe = folder + "/arbiter-race"
        guard access(probe, X_OK) == 0 else {
            throw TestSetupError("""
                arbiter-race not found at \(probe) (next to the test executable \(executable)); \
                build it with `swift build --product arbiter-race` or run the tests with `swift test`
                """)
        }
        return probe
    }

    static func spawn(_ executable: String, _ arguments: [String]) throws -> ContenderProcess {
        var ends: [CInt] = [-1, -1]
        guard pipe(&ends) == 0 else { throw TestSetupError("pipe failed with errno \(errno)") }
        // Neither end may leak into other children; dup2 below gives this child its own copy as 1 and 2.
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[0], F_SETFL, O_NONBLOCK)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(ends[1])
        guard result == 0 else {
            close(ends[0])
            throw TestSetupError("posix_spawn \(executable) failed with error \(result)")
        }
        return ContenderProcess(pid: pid, outputDescriptor: ends[0])
    }

    /// Reads whatever the child has written so far, without blocking.
    private func drain() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while outputDescriptor >= 0 && output.count < Self.outputBytesLimit {
            let count = chunk.withUnsafeMutableBytes { read(outputDescriptor, $0.baseAddress, $0.count) }
            if count > 0 { output += chunk[..<count] } else { break }
        }
    }

    /// Reaps the child if it has exited; `true` once it has.
    private func reapIfExited() -> Bool {
        if hasEnded { return true }
        var status: CInt = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        hasEnded = true
        // WIFEXITED and WEXITSTATUS are macros Swift does not import: the low 7 bits hold a killing signal.
        if status & 0x7F == 0 { exitStatus = (status >> 8) & 0xFF }
        drain()
        close(outputDescriptor)
        outputDescriptor = -1
        return true
    }

    /// Waits until every child has exited, reading their output as it comes; throws at the deadline.
    static func waitForAll(_ processes: inout [ContenderProcess], deadlineMilliseconds: Int64) throws {
        while true {
            let running = processes.filter { !$0.reapIfExited() }
            if running.isEmpty { return }
            guard nowMilliseconds() < deadlineMilliseconds else {
                throw TestSetupError("\(running.count) contenders still running at the deadline: \(running.map(\.pid))")
            }
            var watched = running.map { pollfd(fd: $0.outputDescriptor, events: Int16(POLLIN), revents: 0) }
            _ = poll(&watched, nfds_t(watched.count), 20)  // a short nap; exits are found by waitpid, not poll
            for process in running { process.drain() }
        }
    }

    /// Teardown: SIGKILL by PID and reap, for a child that is still running; harmless for one already reaped.
    func killAndReap() {
        guard !hasEnded else { return }
        kill(pid, SIGKILL)
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        hasEnded = true
        if outputDescriptor >= 0 {
            close(outputDescriptor)
            outputDescriptor = -1
        }
    }
}
