import LogChannel

/// Faults: crashes and restarts, partitions, paused processes and arbiter outages, picked by the seed.
extension PairSimulation {
    mutating func injectFault() {
        guard faultsActive else { return }
        defer { schedule(.fault, after: .milliseconds(Int64(150 + random.next() % 400))) }
        let primary = nodes.indices.filter { nodes[$0].isUp && nodes[$0].core.status.isServing }
            .max { nodes[$0].core.status.epoch < nodes[$1].core.status.epoch }
        let roll = random.next()
        var choices: [Int] = []
        if faults.crashPrimary { choices.append(0) }
        if faults.crashBackup { choices.append(1) }
        if faults.partition { choices.append(2) }
        if faults.oneWayLoss { choices.append(3) }
        if faults.pauseNode { choices.append(4) }
        if faults.arbiterOutage { choices.append(5) }
        if faults.switchover { choices.append(6) }
        if faults.doubleCrash { choices.append(7) }
        if faults.diskFull { choices.append(8) }
        guard !choices.isEmpty else { return }
        let heal = Duration.milliseconds(Int64(100 + random.next() % 400))
        let choice = choices[Int(roll % UInt64(choices.count))]
        if Self.isTracing { print("\(now) fault \(choice) for \(heal)") }
        switch choice {
        case 0:
            // One failure at a time: losing the primary before a backup holds its state loses the
            // data, and then nobody may go live (correctly); that double failure is not this test's.
            if let primary, hasProtectingBackup(primary) { crashAndRestart(primary) }
        case 1:
            // Only a backup beside a serving primary: crashing the last holder of the state is a double failure.
            if let primary, nodes[1 - primary].isUp { crashAndRestart(1 - primary) }
        case 2:
            cutDirections = [[0, 1], [1, 0]]
            schedule(.partitionHealed, after: heal)
        case 3:
            let from = Int(random.next() % 2)
            cutDirections = [[from, 1 - from]]
            schedule(.partitionHealed, after: heal)
        case 4:
            let index = Int(random.next() % 2)
            if nodes[index].isUp && !nodes[index].isPaused {
                nodes[index].isPaused = true
                schedule(.resume(index), after: heal)
            }
        case 5:
            arbiterDownUntil = now + heal
        case 7:
            // Both nodes die at once (a power cut): the disks must bring back every acked append.
            for index in nodes.indices { crashAndRestart(index) }
        case 8:
            let index = Int(random.next() % 2)
            diskFullUntil[index] = now + heal
        default:
            // The primary hands over to its backup (or, with none caught up, stops); it exits and is restarted.
            if let primary, hasProtectingBackup(primary) {
                schedule(.node(primary, incarnation: nodes[primary].incarnation, .stopRequested), after: .zero)
            }
        }
    }

    /// Now and then, as node `index` installs a checkpoint, crash it (a backup that dies mid-stream) or, more rarely,
    /// the primary sending it (which loses the state: the half-installed backup must not go live, and nobody may).
    mutating func crashMidStreamSometimes(installing index: Int) {
        guard faultsActive, faults.crashMidStream, nodes[index].isUp,
            nodes[index].core.status.checkpoint?.direction == .receiving, random.next() % 64 == 0
        else { return }
        let primary = 1 - index
        if Self.isTracing { print("\(now) fault: crash mid-stream") }
        crashAndRestart(random.next() % 8 == 0 && nodes[primary].isUp ? primary : index)
    }

    mutating func crashAndRestart(_ index: Int) {
        crash(index, silently: faults.silentCrash)
        schedule(.restart(index), after: .milliseconds(Int64(50 + random.next() % 200)))
    }

    mutating func crash(_ index: Int, silently: Bool) {
        guard nodes[index].isUp else { return }
        defer { noteWhetherTheStateSurvives() }
        nodes[index].isUp = false
        disks[index].crash()
        nodes[index].isPaused = false
        nodes[index].deferred = []
        loseRequests(at: index)
        for channel in connections.keys.sorted() {
            guard end(of: channel, for: index) != nil else { continue }
            if silently {
                continue  // a machine that vanished: the peer finds out from silence
            }
            close(channel, by: index)   // kill -9: the kernel closes the sockets
        }
    }

    mutating func restart(_ index: Int) {
        guard !nodes[index].isUp else { return }
        let incarnation = nodes[index].incarnation + 1
        nodes[index] = SimNode(core: makeCore(index), incarnation: incarnation)
        deliver(.started, to: index)
    }

    mutating func resume(_ index: Int) {
        guard nodes[index].isPaused else { return }
        nodes[index].isPaused = false
        let deferred = nodes[index].deferred
        nodes[index].deferred = []
        for event in deferred { offer(event, to: index, incarnation: nodes[index].incarnation) }
        if nodes[index].isUp && !nodes[index].isPaused { deliver(.timerFired, to: index) }
        if nodes[index].isUp && !nodes[index].isPaused && !nodes[index].isIntakePaused { resumeIntake(of: index) }
    }
}
