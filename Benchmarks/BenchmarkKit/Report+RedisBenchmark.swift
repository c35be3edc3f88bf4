/// The redis-benchmark group's table: per test of the default list, both systems' ops/s and their ratio against
/// the target.
extension Report {
    func redisBenchmarkSection() -> [String] {
        guard let result = redisBenchmark, !result.testOrder.isEmpty else { return [] }
        var lines = [
            "### redis-benchmark's default tests (-n \(result.requestsPerTest) -c \(result.clients)), Lockstep pair "
                + "beside Redis with a replica",
            "",
            "| test | Lockstep ops/s | Redis ops/s | Lockstep ÷ Redis | target | met |",
            "|---|---:|---:|---:|---:|---|",
        ]
        for row in result.rows {
            lines.append(
                "| \(row.name) | \(Format.spread(row.lockstep, Format.rate)) | \(Format.spread(row.redis, Format.rate)) | "
                    + "\(Format.spread(row.ratio) { Format.plain($0) }) | ≥ \(Format.plain(RedisBenchmarkResult.target)) | "
                    + "\(Self.verdict(row.meetsTarget)) |")
        }
        lines.append("")
        return lines
    }

    func redisBenchmarkJSON() -> JSONValue {
        guard let result = redisBenchmark else { return .null }
        return .object([
            ("requestsPerTest", .number(Double(result.requestsPerTest))),
            ("clients", .number(Double(result.clients))),
            ("target", .number(RedisBenchmarkResult.target)),
            (
                "tests",
                .array(
                    result.rows.map { row in
                        .object([
                            ("test", .string(row.name)),
                            ("lockstepOpsPerSecond", Self.json(row.lockstep)),
                            ("redisOpsPerSecond", Self.json(row.redis)),
                            ("ratio", Self.json(row.ratio)),
                        ])
                    })
            ),
        ])
    }
}
