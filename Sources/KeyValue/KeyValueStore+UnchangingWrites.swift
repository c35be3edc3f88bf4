/// Writes that would change nothing, answered as reads (`StateMachine.read`, `KeyValueStore+Reads.swift`): SADD of
/// members a set already holds; SREM, HDEL and ZREM of members it does not hold; a plain ZADD that gives each member
/// the score it has; and the pops and deletions (LPOP, RPOP, SPOP, ZPOPMIN, ZPOPMAX, DEL, UNLINK) of keys that do not
/// exist.
///
/// Such a command leaves the state as it was, so the backup has nothing to replay: its reply waits, as a read's does,
/// only for the acks of the entries it saw. Redis propagates no command that changes nothing either, and signals no
/// WATCH for it. So a worker polling an empty queue, or a client adding again what a set holds, costs no log entry.
///
/// Each case is decided by lookups that change nothing, after `readDecoded` has checked that no key named has expired
/// (deleting one is a change, which the entry makes on both nodes). A wrong type declines, and so does anything not
/// plain (ZADD's options), leaving `apply` to answer.
extension KeyValueStore {
    /// Whether `command` is a write that may turn out to change nothing.
    static func mayChangeNothing(_ command: DataCommand) -> Bool {
        switch command {
        case .sadd, .srem, .hdel, .zrem, .zadd: true
        default: changesWhenStored(command)
        }
    }

    /// The commands of `mayChangeNothing` that change nothing only when none of their keys is stored.
    static func changesWhenStored(_ command: DataCommand) -> Bool {
        switch command {
        case .lpop, .rpop, .spop, .zpopmin, .zpopmax, .del, .unlink: true
        default: false
        }
    }

    /// `apply`'s reply to `command` (one that `mayChangeNothing`) when applying it would change nothing; nil when it
    /// would change something or is not plain.
    func unchangingReply(_ command: DataCommand, _ arguments: CommandArguments, clock: Clock) -> [UInt8]? {
        let key = arguments.key(at: 1)
        switch command {
        case _ where Self.changesWhenStored(command):
            // On keys that do not exist, the command itself runs on a copy without writing: its argument errors and
            // the shape of its empty reply stay the command's own.
            let keys = command == .del || command == .unlink ? 1..<arguments.count : 1..<2
            for position in keys where isPresent(arguments.key(at: position)) { return nil }
            return answerOnCopy(command, arguments, clock: clock)
        case .sadd, .srem, .hdel, .zrem:
            let kind: ValueKind = command == .hdel ? .hash : command == .zrem ? .sortedSet : .set
            guard case .found(let collection) = collectionWithoutEntry(key, kind) else {
                // SADD on a missing key creates it; the removals from one run on a copy, as the pops do.
                return command != .sadd && !isPresent(key) ? answerOnCopy(command, arguments, clock: clock) : nil
            }
            let isAdding = command == .sadd
            for position in 2..<arguments.count {
                let member = arguments.bytes(at: position)
                let isHeld =
                    kind == .sortedSet
                    ? collection.score(of: member) != nil : collection.members.contains(member: member)
                if isHeld != isAdding { return nil }
            }
            return Replies.zero
        case .zadd:
            // `key (score member)+`: any option, or a score that does not parse, is not plain.
            guard arguments.count >= 4, arguments.count % 2 == 0,
                case .found(let set) = collectionWithoutEntry(key, .sortedSet)
            else { return nil }
            for position in stride(from: 2, to: arguments.count, by: 2) {
                // Equal as doubles, as `addScores` compares them: 0 and -0 leave the stored score as it is.
                guard let score = Score.parse(arguments.bytes(at: position)),
                    let current = set.score(of: arguments.bytes(at: position + 1)), score == current
                else { return nil }
            }
            return Replies.zero
        default: return nil
        }
    }

    /// The collection of `kind` at `key`, which must not have expired, found without writing.
    private func collectionWithoutEntry(_ key: StoreKey, _ kind: ValueKind) -> CollectionLookup {
        let hash = ShardHash.of(key.bytes)
        let index = shardIndex(hash: hash)
        guard let slot = shards[index].find(key, hash: hash) else { return .missing }
        guard shards[index].kind(at: slot) == kind else { return .wrongType }
        return .found(shards[index].collection(at: slot))
    }
}
