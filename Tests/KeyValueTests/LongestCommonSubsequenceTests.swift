import Testing
@testable import KeyValue
import Replication

/// LCS as Redis 7.0 documents it (https://redis.io/commands/lcs) and tests it (`tests/unit/type/string.tcl`): the
/// subsequence, its length and its match ranges exactly as Redis gives them, Redis's errors in Redis's order, the RESP3
/// map, and the bound on the table; run replicated, and answered alike without a log entry.
@Suite("LCS")
struct LongestCommonSubsequenceTests {
    /// One match of an IDX reply: inclusive ranges in the first and the second value.
    typealias Match = (first: ClosedRange<Int>, second: ClosedRange<Int>)

    /// An IDX reply in RESP2: `matches`, each match with its length when `withLengths`, then `len`.
    static func indexes(_ matches: [Match], withLengths: Bool = false, length: Int) -> String {
        let encoded = matches.map { match in
            var parts = [
                RESP.array(RESP.integer(match.first.lowerBound), RESP.integer(match.first.upperBound)),
                RESP.array(RESP.integer(match.second.lowerBound), RESP.integer(match.second.upperBound)),
            ]
            if withLengths { parts.append(RESP.integer(match.first.count)) }
            return "*\(parts.count)\r\n" + parts.joined()
        }
        return RESP.array(RESP.bulk("matches"), "*\(encoded.count)\r\n" + encoded.joined(), RESP.bulk("len"),
            RESP.integer(length))
    }

    /// A store holding Redis's documented example, `ohmytext` and `mynewtext`.
    static func documented() -> ConnectedStore {
        var node = ConnectedStore()
        node.send(1, "MSET", "key1", "ohmytext", "key2", "mynewtext")
        return node
    }

    /// The two values of string.tcl's LCS tests, and their LCS.
    static let rna1 = [
        "CACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCAT",
        "GCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCG",
        "TCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTTCGTCCGGGTGTG",
    ].joined()
    static let rna2 = [
        "ATTAAAGGTTTATACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTC",
        "ACTCGGCTGCATGCTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTG",
        "CTTACGGTTTCGTCCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT",
    ].joined()
    static let rnaSubsequence = [
        "ACCTTCCCAGGTAACAAACCAACCAACTTTCGATCTCTTGTAGATCTGTTCTCTAAACGAACTTTAAAATCTGTGTGGCTGTCACTCGGCTGCATG",
        "CTTAGTGCACTCACGCAGTATAATTAATAACTAATTACTGTCGTTGACAGGACACGAGTAACTCGTCTATCTTCTGCAGGCTGCTTACGGTTTCGT",
        "CCGTGTTGCAGCCGATCATCAGCACATCTAGGTTT",
    ].joined()

    static let wrongKinds = RESP.error("ERR The specified keys must contain string values")
    static let lengthWithIndexes = RESP.error("ERR If you want both the length and indexes, please just use IDX.")
    static let tooLarge = RESP.error("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")

    @Test("the documented example: the subsequence, LEN, and IDX with MINMATCHLEN and WITHMATCHLEN")
    func documentedExample() {
        var node = Self.documented()
        #expect(node.send(1, "LCS", "key1", "key2") == RESP.bulk("mytext"))
        #expect(node.send(1, "LCS", "key1", "key2", "LEN") == RESP.integer(6))
        #expect(node.send(1, "LCS", "key1", "key2", "IDX") == Self.indexes([(4...7, 5...8), (2...3, 0...1)], length: 6))
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4")
            == Self.indexes([(4...7, 5...8)], length: 6))
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
            == Self.indexes([(4...7, 5...8)], withLengths: true, length: 6))
        #expect(node.send(1, "lcs", "key1", "key2", "withmatchlen", "idx")
            == Self.indexes([(4...7, 5...8), (2...3, 0...1)], withLengths: true, length: 6), "any case, any order")
        #expect(node.send(1, "LCS", "key2", "key1") == RESP.bulk("mytext"))
        #expect(node.send(1, "LCS", "key2", "key1", "IDX") == Self.indexes([(5...8, 4...7), (0...1, 2...3)], length: 6))
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    @Test("Redis's virus strings: the subsequence, its length and the exact match ranges of string.tcl")
    func virusStrings() {
        var node = ConnectedStore()
        node.send(1, "SET", "virus1", Self.rna1)
        node.send(1, "SET", "virus2", Self.rna2)
        #expect(node.send(1, "LCS", "virus1", "virus2") == RESP.bulk(Self.rnaSubsequence))
        #expect(node.send(1, "LCS", "virus1", "virus2", "LEN") == RESP.integer(Self.rnaSubsequence.count))
        let matches: [Match] = [
            (238...238, 239...239), (236...236, 238...238), (229...230, 236...237), (224...224, 235...235),
            (1...222, 13...234),
        ]
        let length = Self.rnaSubsequence.count
        #expect(node.send(1, "LCS", "virus1", "virus2", "IDX") == Self.indexes(matches, length: length))
        #expect(node.send(1, "LCS", "virus1", "virus2", "IDX", "WITHMATCHLEN")
            == Self.indexes(matches, withLengths: true, length: length))
        #expect(node.send(1, "LCS", "virus1", "virus2", "IDX", "WITHMATCHLEN", "MINMATCHLEN", "5")
            == Self.indexes([(1...222, 13...234)], withLengths: true, length: length))
    }

    @Test("where two subsequences are as long, the one Redis picks, with its ranges (as Redis 7.0.15 answered)")
    func ties() {
        var node = ConnectedStore()
        let cases: [(a: String, b: String, subsequence: String, matches: [Match])] = [
            ("ab", "ba", "b", [(1...1, 0...0)]),
            ("bacccbbcaaa", "accaabba", "accaaa", [(10...10, 7...7), (7...9, 2...4), (4...4, 1...1), (1...1, 0...0)]),
            ("baaabcbbcca", "babbccbc", "babbcc", [(6...9, 2...5), (3...3, 1...1), (0...0, 0...0)]),
            ("cababcab", "caabbccbbbc", "caabcb", [(7...7, 9...9), (4...5, 4...5), (3...3, 2...2), (0...1, 0...1)]),
        ]
        for (a, b, subsequence, matches) in cases {
            node.send(1, "MSET", "a", a, "b", b)
            #expect(node.send(1, "LCS", "a", "b") == RESP.bulk(subsequence), "\(a) \(b)")
            #expect(node.send(1, "LCS", "a", "b", "IDX", "WITHMATCHLEN")
                == Self.indexes(matches, withLengths: true, length: subsequence.count), "\(a) \(b)")
        }
    }

    @Test("a missing key reads as an empty string")
    func missingKeys() {
        var node = Self.documented()
        #expect(node.send(1, "LCS", "key1", "missing") == RESP.bulk(""))
        #expect(node.send(1, "LCS", "missing", "key2", "LEN") == RESP.integer(0))
        #expect(node.send(1, "LCS", "missing", "other", "IDX", "WITHMATCHLEN") == Self.indexes([], length: 0))
        #expect(node.send(1, "EXISTS", "missing") == RESP.integer(0), "nothing was created")
    }

    @Test("errors in Redis's order: the keys' kinds, each option in turn, LEN with IDX; a negative MINMATCHLEN is 0")
    func errors() {
        var node = Self.documented()
        node.send(1, "RPUSH", "list", "a")
        #expect(node.send(1, "LCS", "list", "key2") == Self.wrongKinds)
        #expect(node.send(1, "LCS", "key1", "list") == Self.wrongKinds)
        #expect(node.send(1, "LCS", "missing", "list", "BOGUS") == Self.wrongKinds, "the kinds come before the options")
        let syntax = RESP.error("ERR syntax error")
        #expect(node.send(1, "LCS", "key1", "key2", "BOGUS") == syntax)
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN") == syntax, "MINMATCHLEN without its value")
        #expect(node.send(1, "LCS", "key1", "key2", "LEN", "IDX", "BOGUS") == syntax, "options before LEN with IDX")
        let notInteger = RESP.error("ERR value is not an integer or out of range")
        #expect(node.send(1, "LCS", "key1", "key2", "MINMATCHLEN", "four") == notInteger)
        #expect(node.send(1, "LCS", "key1", "key2", "MINMATCHLEN", "1.5", "BOGUS") == notInteger, "the first error")
        #expect(node.send(1, "LCS", "key1", "key2", "MINMATCHLEN", "99999999999999999999") == notInteger)
        #expect(node.send(1, "LCS", "key1", "key2", "LEN", "IDX") == Self.lengthWithIndexes)
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "2", "LEN") == Self.lengthWithIndexes)
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "-5", "WITHMATCHLEN")
            == Self.indexes([(4...7, 5...8), (2...3, 0...1)], withLengths: true, length: 6))
        #expect(node.send(1, "LCS", "key1") == RESP.error("ERR wrong number of arguments for 'lcs' command"))
    }

    @Test("under RESP3, IDX answers a map of matches and len; the subsequence, LEN and errors are unchanged")
    func resp3() {
        var node = RESP3Tests.connected()
        node.send(1, "MSET", "key1", "ohmytext", "key2", "mynewtext")
        #expect(node.send(1, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")
            == "%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n")
        #expect(node.send(1, "LCS", "missing", "key2", "idx") == "%2\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n")
        #expect(node.send(2, "LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4")
            == Self.indexes([(4...7, 5...8)], length: 6), "RESP2 connections keep the flat array")
        #expect(node.send(1, "LCS", "key1", "key2") == RESP.bulk("mytext"))
        #expect(node.send(1, "LCS", "key1", "key2", "LEN") == RESP.integer(6))
        #expect(node.send(1, "LCS", "key1", "key2", "LEN", "IDX") == Self.lengthWithIndexes)
        #expect(node.send(1, "LCS", "key1", "key2", "MINMATCHLEN", "IDX")
            == RESP.error("ERR value is not an integer or out of range"))
    }

    @Test("a table above 64 MiB is refused with Redis's error, however short each value; one at the bound is built")
    func tableBound() {
        var node = ConnectedStore()
        #expect(KeyValueStore.lcsTableBytesLimit == 64 << 20)
        // 4,097 × 4,097 cells of 4 bytes: just over the bound, from two values of 4 KiB.
        node.send(1, "SET", "a", String(repeating: "a", count: 4096))
        node.send(1, "SET", "b", String(repeating: "a", count: 4096))
        for options in [[], ["LEN"], ["IDX"]] {
            #expect(node.send(1, arguments: ["LCS", "a", "b"] + options) == Self.tooLarge, "\(options)")
        }
        #expect(node.send(1, "LCS", "a", "b", "LEN", "IDX") == Self.lengthWithIndexes, "options are judged first")
        // 4,096 × 4,096 cells of 4 bytes are the bound exactly: built, and walked.
        node.send(1, "SET", "a", String(repeating: "a", count: 4095))
        node.send(1, "SET", "b", "b" + String(repeating: "a", count: 4094))
        #expect(node.send(1, "LCS", "a", "b", "LEN") == RESP.integer(4094))
        #expect(node.send(1, "LCS", "a", "b", "IDX", "WITHMATCHLEN")
            == Self.indexes([(1...4094, 1...4094)], withLengths: true, length: 4094))
        // An empty value makes a table of one row, however long the other.
        node.send(1, "SET", "long", String(repeating: "x", count: 1 << 20))
        #expect(node.send(1, "LCS", "missing", "long") == RESP.bulk(""))
    }

    @Test("COMMAND INFO: arity -3, a read, keys 1 and 2; COMMAND GETKEYS names both")
    func commandInfo() {
        var node = ConnectedStore()
        #expect(node.send(1, "COMMAND", "INFO", "lcs")
            == RESP.array("*10\r\n$3\r\nlcs\r\n:-3\r\n*1\r\n+readonly\r\n:1\r\n:2\r\n:1\r\n"
                + "*2\r\n+@string\r\n+@read\r\n*0\r\n*0\r\n*0\r\n"))
        #expect(node.send(1, "COMMAND", "GETKEYS", "LCS", "k1", "k2", "IDX")
            == RESP.array(RESP.bulk("k1"), RESP.bulk("k2")))
    }

    @Test("answered without a log entry as the logged command answers; an expired key of either sends it to the log")
    func readWithoutEntry() {
        var driver = StoreDriver()
        driver.run("MSET", "key1", "ohmytext", "key2", "mynewtext")
        driver.run("SET", "fading", "text", "PX", "100")
        driver.run("RPUSH", "list", "x")
        let reads: [[String]] = [
            ["LCS", "key1", "key2"], ["LCS", "key1", "key2", "LEN"], ["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
            ["LCS", "key1", "fading", "IDX"], ["LCS", "key1", "missing"], ["LCS", "key1", "list"],
            ["LCS", "key1", "key2", "LEN", "IDX"], ["LCS", "key1", "key2", "BOGUS"],
        ]
        for arguments in reads {
            let digest = driver.store.digest()
            var context = ApplyContext.recording(from: driver.entropy)
            let answered = driver.store.readReply(KeyValueCommand.encode(arguments.map(bytes)), context: &context)
            #expect(answered != nil, "\(arguments) was not answered without an entry")
            #expect(driver.store.digest() == digest, "\(arguments) changed the store")
            #expect(answered.map(text) == text(driver.run(arguments: arguments.map(bytes))), "\(arguments)")
        }
        driver.advance(milliseconds: 200)
        for keys in [["fading", "key2"], ["key1", "fading"]] {
            var context = ApplyContext.recording(from: driver.entropy)
            let command = KeyValueCommand.encode((["LCS"] + keys).map(bytes))
            #expect(driver.store.readReply(command, context: &context) == nil, "\(keys)")
        }
        let count = driver.store.count
        #expect(driver.run("LCS", "key1", "fading") == RESP.bulk(""))
        #expect(driver.store.count == count - 1, "the logged LCS deleted the expired key, on both nodes alike")
        var backup = KeyValueStore()
        let (replies, divergence) = replay(driver.log, into: &backup)
        #expect(divergence == nil)
        #expect(replies == driver.replies, "the backup answered differently")
        #expect(backup.digest() == driver.store.digest())
    }

    @Test("random values: LEN is the LCS length found independently; the subsequence and every match agree with it")
    func randomValues() {
        var node = ConnectedStore()
        var generator = SplitMix64(seed: 20)
        for _ in 0..<150 {
            let first = (0..<Int(generator.next() % 14)).map { _ in UInt8(ascii: "a") + UInt8(generator.next() % 3) }
            let second = (0..<Int(generator.next() % 14)).map { _ in UInt8(ascii: "a") + UInt8(generator.next() % 3) }
            let a = String(decoding: first, as: UTF8.self), b = String(decoding: second, as: UTF8.self)
            node.send(1, "MSET", "a", a, "b", b)
            let expected = Self.lengthByRecursion(first, second)
            #expect(node.send(1, "LCS", "a", "b", "LEN") == RESP.integer(expected), "\(a) \(b)")
            guard case .bulk(let subsequence?)? = DecodedReply.one(Array(node.send(1, "LCS", "a", "b").utf8)) else {
                Issue.record("LCS \(a) \(b) answered no string")
                continue
            }
            #expect(subsequence.utf8.count == expected && Self.isSubsequence(Array(subsequence.utf8), of: first)
                && Self.isSubsequence(Array(subsequence.utf8), of: second), "\(a) \(b)")
            // The matches, from the last: each a stretch equal in both, before the one listed before it in both.
            let (walked, matches) = KeyValueStore.lcsWalk(KeyValueStore.lcsTable(first[...], second[...]), first[...],
                second[...])
            #expect(walked == Array(subsequence.utf8))
            #expect(matches.map(\.length).reduce(0, +) == expected)
            var after = (first.count, second.count)
            for match in matches {
                #expect(match.first.count == match.second.count && first[match.first] == second[match.second])
                #expect(match.first.upperBound <= after.0 && match.second.upperBound <= after.1, "\(a) \(b)")
                after = (match.first.lowerBound, match.second.lowerBound)
            }
            let listed = matches.map { (first: $0.first.lowerBound...($0.first.upperBound - 1),
                second: $0.second.lowerBound...($0.second.upperBound - 1)) }
            #expect(node.send(1, "LCS", "a", "b", "IDX", "WITHMATCHLEN")
                == Self.indexes(listed, withLengths: true, length: expected))
        }
    }

    /// The LCS length of two short byte strings by the textbook recursion on their suffixes, memoized; no table.
    static func lengthByRecursion(_ first: [UInt8], _ second: [UInt8]) -> Int {
        var known: [Int: Int] = [:]
        func length(_ i: Int, _ j: Int) -> Int {
            if i == first.count || j == second.count { return 0 }
            if let found = known[i * 1000 + j] { return found }
            let result =
                first[i] == second[j] ? 1 + length(i + 1, j + 1) : max(length(i + 1, j), length(i, j + 1))
            known[i * 1000 + j] = result
            return result
        }
        return length(0, 0)
    }

    static func isSubsequence(_ candidate: [UInt8], of value: [UInt8]) -> Bool {
        var remaining = candidate[...]
        for byte in value where remaining.first == byte { remaining = remaining.dropFirst() }
        return remaining.isEmpty
    }
}
