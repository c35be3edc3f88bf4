@testable import KeyValue
import Testing

/// `MemberTable`: the members of a hash, set or sorted set in shards of bounded size, whose positions a restore
/// rebuilds exactly and whose copies share every shard a write does not touch.
@Suite("member tables")
struct MemberTableTests {
    private static func bytes(_ text: String) -> ArraySlice<UInt8> { Array(text.utf8)[...] }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String { String(decoding: bytes, as: UTF8.self) }

    /// The members in position order, read one position at a time.
    private static func byPosition(_ table: MemberTable) -> [String] {
        (0..<table.count).map { text(table.member(atPosition: $0).field) }
    }

    @Test("adds, overwrites and removals match a dictionary while the table splits and merges its shards")
    func matchesADictionary() {
        var table = MemberTable(), model: [String: String] = [:]
        var generator = SplitMix64(seed: 11)
        func pick(_ bound: Int) -> Int { Int(generator.next() % UInt64(bound)) }
        var mostShards = 1
        // Phases that grow to dozens of shards, shrink to one and grow again.
        for (steps, removalsInTen) in [(9_000, 2), (12_000, 8), (4_000, 3)] {
            for step in 0..<steps {
                let field = "field:\(pick(6_000))"
                if pick(10) < removalsInTen {
                    let removed = table.removeMember(Self.bytes(field))
                    #expect(removed == (model.removeValue(forKey: field) != nil))
                } else {
                    let value = String(repeating: "v", count: pick(40))
                    let added = table.storeMember(Self.bytes(field), value: Self.bytes(value))
                    #expect(added == (model[field] == nil))
                    model[field] = value
                }
                mostShards = max(mostShards, table.shardCount)
                if step % 1_000 == 0 { table.checkInvariants() }
            }
            table.checkInvariants()
            #expect(table.count == model.count)
            let members = table.map { (Self.text($0.field), Self.text($0.value)) }
            #expect(Dictionary(members, uniquingKeysWith: { first, _ in first }) == model)
            #expect(Self.byPosition(table) == members.map(\.0), "a position names another member than iteration")
            for field in model.keys.prefix(200) {
                #expect(table.value(ofMember: Self.bytes(field)).map(Self.text) == model[field])
            }
            #expect(!table.contains(member: Self.bytes("field:absent")))
            #expect(table.byteCount == model.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count })
        }
        #expect(mostShards >= 24, "the table never grew to many shards")
        while let field = model.keys.first {
            let removed = table.removeMember(Self.bytes(field))
            #expect(removed)
            model[field] = nil
        }
        table.checkInvariants()
        #expect(table.count == 0 && table.shardCount == 1)
    }

    @Test("a table built from another's members in position order has the same positions, whatever the history")
    func rebuiltInPositionOrder() {
        var table = MemberTable()
        for index in 0..<6_000 { table.storeMember(Self.bytes("m\(index)")) }
        // Removals leave each shard in an order of its own (swap-removal), and merge shards away.
        for index in stride(from: 0, to: 6_000, by: 3) { table.removeMember(Self.bytes("m\(index)")) }
        for index in 0..<1_000 { table.storeMember(Self.bytes("late\(index)")) }
        var rebuilt = MemberTable()
        for member in table { rebuilt.storeMember(member.field, value: member.value) }
        rebuilt.checkInvariants()
        #expect(rebuilt.shardCount == table.shardCount)
        #expect(Self.byPosition(rebuilt) == Self.byPosition(table))
        #expect(rebuilt.digestSum == table.digestSum)
        var insertedInOtherOrder = MemberTable()
        for member in table.reversed() { insertedInOtherOrder.storeMember(member.field, value: member.value) }
        #expect(insertedInOtherOrder.digestSum == table.digestSum)
        #expect(Self.byPosition(insertedInOtherOrder) != Self.byPosition(table), "the check above could not fail")
    }

    @Test("a write to a copy of a large table copies the one shard it touches")
    func writesCopyOneShard() {
        var table = MemberTable()
        for index in 0..<50_000 { table.storeMember(Self.bytes("member:\(index)"), value: Self.bytes("0123456789")) }
        let snapshot = table
        #expect(table.shardsShared(with: snapshot) == table.shardCount)
        table.storeMember(Self.bytes("member:7"), value: Self.bytes("9876543210"))
        #expect(table.shardsShared(with: snapshot) == table.shardCount - 1)
        table.removeMember(Self.bytes("member:8"))
        #expect(table.shardsShared(with: snapshot) >= table.shardCount - 2)
        #expect(table.shardCount >= 390)
        #expect(snapshot.value(ofMember: Self.bytes("member:7")) == Self.bytes("0123456789"))
        #expect(snapshot.contains(member: Self.bytes("member:8")) && snapshot.count == 50_000)
        snapshot.checkInvariants()
        table.checkInvariants()
    }
}
