import Testing
@testable import Replication

/// The session table on its own: admission, the window, the bounds, LRU order, and its encoding cut anywhere.
@Suite("session table")
struct SessionTableTests {
    static let limits = SessionLimits(window: 3, sessionsLimit: 4, replyBytesLimit: 100, idleTimeoutMilliseconds: 1_000)

    /// Runs request `number` of `id`, applying `reply` when the table says it is new.
    @discardableResult
    static func run(_ table: inout SessionTable, _ id: UInt64, _ number: UInt64, at now: Int64 = 0, reply: [UInt8])
        -> SessionTable.Admission
    {
        let admission = table.admit(id, number: number, at: now)
        if admission == .new { table.save(reply, of: id) }
        return admission
    }

    /// A table with sessions, replies of several sizes, and a history of touches that made its LRU order.
    static func sample() -> SessionTable {
        var table = SessionTable()
        for id in [7, 3, 9] as [UInt64] { table.open(id, limits: limits, at: Int64(id)) }
        run(&table, 3, 1, at: 10, reply: Array("+OK\r\n".utf8))
        run(&table, 3, 2, at: 11, reply: Array(repeating: 65, count: 30))
        run(&table, 7, 1, at: 12, reply: [])
        return table
    }

    @Test("the next number is new; earlier ones within the window repeat; others are refused")
    func admission() {
        var table = SessionTable()
        table.open(1, limits: Self.limits, at: 0)
        #expect(Self.run(&table, 1, 2, reply: [2]) == .gap(expected: 1))
        for number in 1...5 as ClosedRange<UInt64> { #expect(Self.run(&table, 1, number, reply: [UInt8(number)]) == .new) }
        #expect(Self.run(&table, 1, 3, reply: [0]) == .repeated([3]))
        #expect(Self.run(&table, 1, 5, reply: [0]) == .repeated([5]))
        #expect(Self.run(&table, 1, 2, reply: [0]) == .stale(oldestKept: 3))
        #expect(Self.run(&table, 2, 1, reply: [0]) == .unknownSession)
    }

    @Test("opening past the session bound evicts the least recently used; idle sessions expire from the oldest")
    func lruAndExpiry() {
        var table = SessionTable()
        for id in 1...4 as ClosedRange<UInt64> { table.open(id, limits: Self.limits, at: 0) }
        Self.run(&table, 1, 1, at: 500, reply: [1])
        table.open(5, limits: Self.limits, at: 600)
        #expect(!table.contains(2), "2 was the least recently used")
        #expect(table.contains(1))
        #expect(table.expireIdle(at: 1_200) == 2, "3 and 4, idle since 0, expire; 1 (500) and 5 (600) do not")
        #expect(table.count == 2)
        #expect(Self.run(&table, 1, 2, at: 1_600, reply: [2]) == .unknownSession, "1 expired on its own admission")
    }

    @Test("saved replies stay within the byte bound, evicting others first; a reply over the bound is not kept")
    func byteBound() {
        var table = SessionTable()
        table.open(1, limits: Self.limits, at: 0)
        table.open(2, limits: Self.limits, at: 0)
        Self.run(&table, 1, 1, reply: Array(repeating: 1, count: 60))
        Self.run(&table, 2, 1, reply: Array(repeating: 2, count: 60))
        #expect(!table.contains(1) && table.replyBytes == 60)
        Self.run(&table, 2, 2, reply: Array(repeating: 2, count: 60))
        #expect(table.replyBytes == 60, "alone, it drops its own oldest reply")
        #expect(Self.run(&table, 2, 1, reply: []) == .stale(oldestKept: 2))
        Self.run(&table, 2, 3, reply: Array(repeating: 3, count: 101))
        #expect(table.replyBytes == 0)
        #expect(Self.run(&table, 2, 3, reply: []) == .stale(oldestKept: 4))
        #expect(Self.run(&table, 2, 4, reply: [4]) == .new)
    }

    @Test("the encoding restores an equal table, LRU order included, cut anywhere")
    func roundTripEveryCut() throws {
        let table = Self.sample()
        var snapshot = SessionTable.Snapshot(table)
        var bytes: [UInt8] = []
        while !snapshot.isFinished { bytes += snapshot.nextChunk(byteLimit: 5) }
        for cut in [1, 2, 7, 8, 9, 13, bytes.count] {
            var restorer = SessionTable.Restorer()
            var start = 0
            while start < bytes.count {
                let end = min(start + cut, bytes.count)
                #expect(try restorer.consume(bytes[start..<end]) == end - start)
                start = end
            }
            var restored = try restorer.finish()
            #expect(restored == table)
            #expect(restored.digest == table.digest)
            // The LRU order came back too: the next eviction takes the same session.
            var original = table
            original.open(100, limits: Self.limits, at: 20)
            restored.open(100, limits: Self.limits, at: 20)
            #expect(restored == original)
        }
    }

    @Test("the encoding says where it ends, so bytes after it are left for the embedding machine")
    func selfDelimiting() throws {
        var snapshot = SessionTable.Snapshot(Self.sample())
        var bytes: [UInt8] = []
        while !snapshot.isFinished { bytes += snapshot.nextChunk(byteLimit: 1 << 16) }
        var restorer = SessionTable.Restorer()
        #expect(try restorer.consume((bytes + [1, 2, 3])[...]) == bytes.count)
        #expect(restorer.isFinished)
    }

    @Test("a changed byte, a truncation or a session twice is refused")
    func corruption() {
        var snapshot = SessionTable.Snapshot(Self.sample())
        var bytes: [UInt8] = []
        while !snapshot.isFinished { bytes += snapshot.nextChunk(byteLimit: 1 << 16) }
        func restore(_ bytes: [UInt8]) throws(SnapshotError) -> SessionTable {
            var restorer = SessionTable.Restorer()
            _ = try restorer.consume(bytes[...])
            return try restorer.finish()
        }
        #expect(throws: SnapshotError.self) { try restore(Array(bytes.dropLast())) }
        for position in [0, 20, 60, 75, bytes.count - 1] {
            var changed = bytes
            changed[position] ^= 0x10
            #expect(throws: SnapshotError.self, "byte \(position) changed") { try restore(changed) }
        }
    }
}
