/// Which faults a run may inject; the seed picks the mix (swarm testing).
struct FaultMix: Equatable {
    var crashPrimary = false, crashBackup = false, silentCrash = false
    var partition = false, oneWayLoss = false, pauseNode = false
    var dropFrames = false, duplicateFrames = false, delayFrames = false
    var arbiterOutage = false, slowBackup = false, smallLimits = false
    /// An operator stops the serving primary (SIGTERM): a planned handover, then the node restarts as backup.
    var switchover = false
    /// A node crashes while a checkpoint streams: mostly the installing backup, sometimes the sending primary.
    var crashMidStream = false
    /// Tiny chunks and a small window, so that even the simulation's small states make checkpoints of many chunks,
    /// cut, delayed and interleaved with the log like a gigabyte one.
    var checkpointChunkBytes = 64, checkpointWindowChunks = 2
    /// Both nodes keep a durable log (`SimulatedDisk`, `--fsync always`), so the state outlives any crash.
    var durable = false
    /// With `durable`: both nodes crash at once, at any point, and restart; a disk fills up for a while; disks are slow.
    var doubleCrash = false, diskFull = false, slowDisk = false

    static func swarm(_ random: inout SeededRandom) -> FaultMix {
        func coin() -> Bool { random.next() % 3 == 0 }
        return FaultMix(
            crashPrimary: coin(), crashBackup: coin(), silentCrash: coin(), partition: coin(), oneWayLoss: coin(),
            pauseNode: coin(), dropFrames: coin(), duplicateFrames: coin(), delayFrames: coin(),
            arbiterOutage: coin(), slowBackup: coin(), smallLimits: coin(), switchover: coin(),
            crashMidStream: coin(), checkpointChunkBytes: 32 << Int(random.next() % 4),
            checkpointWindowChunks: 1 + Int(random.next() % 4))
    }

    /// A swarm mix on durable nodes, with double crashes, full disks and slow disks among the faults.
    static func durableSwarm(_ random: inout SeededRandom) -> FaultMix {
        var mix = swarm(&random)
        mix.durable = true
        mix.doubleCrash = random.next() % 2 == 0
        mix.diskFull = random.next() % 3 == 0
        mix.slowDisk = random.next() % 3 == 0
        if !mix.doubleCrash && !mix.crashPrimary && !mix.crashBackup { mix.doubleCrash = true }
        return mix
    }

    static let none = FaultMix()
}
