/// The durability group in the report: per policy, Lockstep's SET beside Redis's with the ratio of each figure; then
/// the restart after every process was killed.
extension Report {
    /// One policy's row: each figure as median [min–max] over the rounds, and each ratio from the same rounds.
    struct DurabilityRow {
        var policy: FsyncPolicy
        var lockstepP50: Spread?
        var redisP50: Spread?
        var p50Ratio: Spread?
        var lockstepOperationsPerSecond: Spread?
        var redisOperationsPerSecond: Spread?
        var operationsRatio: Spread?
    }

    /// The rows of the policies that ran, from the cases recorded under `BenchmarkPlan.durabilityCase`'s keys.
    func durabilityRows() -> [DurabilityRow] {
        guard let durability else { return [] }
        let summaries = Dictionary(summaries.map { ($0.definition.key, $0) }) { first, _ in first }
        return durability.policies.map { policy in
            let latency = BenchmarkPlan.durabilityConnections[0]
            let throughput = BenchmarkPlan.durabilityConnections[1]
            func key(_ system: ScaleResult.System, _ connections: Int) -> String {
                BenchmarkPlan.durabilityCase(system, policy, connections: connections).key
            }
            func ratio(_ connections: Int, _ metric: RatioDefinition.Metric) -> Spread? {
                RatioDefinition(
                    title: "", numerator: (key(.lockstep, connections), metric),
                    denominator: (key(.redis, connections), metric), target: nil
                ).evaluate(rounds: rounds)
            }
            return DurabilityRow(
                policy: policy, lockstepP50: summaries[key(.lockstep, latency)]?.p50,
                redisP50: summaries[key(.redis, latency)]?.p50, p50Ratio: ratio(latency, .p50),
                lockstepOperationsPerSecond: summaries[key(.lockstep, throughput)]?.operationsPerSecond,
                redisOperationsPerSecond: summaries[key(.redis, throughput)]?.operationsPerSecond,
                operationsRatio: ratio(throughput, .operationsPerSecond))
        }
    }

    func durabilitySection() -> [String] {
        guard let durability else { return [] }
        let latency = BenchmarkPlan.durabilityConnections[0]
        let throughput = BenchmarkPlan.durabilityConnections[1]
        let place = "\(durability.fileSystem ?? "an unknown file system")"
        var lines = [
            "### Durability: SET with a durable log, beside Redis with appendonly (data on \(place))",
            "",
            "Lockstep: a pair, each node with `--data-dir` (its own fresh directory) and `--fsync` as given. Redis: a "
                + "primary and a replica, each `--appendonly yes` with the same `--appendfsync`, in its own directory. "
                + "Median [min–max] over \(rounds.count) round\(rounds.count == 1 ? "" : "s"); each ratio is taken "
                + "within a round.",
            "",
            "| fsync | Lockstep SET p50 @\(latency), µs | Redis SET p50 @\(latency), µs | Lockstep ÷ Redis "
                + "| Lockstep SET ops/s @\(throughput) | Redis SET ops/s @\(throughput) | Lockstep ÷ Redis |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for row in durabilityRows() {
            let cells = [
                row.policy.rawValue, Format.spread(row.lockstepP50), Format.spread(row.redisP50),
                Format.spread(row.p50Ratio) { Format.plain($0) },
                Format.spread(row.lockstepOperationsPerSecond, Format.rate),
                Format.spread(row.redisOperationsPerSecond, Format.rate),
                Format.spread(row.operationsRatio) { Format.plain($0) },
            ]
            lines.append("| " + cells.joined(separator: " | ") + " |")
        }
        lines.append("")
        if durability.fileSystem == "tmpfs" {
            lines += ["- the data lived on tmpfs, where an fsync costs nothing: `always` measured no disk here", ""]
        }
        lines += comebackTable(durability.comeback)
        return lines
    }

    private func comebackTable(_ results: [ComebackResult]) -> [String] {
        guard let first = results.first else { return [] }
        let lockstep = results.first { $0.system == .lockstep }
        let redis = results.first { $0.system == .redis }
        var lines = [
            "### Durability: back after kill -9 of every process (\(first.keys) keys, fsync \(first.policy.rawValue))",
            "",
            "Lockstep: both nodes of a durable pair killed at once, then both restarted with the same command lines. "
                + "Redis: one server with appendonly killed, then restarted over its directory. Times run from the "
                + "restart to the first SET answered `+OK`.",
            "",
            "| figure | Lockstep | Redis | Lockstep ÷ Redis |",
            "|---|---:|---:|---:|",
        ]
        func row(_ title: String, _ pick: (ComebackResult) -> UInt64?, _ render: (UInt64) -> String) {
            let left = lockstep.flatMap(pick), right = redis.flatMap(pick)
            let ratio = left.flatMap { left in right.flatMap { $0 > 0 ? Double(left) / Double($0) : nil } }
            lines.append(
                "| \(title) | \(left.map(render) ?? "n/a") | \(right.map(render) ?? "n/a") | "
                    + "\(ratio.map { Format.plain($0) } ?? "–") |")
        }
        row("load, one client with \(ScaleBenchmark.loadDepth) SETs in flight", \.loadNanoseconds, Format.duration)
        row("data files at the kill (Lockstep: both nodes)", \.diskBytesAtKill, Format.mebibytes)
        row("**restart → first SET acknowledged**", \.comebackNanoseconds, Format.duration)
        let protected = lockstep?.protectedNanoseconds.map(Format.duration) ?? "n/a"
        lines.append("| restart → protected again (a primary with a caught-up backup) | \(protected) | – | – |")
        let counts = [lockstep, redis].map { result in
            result.map { $0.keysAfter.map { "\($0) of \(first.keys)" } ?? "n/a" } ?? "n/a"
        }
        lines.append("| keys back (DBSIZE after the restart) | \(counts[0]) | \(counts[1]) | – |")
        lines.append("")
        for result in results where result.problem != nil {
            lines.append("- \(result.system.rawValue): \(result.problem!)")
        }
        if results.contains(where: { $0.problem != nil }) { lines.append("") }
        return lines
    }

    func durabilityJSON() -> JSONValue {
        guard let durability else { return .null }
        let policies = durabilityRows().map { row in
            JSONValue.object([
                ("policy", .string(row.policy.rawValue)),
                ("lockstepP50Microseconds", Self.json(row.lockstepP50)),
                ("redisP50Microseconds", Self.json(row.redisP50)),
                ("p50Ratio", Self.json(row.p50Ratio)),
                ("lockstepOpsPerSecond", Self.json(row.lockstepOperationsPerSecond)),
                ("redisOpsPerSecond", Self.json(row.redisOperationsPerSecond)),
                ("opsPerSecondRatio", Self.json(row.operationsRatio)),
            ])
        }
        let comeback = durability.comeback.map { result in
            JSONValue.object([
                ("system", .string(result.system.rawValue)),
                ("policy", .string(result.policy.rawValue)),
                ("keys", .number(Double(result.keys))),
                ("loadSeconds", .number(result.loadNanoseconds.map { Double($0) / 1e9 })),
                ("diskBytesAtKill", .number(result.diskBytesAtKill.map { Double($0) })),
                ("comebackSeconds", .number(result.comebackNanoseconds.map { Double($0) / 1e9 })),
                ("protectedSeconds", .number(result.protectedNanoseconds.map { Double($0) / 1e9 })),
                ("keysAfter", .number(result.keysAfter.map { Double($0) })),
                ("problem", result.problem.map(JSONValue.string) ?? .null),
            ])
        }
        return .object([
            ("fileSystem", durability.fileSystem.map(JSONValue.string) ?? .null),
            ("policies", .array(policies)),
            ("comeback", .array(comeback)),
        ])
    }
}
