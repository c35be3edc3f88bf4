// ledger-server: one node of a fault-tolerant bank ledger. Run it twice, on two machines (or two ports) that share
// the arbiter directory; whichever takes epoch 1 first serves, the other follows as its backup and takes over if it
// dies. Everything Lockstep-specific is the few lines that build `NodeRuntime`; the rest is the command line.

import Glibc
import Ledger
import Lockstep

let usage = """
    Usage: ledger-server --name NAME --client HOST:PORT --channel HOST:PORT --peer HOST:PORT --arbiter DIR
                         --cluster-secret-file PATH [--advertise HOST:PORT]

    Runs one node of a replicated bank ledger. Start two, each with its own addresses and the other's channel
    address as --peer, over one shared arbiter directory.

      --name NAME            this node's name, in logs and the arbiter's records (letters, digits, . - _)
      --client HOST:PORT     where clients connect (port 0 picks a free one)
      --channel HOST:PORT    where the logging channel from the peer connects
      --peer HOST:PORT       the other node's channel address (its --advertise, if it has one)
      --arbiter DIR          the shared arbiter directory; it must exist
      --cluster-secret-file PATH
                             the secret both nodes hold (the same file): 32 to 4096 bytes, mode 0600; the
                             logging channel serves only a peer that proves it (`head -c 32 /dev/urandom`)
      --advertise HOST:PORT  the channel address the peer should dial, if not --channel (behind a proxy or NAT)
      -h, --help             show this help

    Stdout gets one line at start with the bound addresses; stderr gets the log. SIGTERM or SIGINT stops the
    node (a primary first hands over to its backup). Exit codes: 0 stopped as asked, 1 failed or stopped by
    itself (restart it: it rejoins as backup), 2 usage error.
    """

/// Writes `text` to a file descriptor with `write(2)`: unbuffered, so each line leaves whole and at once (stdio's
/// buffers would hold stdout back when it is a file, and are shared state Swift 6 will not let threads touch).
func write(_ text: String, to descriptor: CInt) {
    var bytes = Array(text.utf8)[...]
    while !bytes.isEmpty {
        let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return }  // nowhere to report a broken stderr; the node carries on
        bytes = bytes.dropFirst(count)
    }
}

/// Ends the process with a one-line message on stderr.
func fail(_ code: Int32, _ message: String) -> Never {
    write("ledger-server: \(message)\n", to: STDERR_FILENO)
    exit(code)
}

/// One log line on stderr: an ISO-8601 UTC time, the node's name, the message.
func logLine(_ name: String, _ message: String) {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var time = tm()
    gmtime_r(&now.tv_sec, &time)
    func digits(_ value: some BinaryInteger, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, width - text.count)) + text
    }
    let stamp = "\(digits(time.tm_year + 1900, 4))-\(digits(time.tm_mon + 1, 2))-\(digits(time.tm_mday, 2))T"
        + "\(digits(time.tm_hour, 2)):\(digits(time.tm_min, 2)):\(digits(time.tm_sec, 2))."
        + "\(digits(now.tv_nsec / 1_000_000, 3))Z"
    write("\(stamp) [\(name)] \(message)\n", to: STDERR_FILENO)
}

/// Whether `text` is `HOST:PORT` with a port from 0 to 65535; the runtime resolves the host.
func isAddress(_ text: String) -> Bool {
    guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else { return false }
    return UInt16(text[text.index(after: colon)...]) != nil
}

// The command line: six required flags and one optional, each at most once.
let flags = ["--name", "--client", "--channel", "--peer", "--arbiter", "--cluster-secret-file"]
var options: [String: String] = [:]
var words = CommandLine.arguments.dropFirst()
while let flag = words.popFirst() {
    if flag == "-h" || flag == "--help" {
        write(usage + "\n", to: STDOUT_FILENO)
        exit(0)
    }
    guard flags.contains(flag) || flag == "--advertise" else { fail(2, "unknown option '\(flag)'\n\(usage)") }
    guard let value = words.popFirst(), !value.isEmpty else { fail(2, "\(flag) needs a value") }
    guard options.updateValue(value, forKey: flag) == nil else { fail(2, "\(flag) is given twice") }
}
if let missing = flags.first(where: { options[$0] == nil }) { fail(2, "\(missing) is required\n\(usage)") }
let (name, client, channel, peer, arbiter) =
    (options["--name"]!, options["--client"]!, options["--channel"]!, options["--peer"]!, options["--arbiter"]!)
guard name.count <= 64, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
    fail(2, "--name must be 1 to 64 letters, digits, '.', '-' or '_'")
}
let advertise = options["--advertise"] ?? channel
for (flag, address) in [("--client", client), ("--channel", channel), ("--peer", peer), ("--advertise", advertise)]
where !isAddress(address) {
    fail(2, "\(flag) '\(address)' is not HOST:PORT")
}
guard peer != advertise else { fail(2, "--peer is this node's own channel address; give the other node's") }
// The node never creates the arbiter directory: a missing share must not turn into a local one, where each machine
// would grant itself epochs (two primaries).
var information = stat()
guard stat(arbiter, &information) == 0, information.st_mode & S_IFMT == S_IFDIR else {
    fail(1, "arbiter directory \(arbiter) does not exist or is not a directory; create it on the shared file system")
}

// Only a peer that proves it holds this secret may open the logging channel (it carries the whole ledger).
let clusterSecret: [UInt8]
do {
    clusterSecret = try ClusterSecretFile.read(atPath: options["--cluster-secret-file"]!)
} catch {
    fail(1, "\(error)")
}

let limits: LedgerLimits
do {
    limits = try LedgerLimits().checked()
} catch {
    fail(1, "\(error)")
}
signal(SIGPIPE, SIG_IGN)  // a client that hangs up must cost an error on its socket, not the process

// Lockstep itself: the node's identity and addresses, the application (protocol and empty ledger), the arbiter.
var configuration = RuntimeConfiguration(
    node: NodeConfiguration(nodeName: name, channelAddress: advertise, clientAddress: client, peerChannelAddress: peer),
    clientListenAddress: client, channelListenAddress: channel)
configuration.clusterSecret = clusterSecret
let runtime: NodeRuntime<LedgerProtocol>
do {
    runtime = try NodeRuntime(
        configuration: configuration, protocol: LedgerProtocol(limits: limits), emptyMachine: Ledger(limits: limits),
        arbiter: DirectoryArbiter(directory: arbiter), log: { event in logLine(name, "\(event)") })
} catch {
    fail(1, "node \(name) cannot start: \(error)")
}
write(
    "ledger-server \(name): clients on \(runtime.clientAddress), logging channel on \(runtime.channelAddress), "
        + "peer at \(peer), arbiter \(arbiter)\n", to: STDOUT_FILENO)

do {
    let (reason, wasRequested) = try runtime.runUntilStopped()
    guard wasRequested else { fail(1, "node \(name) stopped by itself: \(reason); restart it to rejoin as backup") }
    logLine(name, "stopped cleanly: \(reason)")
} catch {
    fail(1, "node \(name) failed: \(error)")
}
