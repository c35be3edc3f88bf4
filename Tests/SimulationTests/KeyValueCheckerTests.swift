import KeyValue
import LogChannel
import Replication
import Testing

/// The key-value checker pinned down on small hand-made histories: each rule catches the history that breaks it and
/// passes the concurrent histories it must allow.
@Suite("key-value simulation checker")
struct KeyValueCheckerTests {
    typealias Operation = KeyValueModel.Operation

    // MARK: Lists

    @Test("a queue read concurrently with its pushes may see either order of them; a sequential history passes")
    func validListHistoryPasses() {
        var history = KeyValueHistory()
        history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
        history.send(.rightPush("list:0", token: 2), tag: 2, at: 0)
        history.send(.range("list:0"), tag: 3, at: 1)
        history.answer(3, ["2", "1"], at: 2)
        history.answer(1, 2, at: 3)
        history.answer(2, 1, at: 3)
        history.send(.leftPop("list:0"), tag: 4, at: 4)
        history.answer(4, "2", at: 5)
        history.send(.length("list:0"), tag: 5, at: 6)
        history.answer(5, 1, at: 7)
        #expect(history.violations(final: .lists(["list:0": [1]])) == [])
    }

    @Test("a token popped twice, or back in the list after its pop returned, is caught")
    func popThatDoesNotRemoveIsCaught() {
        var history = KeyValueHistory()
        history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
        history.answer(1, 1, at: 1)
        history.send(.leftPop("list:0"), tag: 2, at: 2)
        history.answer(2, "1", at: 3)
        history.send(.leftPop("list:0"), tag: 3, at: 4)
        history.answer(3, "1", at: 5)
        let found = history.violations(final: .lists(["list:0": [1]]))
        #expect(found.contains { $0.contains("popped already") })
        #expect(found.contains { $0.contains("reappears") })
    }

    @Test("a read that misses a push acknowledged before it was sent, and never popped, is caught")
    func readMissingAnAcknowledgedPushIsCaught() {
        var history = KeyValueHistory()
        history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
        history.answer(1, 1, at: 1)
        history.send(.range("list:0"), tag: 2, at: 2)
        history.answer(2, [String](), at: 3)
        #expect(history.violations(final: .lists(["list:0": [1]])).count == 1)
    }

    @Test("an acknowledged push missing from the final state is caught, unless an LPOP of unknown outcome took it")
    func vanishedPushIsCaughtUnlessAPopIsUnknown() {
        for popIsLost in [false, true] {
            var history = KeyValueHistory()
            history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
            history.answer(1, 1, at: 1)
            if popIsLost {
                history.send(.leftPop("list:0"), tag: 2, at: 2)
                history.lost(tag: 2)
            }
            #expect(history.violations(final: .lists(["list:0": []])).isEmpty == popIsLost)
        }
    }

    @Test("tokens out of real-time order in a read are caught")
    func outOfOrderReadIsCaught() {
        var history = KeyValueHistory()
        history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
        history.answer(1, 1, at: 1)
        history.send(.rightPush("list:0", token: 2), tag: 2, at: 2)
        history.answer(2, 2, at: 3)
        #expect(history.violations(final: .lists(["list:0": [2, 1]])).count == 1)
    }

    // MARK: Hashes, sets, counters

    @Test("an HGET of a value overwritten before it was sent is caught; one concurrent with the overwrite passes")
    func staleFieldIsCaught() {
        for (readAt, isStale) in [(UInt64(4), true), (2, false)] {
            var history = KeyValueHistory()
            history.send(.hashSet("hash:0", field: "f0", token: 1), tag: 1, at: 0)
            history.answer(1, 1, at: 1)
            history.send(.hashSet("hash:0", field: "f0", token: 2), tag: 2, at: 2)
            history.answer(2, 0, at: 3)
            history.send(.hashGet("hash:0", field: "f0"), tag: 3, at: readAt)
            history.answer(3, "1", at: 5)
            #expect(history.violations(final: .hashes(["hash:0": ["f0": 2]])).isEmpty == !isStale)
        }
    }

    @Test("a member that a later SISMEMBER no longer finds, and a SADD answered 0 for a new token, are caught")
    func forgottenMemberIsCaught() {
        var history = KeyValueHistory()
        history.send(.setAdd("set:0", token: 1), tag: 1, at: 0)
        history.answer(1, 1, at: 1)
        history.send(.isMember("set:0", token: 1), tag: 2, at: 2)
        history.answer(2, 0, at: 3)
        history.send(.setAdd("set:0", token: 2), tag: 3, at: 4)
        history.answer(3, 0, at: 5)
        #expect(history.violations(final: .sets(["set:0": [1, 2]])).count == 2)
    }

    @Test("two INCRs answering one value, and a GET going back, are caught")
    func counterGoingBackIsCaught() {
        var history = KeyValueHistory()
        history.send(.increment("counter:0"), tag: 1, at: 0)
        history.send(.increment("counter:0"), tag: 2, at: 0)
        history.answer(1, 1, at: 1)
        history.answer(2, 1, at: 1)
        history.send(.get("counter:0"), tag: 3, at: 2)
        history.answer(3, "0", at: 3)
        let found = history.violations(final: nil)
        #expect(found.contains { $0.contains("both answered 1") })
        #expect(found.contains { $0.contains("after an earlier reply of 1") })
    }

    // MARK: Transactions

    @Test("an EXEC that sees the pair keys apart, or a final state with a token in one of them only, is caught")
    func partTransactionIsCaught() {
        var history = KeyValueHistory()
        let write: [Operation] = [
            .setAdd(KeyValueModel.pairSet, token: 1), .rightPush(KeyValueModel.pairList, token: 1),
        ]
        history.invoked(.transaction(write), tag: 1, at: at(0))
        _ = history.responded(tag: 1, with: Array(":1\r\n:1\r\n".utf8).withArrayHeader(2), at: at(1))
        let read: [Operation] = [.cardinality(KeyValueModel.pairSet), .length(KeyValueModel.pairList)]
        history.invoked(.transaction(read), tag: 2, at: at(2))
        _ = history.responded(tag: 2, with: Array(":1\r\n:0\r\n".utf8).withArrayHeader(2), at: at(3))
        var final = KeyValueModel.State()
        final.sets[KeyValueModel.pairSet] = [1]
        final.lists[KeyValueModel.pairList] = []
        let found = history.violations(final: final).filter { $0.contains("applied in part") }
        #expect(found.count == 2)
    }

    @Test("an EXEC answered with fewer replies than it queued commands is refused")
    func shortExecReplyIsRefused() {
        var history = KeyValueHistory()
        history.invoked(.transaction([.increment("counter:0"), .increment("counter:1")]), tag: 1, at: at(0))
        #expect(history.responded(tag: 1, with: Array("*1\r\n:1\r\n".utf8), at: at(1)) != nil)
    }

    // MARK: The store as the model reads it

    @Test("the model reads the store's keys through its commands, and a transaction entry applies whole")
    func stateReadsTheStore() {
        var store = KeyValueStore()
        var context = ApplyContext.recording(from: SimulatedEntropy(random: SeededRandom(seed: 3)))
        let write = KeyValueModel.Request.transaction([
            .setAdd(KeyValueModel.pairSet, token: 7), .rightPush("list:0", token: 8),
            .hashSet("hash:1", field: "f2", token: 9), .increment("counter:0"),
            .rightPush(KeyValueModel.pairList, token: 7),
        ])
        let reply = RESPReply(parsing: store.apply(write.encoded, context: &context))
        #expect(reply == .array([.integer(1), .integer(1), .integer(1), .integer(1), .integer(1)]))
        let state = KeyValueModel.State(reading: store)
        #expect(state.lists["list:0"] == [8] && state.lists[KeyValueModel.pairList] == [7])
        #expect(state.sets[KeyValueModel.pairSet] == [7] && state.sets["set:0"] == [])
        #expect(state.hashes["hash:1"] == ["f2": 9] && state.counters["counter:0"] == 1)
        #expect(state.unreadable == [])
    }
}

private func at(_ milliseconds: UInt64) -> Instant { Instant(nanoseconds: milliseconds * 1_000_000) }

extension KeyValueHistory {
    /// Sends `operation` alone as request `tag` at `milliseconds`.
    fileprivate mutating func send(_ operation: KeyValueModel.Operation, tag: UInt64, at milliseconds: UInt64) {
        invoked(.single(operation), tag: tag, at: at(milliseconds))
    }

    /// Answers request `tag` with an integer.
    fileprivate mutating func answer(_ tag: UInt64, _ value: Int64, at milliseconds: UInt64) {
        let complaint = responded(tag: tag, with: Array(":\(value)\r\n".utf8), at: at(milliseconds))
        precondition(complaint == nil, "\(complaint!)")
    }

    /// Answers request `tag` with a bulk string.
    fileprivate mutating func answer(_ tag: UInt64, _ value: String, at milliseconds: UInt64) {
        let bulk = "$\(value.utf8.count)\r\n\(value)\r\n"
        let complaint = responded(tag: tag, with: Array(bulk.utf8), at: at(milliseconds))
        precondition(complaint == nil, "\(complaint!)")
    }

    /// Answers request `tag` with an array of bulk strings.
    fileprivate mutating func answer(_ tag: UInt64, _ values: [String], at milliseconds: UInt64) {
        let elements = values.map { "$\($0.utf8.count)\r\n\($0)\r\n" }.joined()
        let complaint = responded(tag: tag, with: Array("*\(values.count)\r\n\(elements)".utf8), at: at(milliseconds))
        precondition(complaint == nil, "\(complaint!)")
    }
}

extension KeyValueModel.State {
    fileprivate static func lists(_ lists: [String: [UInt64]]) -> Self {
        var state = Self()
        state.lists = lists
        return state
    }

    fileprivate static func hashes(_ hashes: [String: [String: UInt64]]) -> Self {
        var state = Self()
        state.hashes = hashes
        return state
    }

    fileprivate static func sets(_ sets: [String: Set<UInt64>]) -> Self {
        var state = Self()
        state.sets = sets
        return state
    }
}

extension Array where Element == UInt8 {
    /// These bytes (the elements' encodings) behind an array header of `count`.
    fileprivate func withArrayHeader(_ count: Int) -> [UInt8] { Array("*\(count)\r\n".utf8) + self }
}
