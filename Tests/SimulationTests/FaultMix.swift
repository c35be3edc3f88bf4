/// Which faults a run may inject; the seed picks the mix (swarm testing).
struct FaultMix: Equatable {
    var crashPrimary = false, crashBackup = false, silentCrash = false
    var partition = false, oneWayLoss = false, pauseNode = false
    var dropFrames = false, duplicateFrames = false, delayFrames = false
    var arbiterOutage = false, slowBackup = false, smallLimits = false
    /// An operator stops the serving primary (SIGTERM): a planned handover, then the node restarts as backup.
    var switchover = false

    static func swarm(_ random: inout SeededRandom) -> FaultMix {
        func coin() -> Bool { random.next() % 3 == 0 }
        return FaultMix(
            crashPrimary: coin(), crashBackup: coin(), silentCrash: coin(), partition: coin(), oneWayLoss: coin(),
            pauseNode: coin(), dropFrames: coin(), duplicateFrames: coin(), delayFrames: coin(),
            arbiterOutage: coin(), slowBackup: coin(), smallLimits: coin(), switchover: coin())
    }

    static let none = FaultMix()
}
