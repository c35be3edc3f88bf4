/// The redis-benchmark group: redis-benchmark's default test list run against a Lockstep pair's primary and against
/// a Redis primary with a replica, in alternating order round after round, and the ops/s ratio per test.
public struct RedisBenchmarkResult: Sendable {
    /// The ratio each test should reach (issue 20): Lockstep's ops/s at least this share of Redis's.
    public static let target = 0.9

    /// `-n` and `-c` of every run.
    public var requestsPerTest: Int
    public var clients: Int
    /// Per round, each system's requests per second by test name.
    public var lockstep: [[String: Double]] = []
    public var redis: [[String: Double]] = []
    /// Test names in the order redis-benchmark ran them.
    public var testOrder: [String] = []

    public init(requestsPerTest: Int, clients: Int) {
        self.requestsPerTest = requestsPerTest
        self.clients = clients
    }

    /// One test across the rounds.
    public struct Row: Sendable {
        public var name: String
        public var lockstep: Spread?
        public var redis: Spread?
        /// Lockstep / Redis per round (both measured seconds apart), then the spread of those.
        public var ratio: Spread?
        public var meetsTarget: Bool? { ratio.map { $0.median >= RedisBenchmarkResult.target } }
    }

    /// Adds one system's run of the list in round `round`.
    public mutating func record(_ results: [RedisBenchmarkTool.TestResult], isLockstep: Bool, round: Int) {
        for result in results where !testOrder.contains(result.name) { testOrder.append(result.name) }
        func add(_ rounds: inout [[String: Double]]) {
            while rounds.count <= round { rounds.append([:]) }
            for result in results { rounds[round][result.name] = result.requestsPerSecond }
        }
        if isLockstep { add(&lockstep) } else { add(&redis) }
    }

    public var rows: [Row] {
        testOrder.map { name in
            let roundCount = max(lockstep.count, redis.count)
            let ratios = (0..<roundCount).compactMap { round -> Double? in
                guard round < lockstep.count, round < redis.count, let mine = lockstep[round][name],
                    let theirs = redis[round][name], theirs > 0
                else { return nil }
                return mine / theirs
            }
            return Row(
                name: name, lockstep: Spread(lockstep.compactMap { $0[name] }), redis: Spread(redis.compactMap { $0[name] }),
                ratio: Spread(ratios))
        }
    }
}
