import Testing

/// Real processes on loopback: the `lockstep` binary, `redis-cli` and `redis-benchmark`.
///
/// The simulation proves the protocol; these prove the wiring (sockets, signals, arbiter files, the CLI). One
/// serialized parent suite, so no two tests fight over the machine's two cores or its ports, and every nested
/// suite inherits `.serialized`.
///
/// No test here (nor in FaultTests or the arbiter race) has a `.timeLimit`. These tests block while they wait on
/// processes, and Swift Testing runs every test on a pool of one thread per core, so a test's time limit also counts
/// the time it queued behind another suite's blocking tests: CI once failed a test that takes seconds at its
/// one-minute limit. Every wait has its own deadline instead, and `.ci/run` bounds the whole run.
@Suite(.serialized)
struct ProcessTests {}
