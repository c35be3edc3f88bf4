/// The sessions group's cases on the pair: sessions opened before a load and closed after it, and the client
/// library's load.
extension BenchmarkRunner {
    /// Runs one sessions case: a plain load, a load whose connections each use a session of their own, or the client
    /// library.
    func measureSessionCase(_ definition: CaseDefinition, _ pair: LockstepPair, primary: Int) throws(BenchmarkError)
        -> CaseMeasurement
    {
        if BenchmarkPlan.isClientLibraryCase(definition) {
            return try measureClientLibrary(definition, pair, primary: primary)
        }
        guard plan.workload(for: definition).isSession else {
            return try measureLockstep(definition, pair, primary: primary)
        }
        // On a control connection of its own, so the load's connections send nothing but their numbered requests.
        // A failed case leaves its sessions open; the server expires them after --session-timeout.
        let control = ControlClient(address: pair.nodes[primary].clientAddress)
        defer { control.close() }
        let sessionIDs = try Self.openSessions(definition.connections, on: control)
        let measurement = try measureLockstep(definition, pair, primary: primary, sessionIDs: sessionIDs)
        for id in sessionIDs {
            let reply = try control.command(["SESSION", "CLOSE", String(id)])
            guard reply == .simple("OK") else { throw .unexpectedReply("SESSION CLOSE \(id) answered \(reply)") }
        }
        return measurement
    }

    /// Opens `count` sessions, one request at a time, and returns their ids.
    static func openSessions(_ count: Int, on control: ControlClient) throws(BenchmarkError) -> [Int64] {
        var ids: [Int64] = []
        for _ in 0..<count {
            let reply = try control.command(["SESSION", "OPEN"])
            guard case .integer(let id) = reply, id > 0 else {
                throw .unexpectedReply("SESSION OPEN answered \(reply)")
            }
            ids.append(id)
        }
        return ids
    }

    /// `definition.pipelineDepth` tasks sending SET through one `LockstepClient` given both nodes' addresses.
    func measureClientLibrary(_ definition: CaseDefinition, _ pair: LockstepPair, primary: Int)
        throws(BenchmarkError) -> CaseMeasurement
    {
        for node in pair.nodes where !node.isRunning {
            throw .setupFailed("\(node.name) is no longer running; its log ends:\n\(node.logTail())")
        }
        let load = ClientLibraryLoad(
            addresses: pair.nodes.map(\.clientAddress.description), tasks: definition.pipelineDepth,
            keyspace: plan.keyspace, valueBytes: plan.valueBytes, warmupNanoseconds: plan.warmupNanoseconds,
            durationNanoseconds: plan.caseDurationNanoseconds, operationLimit: plan.operationLimit)
        let before = pair.counters(primary)
        var measurement = try load.run(sampleCPU: pair.cpuSampler(primary: primary))
        for (name, value) in pair.counters(primary) {
            if let old = before[name] { measurement.counterDeltas[name] = value - old }
        }
        return measurement
    }
}
