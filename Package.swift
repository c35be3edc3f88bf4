// swift-tools-version:6.0
import PackageDescription

// Lockstep: application-level fault tolerance in the style of VMware FT. No package dependencies by
// design: the toolchain, plus one first-party C target for the headers Glibc's module map leaves out.

// No target carries unsafe compiler flags, so the package can be used as a dependency. Release builds that should run as fast
// as the benchmarks measure pass the tuning on the command line instead (Benchmarks/Scripts/release-build.sh):
// cross-module optimisation, so the cores and the runtime are specialised for the app's state machine, and no
// dynamic exclusivity checks. What a plain release build costs per request: Benchmarks/README.md.

let package = Package(
    name: "Lockstep",
    products: [
        .executable(name: "lockstep", targets: ["LockstepCLI"]),
        .executable(name: "lockstep-bench", targets: ["LockstepBench"]),
        // Everything an application needs to make its own service fault tolerant: `import Lockstep`.
        .library(name: "Lockstep", targets: ["Lockstep"]),
        // A Swift client that follows the primary and applies each request exactly once, through a session.
        .library(name: "LockstepClient", targets: ["LockstepClient"]),
        // The example application: a replicated bank ledger built only on the `Lockstep` product.
        .executable(name: "ledger-server", targets: ["LedgerServer"]),
    ],
    targets: [
        // epoll and eventfd, which `import Glibc` does not expose.
        .target(name: "CShim", path: "Sources/CShim"),
        // Thin syscall wrappers; nothing above reads errno.
        .target(name: "Posix", dependencies: ["CShim"]),
        // Wire format, decoder, bounded send buffer, TCP transport and heartbeats.
        .target(name: "LogChannel", dependencies: ["Posix", "CShim"]),
        // The "live" flag: one owner per epoch, on a shared directory.
        .target(name: "Arbiter"),
        // The same flag on etcd, for machines that share no disk: one transaction per epoch over its JSON gateway.
        .target(name: "EtcdArbiter", dependencies: ["Arbiter", "Posix"]),
        // The contract between an application and Lockstep: StateMachine, ApplyContext, LogEntry.
        .target(name: "Replication"),
        // I/O-free protocol cores.
        .target(name: "Primary", dependencies: ["LogChannel", "Arbiter", "Replication"]),
        .target(name: "Backup", dependencies: ["LogChannel", "Arbiter", "Replication"]),
        // I/O-free role changes: joining, backup, primary, solo.
        .target(name: "Node", dependencies: ["Primary", "Backup", "LogChannel", "Arbiter", "Replication"]),
        // Drives a Node with real sockets, timers and the arbiter.
        .target(name: "Runtime", dependencies: ["Node", "LogChannel", "Posix", "Arbiter", "Replication", "Durability"]),
        // The library product's one module: re-exports what an application needs.
        .target(
            name: "Lockstep",
            dependencies: ["Runtime", "Node", "Primary", "Backup", "Arbiter", "EtcdArbiter", "Replication", "Durability"]),
        // The durable log, snapshot and marker files of a node's data directory, and their recovery scan.
        .target(name: "Durability", dependencies: ["Posix", "LogChannel", "Replication"]),
        // The client library: finds the primary, pipelines requests in a session, resends them across failovers.
        // Sockets and its I/O thread come from Posix alone, so an application linking it gets no server code.
        .target(name: "LockstepClient", dependencies: ["Posix"]),
        // The bundled application: a key-value store speaking RESP2.
        .target(name: "KeyValue", dependencies: ["Replication"]),
        .executableTarget(
            name: "LockstepCLI",
            dependencies: [
                "Runtime", "Node", "KeyValue", "Arbiter", "EtcdArbiter", "Posix", "LogChannel", "Durability",
                "LockstepClient",
            ]),
        // The benchmark harness: load generators, floors, histogram and report (testable), and its command.
        .target(
            name: "BenchmarkKit", dependencies: ["Posix", "LogChannel", "Runtime", "LockstepClient"],
            path: "Benchmarks/BenchmarkKit"),
        .executableTarget(
            name: "LockstepBench", dependencies: ["BenchmarkKit", "Posix"], path: "Benchmarks/LockstepBench"),
        // A tiny process the arbiter race test starts many times over.
        .executableTarget(name: "arbiter-race", dependencies: ["Arbiter"], path: "Tests/Probes/ArbiterRace"),
        // A process the disk-full test starts under a file-size limit.
        .executableTarget(
            name: "durability-probe", dependencies: ["Durability", "Posix", "Replication"], path: "Tests/Probes/DurabilityProbe"),

        // Examples/Ledger: a second application, depending on the `Lockstep` module alone, as an outside package would.
        .target(name: "Ledger", dependencies: ["Lockstep"], path: "Examples/Ledger/Sources/Ledger"),
        .executableTarget(
            name: "LedgerServer", dependencies: ["Ledger", "Lockstep"], path: "Examples/Ledger/Sources/LedgerServer"),

        .testTarget(name: "LogChannelTests", dependencies: ["LogChannel", "Posix", "CShim"]),
        .testTarget(name: "ArbiterTests", dependencies: ["Arbiter", "arbiter-race"]),
        // Against a real etcd server it starts itself, and a pair of real `lockstep node` processes on it.
        .testTarget(name: "EtcdArbiterTests", dependencies: ["EtcdArbiter", "Arbiter", "Posix", "Runtime", "LockstepCLI"]),
        .testTarget(name: "ReplicationTests", dependencies: ["Replication"]),
        .testTarget(name: "CoreTests", dependencies: ["Primary", "Backup", "Node", "Replication", "LogChannel", "Arbiter"]),
        .testTarget(name: "SimulationTests", dependencies: ["Node", "Replication", "LogChannel", "Arbiter", "KeyValue", "Posix"]),
        .testTarget(
            name: "DurabilityTests", dependencies: ["Durability", "Posix", "Replication", "KeyValue", "durability-probe"]),
        .testTarget(name: "KeyValueTests", dependencies: ["KeyValue", "Replication"]),
        .testTarget(
            name: "RuntimeTests",
            dependencies: ["Runtime", "KeyValue", "Node", "Posix", "Arbiter", "LogChannel", "Replication", "Durability"]),
        // Kill-and-failover and fault-injection suite over real `lockstep` processes.
        .testTarget(name: "FaultTests", dependencies: ["LockstepCLI", "Posix", "KeyValue", "BenchmarkKit"]),
        // The same workload and checker with each node in its own network namespace, etcd and the clients in a
        // third: link, partition and arbiter faults between real hosts. Needs root and iproute2.
        .testTarget(name: "NetworkTests", dependencies: ["LockstepCLI", "Posix", "KeyValue", "Runtime", "CShim"]),
        .testTarget(name: "BenchmarkTests", dependencies: ["BenchmarkKit"], path: "Benchmarks/Tests"),
        .testTarget(
            name: "ProcessTests",
            dependencies: ["Runtime", "KeyValue", "LockstepCLI", "LockstepClient", "Posix", "Arbiter", "LogChannel"]),
        // The client library: its decoder and core alone, then against real `lockstep node` processes killed under load.
        .testTarget(
            name: "LockstepClientTests", dependencies: ["LockstepClient", "LockstepCLI", "Posix", "Runtime"]),
        // The ledger's specification and its kill test over two real `ledger-server` processes.
        .testTarget(
            name: "LedgerTests", dependencies: ["Ledger", "LedgerServer"], path: "Examples/Ledger/Tests/LedgerTests"),
    ],
    swiftLanguageModes: [.v6]
)
