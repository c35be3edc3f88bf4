import Posix
import Testing

@testable import BenchmarkKit

@Suite("redis-benchmark group")
struct RedisBenchmarkTests {
    static let csv = """
        "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
        "SET","37037.04","0.170","0.032","0.151","0.295","0.399","0.527"
        "LRANGE_100 (first 100 elements)","40000.00","0.149","0.064","0.143","0.247","0.407","0.559"

        """

    @Test("the CSV's tests are read by their header's columns, names whole and unquoted")
    func parsesCSV() throws {
        #expect(
            try RedisBenchmarkTool.parseCSV(Self.csv) == [
                .init(name: "SET", requestsPerSecond: 37037.04, p50Milliseconds: 0.151),
                .init(name: "LRANGE_100 (first 100 elements)", requestsPerSecond: 40000, p50Milliseconds: 0.143),
            ])
    }

    @Test("a test at a time: `-t` names it, and the names together are redis-benchmark 7.0's default list")
    func runsOneTestAtATime() throws {
        let tool = RedisBenchmarkTool(executable: "redis-benchmark", requests: 100, clients: 50, timeout: .seconds(1))
        let address = SocketAddress.loopback(port: 6379)
        #expect(tool.arguments(address, tests: "lrange").suffix(2) == ["-t", "lrange"])
        #expect(!tool.arguments(address).contains("-t"))
        #expect(RedisBenchmarkTool.defaultTests.joined(separator: ",")
            == "ping,set,get,incr,lpush,rpush,lpop,rpop,sadd,hset,spop,zadd,zpopmin,lrange,mset")
        // The records of one round from separate runs add up to one row per test.
        var result = RedisBenchmarkResult(requestsPerTest: 100, clients: 50)
        for (isLockstep, rate) in [(true, 90.0), (false, 100.0)] {
            result.record([.init(name: "SET", requestsPerSecond: rate, p50Milliseconds: 0.1)], isLockstep: isLockstep, round: 0)
            result.record([.init(name: "GET", requestsPerSecond: rate * 2, p50Milliseconds: 0.1)], isLockstep: isLockstep, round: 0)
        }
        #expect(result.rows.map(\.name) == ["SET", "GET"])
        #expect(result.rows.map { $0.ratio?.median } == [0.9, 0.9])
    }

    @Test("output that is not the CSV it expects is an error, not an empty table")
    func refusesOtherOutput() {
        for text in ["", "Error from server: ERR unknown command\n", Self.csv.replacing("\"rps\"", with: "\"ops\""),
            Self.csv.replacing("\"37037.04\"", with: "\"fast\""), String(Self.csv.prefix { $0 != "\n" })]
        {
            #expect(throws: BenchmarkError.self) { try RedisBenchmarkTool.parseCSV(text) }
        }
    }

    @Test("each test's ratio is Lockstep over Redis within a round, then the median over the rounds")
    func ratiosPerRound() {
        var result = RedisBenchmarkResult(requestsPerTest: 10, clients: 2)
        func run(_ set: Double, _ get: Double) -> [RedisBenchmarkTool.TestResult] {
            [.init(name: "SET", requestsPerSecond: set, p50Milliseconds: 1),
             .init(name: "GET", requestsPerSecond: get, p50Milliseconds: 1)]
        }
        result.record(run(90, 50), isLockstep: true, round: 0)
        result.record(run(100, 100), isLockstep: false, round: 0)
        result.record(run(300, 50), isLockstep: false, round: 1)
        result.record(run(150, 40), isLockstep: true, round: 1)
        let rows = result.rows
        #expect(rows.map(\.name) == ["SET", "GET"])
        #expect(rows[0].ratio == Spread([0.9, 0.5]))
        #expect(rows[0].meetsTarget == false, "the median 0.7 is under 0.9")
        #expect(rows[1].ratio == Spread([0.5, 0.8]))
        #expect(rows[0].lockstep == Spread([90, 150]))
        result.record(run(1, 1), isLockstep: true, round: 2)  // no Redis run in round 2: no ratio for it
        #expect(result.rows[0].ratio?.samples == 2)
    }

    @Test("the report prints one row per test with both figures, the ratio and the verdict")
    func reportTable() {
        var report = Report(machine: .current(), commit: nil, date: "d", profile: "p")
        var result = RedisBenchmarkResult(requestsPerTest: 10, clients: 2)
        result.record([.init(name: "SET", requestsPerSecond: 95, p50Milliseconds: 1)], isLockstep: true, round: 0)
        result.record([.init(name: "SET", requestsPerSecond: 100, p50Milliseconds: 1)], isLockstep: false, round: 0)
        report.redisBenchmark = result
        let markdown = report.markdown()
        #expect(markdown.contains("| SET | 95 | 100 | 0.95 | ≥ 0.9 | yes |"), "\(markdown)")
        #expect(report.json().rendered().contains("\"redisBenchmark\""))
    }
}
