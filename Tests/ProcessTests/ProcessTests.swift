import Testing

/// Real processes on loopback: the `lockstep` binary, `redis-cli` and `redis-benchmark`.
///
/// The simulation proves the protocol; these prove the wiring (sockets, signals, arbiter files, the CLI). One
/// serialized parent suite, so no two tests fight over the machine's two cores or its ports, and every nested
/// suite inherits `.serialized`.
@Suite(.serialized)
struct ProcessTests {}
