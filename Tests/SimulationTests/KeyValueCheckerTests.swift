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

    // MARK: Watched transactions

    @Test("an EXEC that commits though its key changed after its WATCH is caught; one that aborts then passes")
    func execThroughAChangeIsCaught() {
        for isAborted in [false, true] {
            var history = KeyValueHistory()
            history.watch("watched:0", tag: 1, at: 0, answeredAt: 1)
            history.watch("watched:0", tag: 2, at: 0, answeredAt: 1)
            history.invoked(.watchedTransaction([.set("watched:0", value: 1)]), tag: 3, at: at(2), watch: 2)
            history.answerExec(3, committed: true, at: 3)
            history.invoked(.watchedTransaction([.set("watched:0", value: 2)]), tag: 4, at: at(4), watch: 1)
            history.answerExec(4, committed: !isAborted, at: 5)
            let found = history.violations(final: nil)
            #expect(found.contains { $0.contains("committed, though") } == !isAborted)
            #expect(found.count == (isAborted ? 0 : 1))
        }
    }

    @Test("an EXEC that aborts though nothing wrote its key is caught, unless a write of unknown outcome may have")
    func abortWithoutAChangeIsCaught() {
        for writeIsLost in [false, true] {
            var history = KeyValueHistory()
            history.watch("watched:0", tag: 1, at: 0, answeredAt: 1)
            if writeIsLost {
                history.watch("watched:0", tag: 2, at: 0, answeredAt: 1)
                history.invoked(.watchedTransaction([.set("watched:0", value: 1)]), tag: 3, at: at(2), watch: 2)
                history.lost(tag: 3)
            }
            history.invoked(.watchedTransaction([.set("watched:0", value: 1)]), tag: 4, at: at(4), watch: 1)
            history.answerExec(4, committed: false, at: 5)
            let found = history.violations(final: nil)
            #expect(found.contains { $0.contains("aborted, though nothing wrote") } == !writeIsLost)
        }
    }

    @Test("two committed EXECs that write one count, a lost update, are caught")
    func lostUpdateIsCaught() {
        var history = KeyValueHistory()
        history.watch("watched:1", tag: 1, at: 0, answeredAt: 1)
        history.watch("watched:1", tag: 2, at: 0, answeredAt: 1)
        history.invoked(.watchedTransaction([.set("watched:1", value: 1)]), tag: 3, at: at(2), watch: 1)
        history.invoked(.watchedTransaction([.set("watched:1", value: 1)]), tag: 4, at: at(2), watch: 2)
        history.answerExec(3, committed: true, at: 3)
        history.answerExec(4, committed: true, at: 3)
        #expect(history.violations(final: nil).contains { $0.contains("a watch let a change through") })
    }

    @Test("a DISCARDed push that shows up in the list is caught, as a push never executed")
    func discardedCommandThatTakesEffectIsCaught() {
        var history = KeyValueHistory()
        history.watch("watched:0", tag: 1, at: 0, answeredAt: 1)
        let dropped: [Operation] = [.set("watched:0", value: 1), .rightPush("list:0", token: 5)]
        history.invoked(.discard(dropped), tag: 2, at: at(2), watch: 1)
        #expect(history.responded(tag: 2, with: Array("+OK\r\n".utf8), at: at(3)) == nil)
        #expect(history.violations(final: .lists(["list:0": []])) == [])
        let found = history.violations(final: .lists(["list:0": [5]]))
        #expect(found.contains { $0.contains("5 was not pushed") })
    }

    // MARK: Blocking pops

    @Test("a blocking pop that takes a token another pop took, or times out before its timeout, is caught")
    func blockingPopTwiceOrEarlyIsCaught() {
        var history = KeyValueHistory()
        history.send(.rightPush("list:1", token: 1), tag: 1, at: 0)
        history.answer(1, 1, at: 1)
        history.send(.blockingPop("list:1", fromLeft: true, timeoutMilliseconds: 50), tag: 2, at: 2)
        history.answerPop(2, key: "list:1", token: "1", at: 3)
        history.send(.blockingPop("list:1", fromLeft: false, timeoutMilliseconds: 50), tag: 3, at: 4)
        history.answerPop(3, key: "list:1", token: "1", at: 5)
        history.send(.blockingPop("list:1", fromLeft: true, timeoutMilliseconds: 50), tag: 4, at: 6)
        history.answer(4, nullArray: (), at: 30)
        let found = history.violations(final: .lists(["list:1": []]))
        #expect(found.contains { $0.contains("popped already") })
        #expect(found.contains { $0.contains("before its 50 ms") })
        #expect(found.count == 2)
    }

    @Test("a blocking pop that times out while a token lay in the list throughout is caught; a waited one passes")
    func timeoutPastAPresentTokenIsCaught() {
        for tokenIsThere in [false, true] {
            var history = KeyValueHistory()
            if tokenIsThere {
                history.send(.rightPush("list:0", token: 1), tag: 1, at: 0)
                history.answer(1, 1, at: 1)
            }
            history.send(.blockingPop("list:0", fromLeft: false, timeoutMilliseconds: 20), tag: 2, at: 2)
            history.answer(2, nullArray: (), at: 40)
            let final: [UInt64] = tokenIsThere ? [1] : []
            #expect(history.violations(final: .lists(["list:0": final])).isEmpty == !tokenIsThere)
        }
    }

    // MARK: Expiring keys

    @Test("a GET of a value past its TTL is caught, unless an EXPIRE may have put its expiry off")
    func readAfterExpiryIsCaught() {
        for isExtended in [false, true] {
            var history = KeyValueHistory()
            history.send(.setExpiring("ttl:0", token: 1, milliseconds: 20), tag: 1, at: 0)
            history.answerOK(1, at: 1)
            if isExtended {
                history.send(.expire("ttl:0"), tag: 2, at: 10)
                history.answer(2, 1, at: 11)
            }
            history.send(.get("ttl:0"), tag: 3, at: 40)
            history.answer(3, "1", at: 41)
            let found = history.violations(final: nil)
            #expect(found.contains { $0.contains("after it expired") } == !isExtended)
        }
    }

    @Test("a key found missing while a value certainly lives is caught; found missing after its TTL passes")
    func missingLiveKeyIsCaught() {
        for (readAt, isLive) in [(UInt64(5), true), (40, false)] {
            var history = KeyValueHistory()
            history.send(.setExpiring("ttl:1", token: 1, milliseconds: 30), tag: 1, at: 0)
            history.answerOK(1, at: 1)
            history.send(.exists("ttl:1"), tag: 2, at: readAt)
            history.answer(2, 0, at: readAt + 1)
            history.send(.timeToLive("ttl:1"), tag: 3, at: readAt)
            history.answer(3, -1, at: readAt + 1)
            let found = history.violations(final: nil)
            #expect(found.contains { $0.contains("certainly lived") } == isLive)
            #expect(found.contains { $0.contains("not a TTL") })
        }
    }

    // MARK: RESP3

    @Test("RESP3 maps, sets, doubles and nulls read as RESP2's replies do, and the checkers judge them")
    func resp3RepliesAreJudgedAlike() {
        var history = KeyValueHistory()
        history.invoked(.single(.hashSet("hash:0", field: "f0", token: 1)), tag: 1, at: at(0), protocolVersion: 3)
        #expect(history.responded(tag: 1, with: Array(":1\r\n".utf8), at: at(1)) == nil)
        history.invoked(.single(.hashGetAll("hash:0")), tag: 2, at: at(2), protocolVersion: 3)
        #expect(history.responded(tag: 2, with: Array("%1\r\n$2\r\nf0\r\n$1\r\n7\r\n".utf8), at: at(3)) == nil)
        history.invoked(.single(.members("set:0")), tag: 3, at: at(2), protocolVersion: 3)
        #expect(history.responded(tag: 3, with: Array("~1\r\n$1\r\n9\r\n".utf8), at: at(3)) == nil)
        history.invoked(.single(.scoreIncrement("zset:0")), tag: 4, at: at(2), protocolVersion: 3)
        #expect(history.responded(tag: 4, with: Array(",2\r\n".utf8), at: at(3)) == nil)
        history.invoked(.single(.hashGet("hash:1", field: "f1")), tag: 5, at: at(2), protocolVersion: 3)
        #expect(history.responded(tag: 5, with: Array("_\r\n".utf8), at: at(3)) == nil)
        let found = history.violations(final: nil)
        #expect(found.contains { $0.contains("f0 = 7, a value not set") })
        #expect(found.contains { $0.contains("saw 9, not added") })
        #expect(found.contains { $0.contains("answered 1, outside the 0...0 possible") })
        #expect(found.contains { $0.contains("answered 2, but only 1 increments") })
        #expect(found.count == 4, "\(found)")
    }

    @Test("a reply in the other protocol, or of the other protocol's shape, is refused")
    func replyInTheWrongProtocolIsRefused() {
        let cases: [(KeyValueModel.Operation, version: Int, reply: String)] = [
            (.hashGet("hash:0", field: "f0"), 3, "$-1\r\n"),
            (.hashGet("hash:0", field: "f0"), 2, "_\r\n"),
            (.hashGetAll("hash:0"), 3, "*0\r\n"),
            (.hashGetAll("hash:0"), 2, "%0\r\n"),
            (.score("zset:0"), 3, "$1\r\n1\r\n"),
            (.members("set:0"), 3, "*0\r\n"),
        ]
        for (operation, version, reply) in cases {
            var history = KeyValueHistory()
            history.invoked(.single(operation), tag: 1, at: at(0), protocolVersion: version)
            let complaint = history.responded(tag: 1, with: Array(reply.utf8), at: at(1))
            #expect(complaint != nil, "\(operation) in RESP\(version)")
        }
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

    /// Answers request `tag` with OK.
    fileprivate mutating func answerOK(_ tag: UInt64, at milliseconds: UInt64) {
        let complaint = responded(tag: tag, with: Array("+OK\r\n".utf8), at: at(milliseconds))
        precondition(complaint == nil, "\(complaint!)")
    }

    /// Answers request `tag` with a RESP2 null array, as a blocking pop that timed out.
    fileprivate mutating func answer(_ tag: UInt64, nullArray: Void, at milliseconds: UInt64) {
        let complaint = responded(tag: tag, with: Array("*-1\r\n".utf8), at: at(milliseconds))
        precondition(complaint == nil, "\(complaint!)")
    }

    /// Answers blocking pop `tag` with `[key, token]`.
    fileprivate mutating func answerPop(_ tag: UInt64, key: String, token: String, at milliseconds: UInt64) {
        answer(tag, [key, token], at: milliseconds)
    }

    /// Sends WATCH of `key` as request `tag` at `milliseconds`, answered OK at `answeredAt`.
    fileprivate mutating func watch(_ key: String, tag: UInt64, at milliseconds: UInt64, answeredAt: UInt64) {
        invoked(.watch(key), tag: tag, at: at(milliseconds))
        answerOK(tag, at: answeredAt)
    }

    /// Answers watched EXEC `tag` of one SET: `[OK]` when `committed`, else the null of an aborted EXEC.
    fileprivate mutating func answerExec(_ tag: UInt64, committed: Bool, at milliseconds: UInt64) {
        let reply = committed ? "*1\r\n+OK\r\n" : "*-1\r\n"
        let complaint = responded(tag: tag, with: Array(reply.utf8), at: at(milliseconds))
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
