// arbiter-race: one contender in the arbiter race test (Tests/ArbiterTests/ArbiterRaceTests.swift).
//
// Usage: arbiter-race DIR EPOCH NAME [--start-at-ms T]
//
// Takes EPOCH on the DirectoryArbiter at DIR for node NAME and prints exactly one line:
//   granted EPOCH NAME       this process owns EPOCH                          (exit 0)
//   lost EPOCH WINNERNAME    WINNERNAME owns EPOCH, the epoch that beat ours  (exit 0)
//   error DESCRIPTION        the arbiter could not answer                     (exit 2)
// With --start-at-ms, it first sleeps until that wall-clock time, so that many processes started one after the
// other all try at the same instant. An absolute clock_nanosleep wakes them together without the spinning
// that would starve each other on a machine with fewer cores than contenders.
import Arbiter
import Glibc

func fail(usage problem: String) -> Never {
    let message = "arbiter-race: \(problem)\nusage: arbiter-race DIR EPOCH NAME [--start-at-ms T]\n"
    _ = message.withCString { write(2, $0, strlen($0)) }  // nothing more to do if stderr is gone
    exit(64)
}

func sleepUntil(wallClockMilliseconds target: Int64) {
    var deadline = timespec(tv_sec: Int(target / 1000), tv_nsec: Int(target % 1000) * 1_000_000)
    // Returns early only on a signal; then sleep again toward the same absolute time.
    while clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &deadline, nil) == EINTR {}
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 3 || arguments.count == 5 else { fail(usage: "expected 3 or 5 arguments") }
let directory = arguments[0], name = arguments[2]
guard let epoch = UInt64(arguments[1]), epoch >= 1 else { fail(usage: "EPOCH must be a number from 1") }
if arguments.count == 5 {
    guard arguments[3] == "--start-at-ms", let start = Int64(arguments[4]) else {
        fail(usage: "expected --start-at-ms MILLISECONDS")
    }
    sleepUntil(wallClockMilliseconds: start)
}

let arbiter = DirectoryArbiter(directory: directory)
let claim = Claim(nodeName: name, channelAddress: "127.0.0.1:\(getpid())", clientAddress: "127.0.0.1:0")
do {
    switch try arbiter.take(epoch: epoch, for: claim) {
    case .granted(let record):
        print("granted \(record.epoch) \(record.claim.nodeName)")
    case .lost(let winner):
        print("lost \(winner.epoch) \(winner.claim.nodeName)")
    }
    exit(0)
} catch {
    print("error \(error)")
    exit(2)
}
