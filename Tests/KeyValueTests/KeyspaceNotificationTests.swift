import Testing

@testable import KeyValue
import Replication

/// Redis 7.0's keyspace notifications (`notify-keyspace-events`), as Redis's own tests/unit/pubsub.tcl checks them:
/// the setting's letters, each command's events in Redis's words and order, and their delivery at the release of the
/// entry that caused them.
@Suite("Keyspace notifications")
struct KeyspaceNotificationTests {
    /// What a `PSUBSCRIBE *` connection is pushed for a message on `channel`.
    static func message(_ channel: String, _ payload: String) -> String {
        RESP.array(RESP.bulk("pmessage"), RESP.bulk("*"), RESP.bulk(channel), RESP.bulk(payload))
    }

    /// The keyspace message of `event` on `key` in database `database`.
    static func keyspace(_ key: String, _ event: String, database: Int = 0) -> String {
        message("__keyspace@\(database)__:\(key)", event)
    }

    /// The keyevent message of `event` on `key` in database `database`.
    static func keyevent(_ event: String, _ key: String, database: Int = 0) -> String {
        message("__keyevent@\(database)__:\(event)", key)
    }

    /// A store notifying `flags`, with connection 9 subscribed to every channel by pattern.
    static func listening(_ flags: String) -> ConnectedStore {
        var node = ConnectedStore()
        #expect(node.send(1, "CONFIG", "SET", "notify-keyspace-events", flags) == RESP.ok)
        node.send(9, "PSUBSCRIBE", "*")
        return node
    }

    /// The keyspace events connection 9 was pushed, as `key event` (flags with `K` only).
    static func keyspaceEvents(_ node: ConnectedStore) -> [String] {
        (node.pushed[9] ?? []).map { pushed in
            let parts = pushed.split(separator: "\r\n").map(String.init)
            // *4, $8 pmessage, $1 *, $n channel, $m payload
            let channel = parts[6], payload = parts[8]
            return "\(channel.dropFirst("__keyspace@0__:".count)) \(payload)"
        }
    }

    // MARK: The setting

    @Test("CONFIG GET shows the flags in Redis's canonical order; the default is empty")
    func canonicalLetters() {
        var node = ConnectedStore()
        func roundTrip(_ letters: String) -> String {
            #expect(node.send(1, "CONFIG", "SET", "notify-keyspace-events", letters) == RESP.ok)
            return node.send(1, "CONFIG", "GET", "notify-keyspace-events")
        }
        func shown(_ letters: String) -> String { RESP.array(RESP.bulk("notify-keyspace-events"), RESP.bulk(letters)) }
        #expect(node.send(1, "CONFIG", "GET", "notify-keyspace-events") == shown(""))
        #expect(roundTrip("gKE") == shown("gKE"))
        #expect(roundTrip("$lshzxeKE") == shown("$lshzxeKE"))
        #expect(roundTrip("KA") == shown("AK"))
        #expect(roundTrip("EA") == shown("AE"))
        #expect(roundTrip("EKmnd") == shown("dnKEm"))
        #expect(roundTrip("g$lshzxetdK") == shown("AK"), "every class A stands for, given one by one, is A")
        #expect(roundTrip("AnK") == shown("AK"), "as Redis shows it: n is not written beside A")
        #expect(roundTrip("") == shown(""))
    }

    @Test("a letter that names no class is refused with Redis's error, and the setting stays as it was")
    func invalidLetter() {
        var node = ConnectedStore()
        node.send(1, "CONFIG", "SET", "notify-keyspace-events", "KE$")
        #expect(
            node.send(1, "CONFIG", "SET", "notify-keyspace-events", "KEq")
                == RESP.error(
                    "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event "
                        + "class character. Use 'Ag$lshzxeKEtmdn'."))
        #expect(
            node.send(1, "CONFIG", "GET", "notify-keyspace-events")
                == RESP.array(RESP.bulk("notify-keyspace-events"), RESP.bulk("$KE")))
    }

    @Test("the parser takes Redis's letters and nothing else")
    func parsing() {
        #expect(KeyspaceEvents(letters: "A".utf8) == .all)
        #expect(KeyspaceEvents(letters: "KEg".utf8) == [.keyspace, .keyevent, .generic])
        #expect(KeyspaceEvents(letters: "xx".utf8) == [.expired])
        #expect(KeyspaceEvents(letters: "".utf8) == [])
        #expect(KeyspaceEvents(letters: "a".utf8) == nil, "letters are case-sensitive")
        #expect(KeyspaceEvents(letters: "K E".utf8) == nil)
    }

    // MARK: Delivery

    @Test("K publishes the event to the key's channel, E the key to the event's, to channel and pattern subscribers")
    func channelsAndSubscribers() {
        var node = Self.listening("KEA")
        node.send(8, "SUBSCRIBE", "__keyevent@0__:set")
        #expect(node.send(1, "SET", "foo", "bar") == RESP.ok, "the asker's reply is untouched")
        #expect(node.pushed[9] == [Self.keyspace("foo", "set"), Self.keyevent("set", "foo")])
        #expect(
            node.pushed[8] == [RESP.array(RESP.bulk("message"), RESP.bulk("__keyevent@0__:set"), RESP.bulk("foo"))])
    }

    @Test("with no flags nothing is held: the reply is a plain RESP reply and nobody is pushed anything")
    func offByDefault() {
        var node = ConnectedStore()
        node.send(9, "PSUBSCRIBE", "*")
        node.send(1, "SET", "foo", "bar")
        node.send(1, "LPUSH", "l", "a")
        #expect(node.pushed[9] == nil)
        #expect(node.primary.replies.allSatisfy { !ReleaseEnvelope.isEnvelope($0[...]) })
    }

    @Test("classes mask events: with only l, a SET is not notified and an LPUSH is")
    func masking() {
        var node = Self.listening("KEl")
        node.send(1, "SET", "foo", "bar")
        node.send(1, "LPUSH", "mylist", "a")
        #expect(node.pushed[9] == [Self.keyspace("mylist", "lpush"), Self.keyevent("lpush", "mylist")])
    }

    @Test("inside MULTI the events leave with EXEC, in order, and take no place in its array; a PUBLISH keeps its count")
    func transaction() {
        var node = Self.listening("E$")
        node.send(8, "SUBSCRIBE", "news")
        node.send(1, "MULTI")
        node.send(1, "SET", "a", "1")
        node.send(1, "PUBLISH", "news", "x")
        node.send(1, "INCR", "a")
        #expect(node.pushed[9] == nil, "nothing leaves before EXEC")
        #expect(
            node.send(1, "EXEC") == RESP.array(RESP.ok, RESP.integer(2), RESP.integer(2)),
            "the PUBLISH counts its two receivers, not the one of the notification before it")
        #expect(
            node.pushed[9] == [
                Self.keyevent("set", "a"), Self.message("news", "x"), Self.keyevent("incrby", "a"),
            ])
    }

    @Test("events name the database their key is in")
    func databases() {
        var node = Self.listening("KEg")
        node.send(1, "SELECT", "3")
        node.send(1, "SET", "k", "v")
        node.send(1, "EXPIRE", "k", "100")
        node.send(1, "MOVE", "k", "5")
        #expect(
            node.pushed[9] == [
                Self.keyspace("k", "expire", database: 3), Self.keyevent("expire", "k", database: 3),
                Self.keyspace("k", "move_from", database: 3), Self.keyevent("move_from", "k", database: 3),
                Self.keyspace("k", "move_to", database: 5), Self.keyevent("move_to", "k", database: 5),
            ])
    }

    @Test("notifying changes no state: a backup notifying nothing replays the entries into the primary's state")
    func backupReplays() {
        var node = Self.listening("KEA")
        node.send(1, "SET", "k", "v")
        node.send(1, "RPUSH", "l", "a")
        node.send(1, "RPOP", "l")
        node.send(1, "PSETEX", "t", "100", "1")
        node.send(1, "PSETEX", "u", "100", "1")
        node.primary.advance(milliseconds: 200)
        node.send(1, "GET", "t")
        node.tick()
        #expect(node.primary.store.count == 1)
        #expect(DatabaseTests.backup(of: node).digest() == node.primary.store.digest())
    }

    // MARK: Events by class

    @Test("generic: expire, del, rename, copy, persist; an EXPIRE in the past is a del")
    func generic() {
        var node = Self.listening("Kg")
        node.send(1, "SET", "foo", "bar")
        node.send(1, "EXPIRE", "foo", "1")
        node.send(1, "PERSIST", "foo")
        node.send(1, "RENAME", "foo", "bar")
        node.send(1, "COPY", "bar", "baz")
        node.send(1, "DEL", "bar", "missing")
        node.send(1, "EXPIRE", "baz", "-1")
        #expect(
            Self.keyspaceEvents(node) == [
                "foo expire", "foo persist", "foo rename_from", "bar rename_to", "baz copy_to", "bar del", "baz del",
            ])
    }

    @Test("strings: set (and expire for SET EX), setrange, incrby, incrbyfloat, append")
    func strings() {
        var node = Self.listening("Kg$")
        node.send(1, "SET", "s", "v", "EX", "100")
        node.send(1, "SETRANGE", "s", "1", "xy")
        node.send(1, "INCR", "n")
        node.send(1, "INCRBYFLOAT", "n", "1.5")
        node.send(1, "APPEND", "s", "!")
        node.send(1, "SET", "s", "v", "NX")
        #expect(
            Self.keyspaceEvents(node) == [
                "s set", "s expire", "s setrange", "n incrby", "n incrbyfloat", "s append",
            ])
    }

    @Test("lists: lpush, rpush, rpop; popping the last element is the pop, then del")
    func lists() {
        var node = Self.listening("KEl")
        node.send(1, "LPUSH", "mylist", "a")
        node.send(1, "RPUSH", "mylist", "a")
        node.send(1, "RPOP", "mylist")
        #expect(
            node.pushed[9] == [
                Self.keyspace("mylist", "lpush"), Self.keyevent("lpush", "mylist"),
                Self.keyspace("mylist", "rpush"), Self.keyevent("rpush", "mylist"),
                Self.keyspace("mylist", "rpop"), Self.keyevent("rpop", "mylist"),
            ])
        var emptied = Self.listening("Kgl")
        emptied.send(1, "RPUSH", "src", "a")
        emptied.send(1, "LMOVE", "src", "dst", "LEFT", "RIGHT")
        emptied.send(1, "LREM", "dst", "0", "a")
        #expect(
            Self.keyspaceEvents(emptied) == [
                "src rpush", "dst rpush", "src lpop", "src del", "dst lrem", "dst del",
            ])
    }

    @Test("a waiter served by a push is notified in the push's entry: the push, then the waiter's pop and its del")
    func servedWaiter() {
        var node = Self.listening("Kgl")
        #expect(node.send(1, "BLPOP", "q", "0") == ConnectedStore.waiting)
        #expect(node.send(2, "RPUSH", "q", "a") == RESP.integer(1))
        #expect(node.delivered[1] == [RESP.array(RESP.bulk("q"), RESP.bulk("a"))])
        #expect(Self.keyspaceEvents(node) == ["q rpush", "q lpop", "q del"])
    }

    @Test("sets: sadd; srem only when a member went; the store commands")
    func sets() {
        var node = Self.listening("Ks")
        node.send(1, "SADD", "myset", "a", "b", "c", "d")
        node.send(1, "SREM", "myset", "x")
        node.send(1, "SADD", "myset", "x", "y", "z")
        node.send(1, "SREM", "myset", "x")
        node.send(1, "SINTERSTORE", "other", "myset")
        #expect(Self.keyspaceEvents(node) == ["myset sadd", "myset sadd", "myset srem", "other sinterstore"])
    }

    @Test("sorted sets: zadd, zincr, zrem; zremrangebyscore; a store of nothing over a key is a del")
    func sortedSets() {
        var node = Self.listening("Kgz")
        node.send(1, "ZADD", "myzset", "1", "a", "2", "b")
        node.send(1, "ZREM", "myzset", "x")
        node.send(1, "ZINCRBY", "myzset", "3", "a")
        node.send(1, "ZREM", "myzset", "a")
        node.send(1, "ZUNIONSTORE", "u", "1", "myzset")
        node.send(1, "ZREMRANGEBYSCORE", "myzset", "-inf", "+inf")
        node.send(1, "ZINTERSTORE", "u", "1", "missing")
        #expect(
            Self.keyspaceEvents(node) == [
                "myzset zadd", "myzset zincr", "myzset zrem", "u zunionstore", "myzset zremrangebyscore",
                "myzset del", "u del",
            ])
    }

    @Test("hashes: hset for HMSET, hincrby, hdel; nothing for an increment refused")
    func hashes() {
        var node = Self.listening("Kh")
        node.send(1, "HMSET", "myhash", "yes", "1", "no", "0", "word", "abc")
        node.send(1, "HINCRBY", "myhash", "yes", "10")
        node.send(1, "HDEL", "myhash", "no", "absent")
        #expect(node.send(1, "HINCRBY", "myhash", "word", "1") == RESP.error("ERR hash value is not an integer"))
        #expect(Self.keyspaceEvents(node) == ["myhash hset", "myhash hincrby", "myhash hdel"])
    }

    @Test("new: a key created, not one overwritten")
    func newKeys() {
        var node = Self.listening("En")
        node.send(1, "SET", "foo", "bar")
        node.send(1, "SET", "foo", "baz")
        node.send(1, "SET", "bar", "bar")
        node.send(1, "RPUSH", "l", "a")
        node.send(1, "RPUSH", "l", "b")
        #expect(node.pushed[9] == [Self.keyevent("new", "foo"), Self.keyevent("new", "bar"), Self.keyevent("new", "l")])
    }

    // MARK: Expiry

    @Test("a key a command finds expired is notified expired, in that command's entry")
    func lazyExpiry() {
        var node = Self.listening("Ex")
        node.send(1, "PSETEX", "foo", "100", "1")
        node.primary.advance(milliseconds: 200)
        #expect(node.send(1, "EXISTS", "foo") == RESP.integer(0))
        #expect(node.pushed[9] == [Self.keyevent("expired", "foo")])
    }

    @Test("a key the background sweep deletes is notified expired, in the tick's output")
    func backgroundExpiry() {
        var node = Self.listening("Ex")
        node.send(1, "PSETEX", "foo", "100", "1")
        node.primary.advance(milliseconds: 200)
        node.tick()
        #expect(node.pushed[9] == [Self.keyevent("expired", "foo")])
        #expect(node.primary.store.count == 0)
    }

    @Test("a tick that expires nothing, or runs while nothing is notified, has no output")
    func quietTicks() {
        var node = ConnectedStore()
        node.send(1, "PSETEX", "foo", "100", "1")
        node.primary.advance(milliseconds: 200)
        #expect(node.primary.tick().isEmpty)
        #expect(node.primary.store.count == 0)
        #expect(node.send(1, "CONFIG", "SET", "notify-keyspace-events", "KEA") == RESP.ok)
        #expect(node.primary.tick().isEmpty)
    }
}
