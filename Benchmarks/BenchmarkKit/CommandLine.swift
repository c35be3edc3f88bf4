/// The `lockstep-bench` command line, parsed into options; kept here so it is unit-tested.
public enum BenchmarkCommandLine {
    public enum Parsed: Sendable {
        case help
        case run(BenchmarkOptions, isStrict: Bool)
    }

    public struct UsageError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    public static let usage = """
        usage: lockstep-bench [--quick] [--rounds N] [--json PATH] [--only GROUP[,GROUP...]] [--duration SECONDS]
                              [--failover-cycles N] [--node-timeout MS] [--lockstep PATH] [--redis-server PATH]
                              [--keys N] [--unacked-bytes N] [--unacked-entries N] [--scale-keys N[,N...]]
                              [--fsync POLICY[,POLICY...]] [--durability-keys N] [--strict]

        Measures a Lockstep pair beside the loopback floors and a Redis primary+replica, in one run.
        Build both binaries first:  swift build -c release && .build/release/lockstep-bench

          --quick              one round of short cases, 3 failovers: under a minute (CI smoke test)
          --rounds N           interleaved rounds (default 3; figures are medians with min–max)
          --json PATH          also write the report as one JSON object to PATH
          --only GROUPS        run only these: floors, lockstep, redis, sessions, failover, backpressure, scale,
                               durability, redis-benchmark (comma-separated)
          --duration SECONDS   measured time per case (default 2, quick 0.5)
          --failover-cycles N  kill -9 cycles (default 10, quick 3)
          --keys N             keys cycled through by SET and GET (default 10000, quick 2000)
          --unacked-bytes N    the backpressure pair's --unacked-bytes (default 524288)
          --unacked-entries N  the backpressure pair's --unacked-entries (default 1000000)
          --scale-keys N,...   key counts the scale group loads (default 1000000,10000000; quick: none)
          --fsync P,...        the durability group's policies: no, everysec, always (default all; quick: always)
          --durability-keys N  keys loaded before the durability group kills and restarts everything
                               (default 1000000, quick 2000)
          --node-timeout MS    pass --timeout MS to the failover pair (default: the node's own default)
          --lockstep PATH      the lockstep binary (default: beside this executable)
          --redis-server PATH  redis-server (default: from PATH; absent Redis is reported, not fatal)
          --strict             exit 1 if a case produced no figures or had errors (for CI; never judges timings)
        """

    public static func parse(_ arguments: [String]) throws(UsageError) -> Parsed {
        var plan = arguments.contains("--quick") ? BenchmarkPlan.quick : BenchmarkPlan.full
        var options = BenchmarkOptions(plan: plan)
        var isStrict = false
        var index = 0
        func value(_ flag: String) throws(UsageError) -> String {
            index += 1
            guard index < arguments.count else { throw UsageError(description: "\(flag) needs a value") }
            return arguments[index]
        }
        func positive(_ flag: String) throws(UsageError) -> Int {
            let text = try value(flag)
            guard let number = Int(text), number > 0 else {
                throw UsageError(description: "\(flag) needs a positive whole number, not \"\(text)\"")
            }
            return number
        }
        while index < arguments.count {
            let flag = arguments[index]
            switch flag {
            case "--help", "-h":
                return .help
            case "--quick":
                break
            case "--strict":
                isStrict = true
            case "--rounds":
                plan.rounds = try positive(flag)
            case "--json":
                options.jsonPath = try value(flag)
            case "--only":
                var parts: Set<BenchmarkPlan.Part> = []
                for name in try value(flag).split(separator: ",") {
                    guard let part = BenchmarkPlan.Part(rawValue: String(name)) else {
                        let known = BenchmarkPlan.Part.allCases.map(\.rawValue).joined(separator: ", ")
                        throw UsageError(description: "--only: unknown group \"\(name)\"; known: \(known)")
                    }
                    parts.insert(part)
                }
                plan.parts = parts
            case "--duration":
                let text = try value(flag)
                guard let seconds = Double(text), seconds > 0, seconds <= 600 else {
                    throw UsageError(description: "--duration needs seconds between 0 and 600, not \"\(text)\"")
                }
                plan.caseDurationNanoseconds = UInt64(seconds * 1e9)
            case "--failover-cycles":
                plan.failoverCycles = try positive(flag)
            case "--keys":
                plan.keyspace = try positive(flag)
            case "--scale-keys":
                var counts: [Int] = []
                for text in try value(flag).split(separator: ",") {
                    guard let count = Int(text), count > 0 else {
                        throw UsageError(description: "--scale-keys needs positive key counts, not \"\(text)\"")
                    }
                    counts.append(count)
                }
                plan.scaleKeyCounts = counts
            case "--fsync":
                var policies: [FsyncPolicy] = []
                for name in try value(flag).split(separator: ",") {
                    guard let policy = FsyncPolicy(rawValue: String(name)) else {
                        let known = FsyncPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                        throw UsageError(description: "--fsync: unknown policy \"\(name)\"; known: \(known)")
                    }
                    if !policies.contains(policy) { policies.append(policy) }
                }
                guard !policies.isEmpty else { throw UsageError(description: "--fsync needs at least one policy") }
                plan.durabilityPolicies = policies
            case "--durability-keys":
                plan.comebackKeys = try positive(flag)
            case "--unacked-bytes":
                plan.backpressureUnackedBytesLimit = UInt64(try positive(flag))
            case "--unacked-entries":
                plan.backpressureUnackedEntriesLimit = UInt64(try positive(flag))
            case "--node-timeout":
                options.nodeTimeoutMilliseconds = try positive(flag)
            case "--lockstep":
                options.lockstepPath = try value(flag)
            case "--redis-server":
                options.redisPath = try value(flag)
            default:
                throw UsageError(description: "unknown option \"\(flag)\"; see --help")
            }
            index += 1
        }
        options.plan = plan
        return .run(options, isStrict: isStrict)
    }
}
