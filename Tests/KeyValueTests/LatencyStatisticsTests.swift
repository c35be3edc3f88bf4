import Testing
@testable import KeyValue
import Replication

/// INFO latencystats and its two settings, as Redis 7.0 documents them and tests/unit/info.tcl checks them: a
/// `latency_percentiles_usec_<command>` line per command called, `latency-tracking` and
/// `latency-tracking-info-percentiles` with Redis's printing and errors, CONFIG RESETSTAT; and the histogram under it.
@Suite("latency statistics: INFO latencystats")
struct LatencyStatisticsTests {
    /// The `latency_percentiles_usec_<name>` value INFO latencystats shows, as Redis's `latencyrstat_percentiles`
    /// reads it; nil without a line.
    static func percentiles(_ node: inout ConnectedStore, _ name: String) -> String? {
        CommandStatisticsTests.info(&node, "latencystats")["latency_percentiles_usec_\(name)"]
    }

    /// Redis's default percentiles, each latency in microseconds with three decimals.
    static var defaultFormat: Regex<Substring> { /p50=\d+\.\d{3},p99=\d+\.\d{3},p99\.9=\d+\.\d{3}/ }

    /// `CONFIG SET name value` on `node`.
    @discardableResult
    static func configSet(_ node: inout ConnectedStore, _ name: String, _ value: String) -> String {
        node.send(1, "CONFIG", "SET", name, value)
    }

    // MARK: The histogram

    @Test("every latency falls in a bucket holding it: exact below 128 ns, above at most 1/64 of its value wide")
    func bucketsHoldTheirValues() {
        var values: [UInt64] = Array(0...4_096)
        for bit in 7..<31 {
            let power = UInt64(1) << UInt64(bit)
            values += [power - 1, power, power + 1, power + power / 2]
        }
        var generator = SplitMix64(seed: 20)
        for _ in 0..<10_000 { values.append(generator.next() % 2_000_000_000) }
        var previous = (value: UInt64(0), index: 0)
        for value in values.sorted() {
            let clamped = max(1, min(value, LatencyHistogram.nanosecondsLimit))
            let index = LatencyHistogram.bucketIndex(value)
            let range = LatencyHistogram.range(ofBucket: index)
            #expect(index >= 0 && index < LatencyHistogram.bucketCount, "\(value)")
            #expect(range.contains(clamped), "\(value) in bucket \(index), \(range)")
            if clamped < LatencyHistogram.exactLimit {
                #expect(range.count == 1, "\(value)")
            } else {
                #expect(UInt64(range.count) * 64 <= range.lowerBound, "\(value): \(range)")
            }
            #expect(value < previous.value || index >= previous.index, "buckets follow the values' order")
            previous = (value, index)
        }
    }

    @Test("a percentile is the largest latency of the bucket where the calls reach it; p0 the smallest")
    func percentilesFromBuckets() {
        let statistics = CommandStatistics()
        let slot = CommandStatistics.slot(DataCommand.set)
        // 1,000 ns is its bucket's lowest value (1,000...1,007); 3 ms lies in 2,981,888...3,014,655.
        for _ in 0..<100 { statistics.noteCall(slot, nanoseconds: 1_000, reply: Array("+OK\r\n".utf8)) }
        statistics.noteCall(slot, nanoseconds: 3_000_000, reply: Array("+OK\r\n".utf8))
        #expect(statistics.latencyLines().map(\.1) == ["p50=1.007,p99=1.007,p99.9=3014.655"])
        statistics.percentiles = [0, 50, 99, 99.9, 100]
        // p99 of 101 calls is the 100th (rounded to the nearest call), p99.9 the 101st.
        #expect(statistics.latencyLines().map(\.0) == ["latency_percentiles_usec_set"])
        #expect(statistics.latencyLines().map(\.1) == ["p0=1.000,p50=1.007,p99=1.007,p99.9=3014.655,p100=3014.655"])
    }

    @Test("latencies are clamped to 1 ns and 1 s, as Redis clamps them")
    func clamped() {
        let statistics = CommandStatistics()
        statistics.noteCall(CommandStatistics.slot(DataCommand.get), nanoseconds: 0, reply: Array("$-1\r\n".utf8))
        statistics.noteCall(
            CommandStatistics.slot(DataCommand.set), nanoseconds: 5_000_000_000, reply: Array("+OK\r\n".utf8))
        let top = LatencyHistogram.range(ofBucket: LatencyHistogram.bucketIndex(1_000_000_000)).upperBound
        #expect(statistics.latencyLines().map(\.1) == [
            "p50=0.001,p99=0.001,p99.9=0.001",
            "p50=\(LatencyHistogram.microsecondsText(top)),p99=\(LatencyHistogram.microsecondsText(top))"
                + ",p99.9=\(LatencyHistogram.microsecondsText(top))",
        ])
        #expect(top >= 1_000_000_000 && top < 1_020_000_000)
    }

    // MARK: INFO latencystats

    @Test("INFO latencystats has a line per command called, with Redis's default percentiles, and none for others")
    func linePerCommand() throws {
        var node = ConnectedStore()
        node.send(1, "SET", "a", "b")
        node.send(1, "GET", "a")
        let set = try #require(Self.percentiles(&node, "set"))
        let get = try #require(Self.percentiles(&node, "get"))
        #expect(set.wholeMatch(of: Self.defaultFormat) != nil, "\(set)")
        #expect(get.wholeMatch(of: Self.defaultFormat) != nil, "\(get)")
        #expect(Self.percentiles(&node, "del") == nil)
        let reply = node.send(1, "INFO", "latencystats")
        #expect(reply.contains("# Latencystats\r\nlatency_percentiles_usec_"))
        #expect(!node.send(1, "INFO").contains("Latencystats"), "not a default section")
        #expect(node.send(1, "INFO", "everything").contains("latency_percentiles_usec_set:p50="))
    }

    @Test("subcommands, blocking pops and the commands EXEC runs have lines of their own")
    func subcommandsAndPops() {
        var node = ConnectedStore()
        node.send(1, "CLIENT", "ID")
        #expect(node.send(1, "BLPOP", "list", "0") == ConnectedStore.waiting)
        node.send(2, "MULTI")
        node.send(2, "LPUSH", "list", "a")
        node.send(2, "EXEC")
        for name in ["client|id", "blpop", "lpush", "multi", "exec"] {
            #expect(Self.percentiles(&node, name)?.wholeMatch(of: Self.defaultFormat) != nil, "\(name)")
        }
        #expect(Self.percentiles(&node, "client") == nil, "the container has no line of its own")
    }

    // MARK: Settings

    @Test("latency-tracking no stops recording and shows only the title; yes records again; RESETSTAT forgets")
    func trackingOnAndOff() {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "GET", "latency-tracking") == RESP.array(
            RESP.bulk("latency-tracking"), RESP.bulk("yes")))
        #expect(Self.configSet(&node, "latency-tracking", "no") == RESP.ok)
        node.send(1, "SET", "a", "b")
        #expect(node.send(1, "INFO", "latencystats") == RESP.bulk("# Latencystats\r\n"))
        #expect(Self.configSet(&node, "latency-tracking", "YES") == RESP.ok)
        #expect(Self.percentiles(&node, "set") == nil, "the SET while off was not recorded")
        node.send(1, "SET", "a", "b")
        #expect(Self.percentiles(&node, "set") != nil)
        #expect(node.send(1, "CONFIG", "RESETSTAT") == RESP.ok)
        #expect(Self.percentiles(&node, "set") == nil)
        #expect(node.send(1, "CONFIG", "GET", "latency-tracking") == RESP.array(
            RESP.bulk("latency-tracking"), RESP.bulk("yes")), "RESETSTAT keeps the setting")
        #expect(Self.configSet(&node, "latency-tracking", "maybe") == RESP.error(
            "ERR CONFIG SET failed (possibly related to argument 'latency-tracking') - argument must be 'yes' or 'no'"))
    }

    @Test("latency-tracking-info-percentiles: printed as Redis prints them, in the order given, or none")
    func choosingPercentiles() throws {
        var node = ConnectedStore()
        func get() -> String { node.send(1, "CONFIG", "GET", "latency-tracking-info-percentiles") }
        func value(_ text: String) -> String {
            RESP.array(RESP.bulk("latency-tracking-info-percentiles"), RESP.bulk(text))
        }
        #expect(get() == value("50 99 99.9"))
        node.send(1, "SET", "a", "b")
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "0.0 50.0 100.0") == RESP.ok)
        #expect(get() == value("0 50 100"))
        let line = try #require(Self.percentiles(&node, "set"))
        #expect(line.wholeMatch(of: /p0=\d+\.\d{3},p50=\d+\.\d{3},p100=\d+\.\d{3}/) != nil, "\(line)")
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "99.99 1e1 33.3333333") == RESP.ok)
        #expect(get() == value("99.99 10 33.333333"))
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "") == RESP.ok)
        #expect(get() == value(""))
        #expect(Self.percentiles(&node, "set") == "")
        #expect(node.send(1, "CONFIG", "RESETSTAT") == RESP.ok)
        #expect(get() == value(""), "RESETSTAT keeps the setting")
    }

    @Test("a percentile that is not a number, or lies outside 0 to 100, is refused with Redis's reason")
    func badPercentiles() {
        var node = ConnectedStore()
        let failed = "ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - "
        let invalid = RESP.error(failed + "Invalid latency-tracking-info-percentiles parameters")
        let outside = RESP.error(failed + "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "10.0 50.0 a") == invalid)
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "10  50") == invalid, "an empty one")
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "nan") == invalid)
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "10.0 50.0 101.0") == outside)
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "-0.5") == outside)
        #expect(Self.configSet(&node, "latency-tracking-info-percentiles", "inf") == outside)
        #expect(node.send(1, "CONFIG", "GET", "latency-tracking-info-percentiles") == RESP.array(
            RESP.bulk("latency-tracking-info-percentiles"), RESP.bulk("50 99 99.9")), "left as it was")
        #expect(CommandStatisticsTests.totalErrors(&node) == "6")
    }
}
