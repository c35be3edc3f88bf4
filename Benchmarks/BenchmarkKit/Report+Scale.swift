/// The scale run in the report: per key count, Lockstep beside Redis, with the issue's targets.
extension Report {
    /// Time until protected again and memory at most Redis's (ratio ≤ 1.0); the primary's worst probe latency while
    /// the backup catches up at most this.
    static let scaleProbeMaxTargetMilliseconds = 20.0

    func scaleSection() -> [String] {
        guard !scale.isEmpty else { return [] }
        var lines: [String] = []
        for keys in Array(Set(scale.map(\.keys))).sorted() {
            let lockstep = scale.first { $0.keys == keys && $0.system == .lockstep }
            let redis = scale.first { $0.keys == keys && $0.system == .redis }
            lines += [
                "### Scale: \(keys) keys, then the backup (replica) killed and restarted",
                "",
                "| figure | Lockstep | Redis | Lockstep ÷ Redis | target | met |",
                "|---|---:|---:|---:|---:|---|",
            ]
            func seconds(_ nanoseconds: UInt64?) -> Double? { nanoseconds.map { Double($0) / 1e9 } }
            func row(
                _ title: String, _ left: Double?, _ right: Double?, _ render: (Double) -> String,
                target: Double? = nil, targetText: String = "–", isRatioTarget: Bool = true
            ) {
                let ratio = left.flatMap { left in right.flatMap { $0 > 0 ? left / $0 : nil } }
                var isMet: Bool?
                if let target { isMet = (isRatioTarget ? ratio : left).map { $0 <= target } }
                lines.append(
                    "| \(title) | \(left.map(render) ?? "n/a") | \(right.map(render) ?? "n/a") | "
                        + "\(ratio.map { Format.plain($0) } ?? "–") | \(targetText) | \(Self.verdict(isMet)) |")
            }
            let secondsText = { (value: Double) in Format.plain(value, decimals: 2) + " s" }
            let millisecondsText = { (value: Double) in Format.plain(value, decimals: 2) + " ms" }
            let mebibytesText = { (value: Double) in Format.mebibytes(UInt64(value)) }
            row("load, one client with \(ScaleBenchmark.loadDepth) SETs in flight", seconds(lockstep?.loadNanoseconds),
                seconds(redis?.loadNanoseconds), secondsText)
            if let stayed = lockstep?.stayedProtected {
                lines.append("| Lockstep stayed protected, same primary and epoch, through the load | "
                    + "\(stayed ? "yes" : "no") | – | – | yes | \(Self.verdict(stayed)) |")
            }
            row("kill -9 of the backup (replica) → protecting again", seconds(lockstep?.reprotectNanoseconds),
                seconds(redis?.reprotectNanoseconds), secondsText, target: 1.0, targetText: "≤ 1.0×")
            for (label, percentile) in [("p50", 50.0), ("p99", 99.0)] {
                row("primary's 1 ms probe meanwhile, \(label)", lockstep?.probe.map { $0.percentileMilliseconds(percentile) },
                    redis?.probe.map { $0.percentileMilliseconds(percentile) }, millisecondsText)
            }
            row("primary's 1 ms probe meanwhile, max", lockstep?.probe.map { Double($0.max) / 1e6 },
                redis?.probe.map { Double($0.max) / 1e6 }, millisecondsText,
                target: Self.scaleProbeMaxTargetMilliseconds,
                targetText: "≤ \(Format.plain(Self.scaleProbeMaxTargetMilliseconds)) ms", isRatioTarget: false)
            row("probe requests meanwhile (errors)", lockstep?.probe.map { Double($0.count) },
                redis?.probe.map { Double($0.count) }, { Format.plain($0, decimals: 0) })
            lines.append(
                "| probe errors | \(lockstep.map { "\($0.probeErrors)" } ?? "n/a") | "
                    + "\(redis.map { "\($0.probeErrors)" } ?? "n/a") | – | 0 | "
                    + "\(Self.verdict(lockstep.map { $0.probeErrors == 0 })) |")
            for (moment, pick) in [
                ("after the load", { (result: ScaleResult) in result.residentBytesAfterLoad }),
                ("once protected again", { (result: ScaleResult) in result.residentBytesAfterReprotect }),
            ] {
                row("RSS of the primary \(moment)", lockstep.flatMap { pick($0)["primary"] }.map { Double($0) },
                    redis.flatMap { pick($0)["primary"] }.map { Double($0) }, mebibytesText, target: 1.0,
                    targetText: "≤ 1.0×")
                row("RSS of the backup (replica) \(moment)", lockstep.flatMap { pick($0)["backup"] }.map { Double($0) },
                    redis.flatMap { pick($0)["replica"] }.map { Double($0) }, mebibytesText, target: 1.0,
                    targetText: "≤ 1.0×")
            }
            for result in [lockstep, redis].compactMap({ $0 }) where result.problem != nil {
                lines.append("")
                lines.append("- \(result.system.rawValue): \(result.problem!)")
            }
            lines.append("")
        }
        return lines
    }

    static func json(_ result: ScaleResult) -> JSONValue {
        func bytes(_ sizes: [String: UInt64]) -> JSONValue {
            .object(sizes.sorted { $0.key < $1.key }.map { ($0.key, .number(Double($0.value))) })
        }
        return .object([
            ("system", .string(result.system.rawValue)),
            ("keys", .number(Double(result.keys))),
            ("loadSeconds", .number(result.loadNanoseconds.map { Double($0) / 1e9 })),
            ("stayedProtected", result.stayedProtected.map(JSONValue.bool) ?? .null),
            ("reprotectSeconds", .number(result.reprotectNanoseconds.map { Double($0) / 1e9 })),
            ("probeP50Milliseconds", .number(result.probe.map { $0.percentileMilliseconds(50) })),
            ("probeP99Milliseconds", .number(result.probe.map { $0.percentileMilliseconds(99) })),
            ("probeMaxMilliseconds", .number(result.probe.map { Double($0.max) / 1e6 })),
            ("probeRequests", .number(result.probe.map { Double($0.count) })),
            ("probeErrors", .number(Double(result.probeErrors))),
            ("residentBytesAfterLoad", bytes(result.residentBytesAfterLoad)),
            ("residentBytesAfterReprotect", bytes(result.residentBytesAfterReprotect)),
            ("problem", result.problem.map(JSONValue.string) ?? .null),
        ])
    }
}

extension LatencyHistogram {
    /// The `percentile` (0-100) in milliseconds.
    func percentileMilliseconds(_ percentile: Double) -> Double { Double(self.percentile(percentile)) / 1e6 }
}
