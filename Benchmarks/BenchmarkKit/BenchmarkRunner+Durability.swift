/// The durability group: what a durable log costs per SET, beside Redis with `appendonly yes` and the same
/// `appendfsync`, and how long both take to come back after every process was killed.
extension BenchmarkRunner {
    /// Per policy, a fresh durable pair and a fresh Redis pair run their SET cases over the plan's rounds, then stop;
    /// so each ratio compares two cases measured seconds apart, on servers whose files hold only that policy's writes.
    func runDurability(_ lockstep: String?, _ redis: String?) {
        var result = DurabilityResult(
            policies: plan.durabilityPolicies, fileSystem: TextFile.fileSystemType(of: TextFile.temporaryBase))
        log("durability: \(plan.durabilityPolicies.map(\.rawValue).joined(separator: ", ")), data on "
            + "\(result.fileSystem ?? "an unknown file system") (\(TextFile.temporaryBase))")
        for policy in plan.durabilityPolicies {
            var pair: LockstepPair?
            var pairPrimary = 0
            var redisPair: RedisPair?
            if let lockstep {
                log("durability: starting a Lockstep pair with --data-dir and --fsync \(policy.rawValue)")
                do {
                    let started = try LockstepPair.start(
                        executable: lockstep, extraArguments: ["--fsync", policy.rawValue], isDurable: true)
                    pair = started
                    pairPrimary = try started.waitForProtectedPrimary(deadline: deadline(seconds: 10))
                } catch {
                    pair?.stop()
                    pair = nil
                    fail(
                        .durability, "the durable Lockstep pair (--fsync \(policy.rawValue)) could not start: \(error)")
                }
            }
            if let redis {
                log("durability: starting a Redis primary and replica with appendonly, appendfsync \(policy.rawValue)")
                do {
                    redisPair = try RedisPair.start(executable: redis, persistence: policy)
                } catch {
                    fail(.durability, "the Redis pair (appendfsync \(policy.rawValue)) could not start: \(error)")
                }
            }
            for round in 0..<plan.rounds {
                for definition in plan.durabilityCases(policy, round: round) {
                    measureAndRecord(definition, round: round) { () throws(BenchmarkError) in
                        switch definition.group {
                        case .lockstep:
                            guard let pair else { return nil }
                            return try measureLockstep(definition, pair, primary: pairPrimary)
                        case .redis:
                            guard let redisPair else { return nil }
                            return try measureRedis(definition, redisPair)
                        case .floors, .sessions:
                            return nil  // the durability group has no such cases
                        }
                    }
                }
            }
            pair?.stop()
            redisPair?.stop()
        }
        let comeback = ComebackBenchmark(keys: plan.comebackKeys, valueBytes: plan.valueBytes)
        log("durability: \(plan.comebackKeys) keys, then kill -9 of every process and a restart over the same files")
        result.comeback = comeback.run(lockstep: lockstep, redis: redis, log: log)
        for outcome in result.comeback {
            let took = outcome.comebackNanoseconds.map(Format.milliseconds) ?? "never"
            log("durability: \(outcome.system.rawValue) took a SET \(took) after the restart; "
                + "\(outcome.keysAfter.map(String.init) ?? "?") of \(outcome.keys) keys back")
            if !outcome.isComplete {
                let keys = outcome.keysAfter.map { "\($0) of \(outcome.keys) keys back" } ?? "keys not counted"
                missingParts.append(
                    "durability comeback \(outcome.system.rawValue): \(outcome.problem ?? keys)")
            }
        }
        report.durability = result
    }
}
