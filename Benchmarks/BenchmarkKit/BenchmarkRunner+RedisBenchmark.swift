/// The redis-benchmark group on fresh servers: the pair and Redis with a replica, the default list run a test at a
/// time (`-t`), each test against one system right after the other, so a ratio compares two runs under the same load
/// of the machine (runs a whole list apart moved by tens of percent); which system goes first alternates by test and
/// by round, so neither always runs on a warmer machine.
extension BenchmarkRunner {
    func runRedisBenchmark(_ lockstep: String?, _ redis: String?) {
        guard let tool = TextFile.findOnPath("redis-benchmark") else {
            let text = "redis-benchmark not found on PATH (Debian: `apt-get install redis-tools`): its group did not run"
            log(text)
            report.notes.append(text)  // like an absent Redis: a documented mode, not a failure
            return
        }
        guard let lockstep, let redis else { return }  // their absence is already a note
        let benchmark = RedisBenchmarkTool(
            executable: tool, requests: plan.redisBenchmarkRequests, clients: plan.redisBenchmarkClients,
            timeout: .seconds(600))
        var result = RedisBenchmarkResult(requestsPerTest: benchmark.requests, clients: benchmark.clients)
        log("redis-benchmark: the default test list, -n \(benchmark.requests) -c \(benchmark.clients), against a "
            + "fresh Lockstep pair and a fresh Redis primary with a replica")
        var pair: LockstepPair?
        var redisPair: RedisPair?
        defer {
            pair?.stop()
            redisPair?.stop()
        }
        let primary: Int
        do {
            let started = try LockstepPair.start(executable: lockstep)
            pair = started
            primary = try started.waitForProtectedPrimary(deadline: deadline(seconds: 10))
            redisPair = try RedisPair.start(executable: redis)
        } catch {
            fail(.redisBenchmark, "the redis-benchmark group's servers could not start: \(error)")
            return
        }
        guard let pair, let redisPair else { return }
        for round in 0..<plan.rounds {
            var lines = ["Lockstep": [String](), "Redis": []]
            for (index, tests) in RedisBenchmarkTool.defaultTests.enumerated() {
                let order = (round + index) % 2 == 0 ? [true, false] : [false, true]
                for isLockstep in order {
                    let system = isLockstep ? "Lockstep" : "Redis"
                    let address = isLockstep ? pair.nodes[primary].clientAddress : redisPair.primary.clientAddress
                    do {
                        let results = try benchmark.run(against: address, tests: tests)
                        result.record(results, isLockstep: isLockstep, round: round)
                        lines[system]! += results.map {
                            "\($0.name.split(separator: " ").first ?? "") \(Format.rate($0.requestsPerSecond))"
                        }
                    } catch {
                        fail(.redisBenchmark, "redis-benchmark -t \(tests) against \(system), round \(round + 1): \(error)")
                    }
                }
            }
            for system in ["Lockstep", "Redis"] {
                log("[round \(round + 1)/\(plan.rounds)] redis-benchmark against \(system): "
                    + lines[system]!.joined(separator: ", "))
            }
        }
        report.redisBenchmark = result
    }
}
