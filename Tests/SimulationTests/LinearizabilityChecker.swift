import LogChannel

/// The linearizability checker: every acknowledged read and write, held against a sequential model of the store.
///
/// Each key of `TokenLog` is an append-only list of unique tokens, so its whole history is one sequence of
/// appends, and a state of the key is named by a length: an append's reply gives its *position*, a read's reply
/// the *count* it saw and the last token. A linearizable store must put every operation at one instant between
/// its invocation (the client sent it) and its response (the primary released the reply). The checker tests
/// necessary conditions of that, per key, so every report is a real violation (it is not a complete decision
/// procedure, which a single append-only key does not need to catch the failures we inject):
///
/// 1. *Positions are one history.* Two acknowledged appends never share a position, and where the final state is
///    known, each acknowledged append sits at the position its reply gave; a read's `last` is the token at its
///    `count` (a token of this key, at that position, and in the final state there).
/// 2. *Reads see the past.* A read sees every append acknowledged before the read was sent: its count is at least
///    their positions.
/// 3. *Reads do not see the future.* A read never sees an append that was sent after the read was answered.
/// 4. *Appends keep real-time order.* An append acknowledged before another is sent sits at a lower position.
/// 5. *Reads never go back.* A read answered before another is sent saw no more than the later one.
///
/// Appends whose outcome is unknown (the node died or dropped them) may or may not have happened; where the final
/// state holds one, its position there is used for 3 and 4. Rejected appends were never executed and must not
/// appear. Times are virtual, and "before" is strict, so operations at the same instant count as concurrent.
struct LinearizabilityChecker {
    private struct Write {
        var key: Int
        var invokedAt: Instant
        var respondedAt: Instant?
        var position: UInt64?
        var isRejected = false
    }

    private struct Read {
        var tag: UInt64
        var key: Int
        var invokedAt: Instant
        var respondedAt: Instant
        var count: UInt64
        var last: UInt64
    }

    /// Appends by token (a write's token is its tag); reads waiting for an answer by tag.
    private var writes: [UInt64: Write] = [:]
    private var pendingReads: [UInt64: (key: Int, invokedAt: Instant)] = [:]
    private var reads: [Read] = []
    private(set) var acknowledgedReads = 0

    mutating func invoked(_ command: TokenLog.Command, tag: UInt64, at now: Instant) {
        switch command {
        case .append(let key, let token), .sessionAppend(let key, _, _, let token):
            writes[token] = Write(key: key, invokedAt: now)
        case .read(let key): pendingReads[tag] = (key, now)
        case .openSession: break
        }
    }

    /// The primary released the reply to `tag`. Returns a complaint if the reply does not parse as its command's.
    mutating func responded(tag: UInt64, with reply: [UInt8], at now: Instant) -> String? {
        switch TokenLog.Answer(decoding: reply) {
        case .appended(let position)? where writes[tag] != nil:
            writes[tag]!.respondedAt = now
            writes[tag]!.position = position
        case .read(let count, let last)? where pendingReads[tag] != nil:
            let pending = pendingReads.removeValue(forKey: tag)!
            reads.append(
                Read(tag: tag, key: pending.key, invokedAt: pending.invokedAt, respondedAt: now, count: count, last: last))
            acknowledgedReads += 1
        default:
            return "tag \(tag) was answered with \(reply.count) bytes that are not its command's reply"
        }
        return nil
    }

    /// The command was refused without being executed.
    mutating func rejected(tag: UInt64) {
        writes[tag]?.isRejected = true
        pendingReads[tag] = nil
    }

    /// The command's outcome will never be known.
    mutating func lost(tag: UInt64) {
        pendingReads[tag] = nil
    }

    /// Every violation of rules 1–5; `finalLists` is the surviving state, when the run ends with one.
    func violations(finalLists: [[UInt64]]?) -> [String] {
        var found: [String] = []
        for key in 0..<TokenLog.keyCount {
            found += violations(key: key, finalList: finalLists?[key])
        }
        return found
    }

    private func violations(key: Int, finalList: [UInt64]?) -> [String] {
        var found: [String] = []
        // Rule 1: one position per token, one token per position.
        var positionOf: [UInt64: UInt64] = [:], tokenAt: [UInt64: UInt64] = [:]
        func place(_ token: UInt64, at position: UInt64, _ source: String) {
            if let known = positionOf[token], known != position {
                found.append("key \(key): token \(token) is at position \(known) and at \(position) (\(source))")
            }
            if let other = tokenAt[position], other != token {
                found.append("key \(key): position \(position) holds token \(other) and token \(token) (\(source))")
            }
            positionOf[token] = position
            tokenAt[position] = token
        }
        let keyWrites = writes.filter { $0.value.key == key }.sorted { $0.key < $1.key }
        for (token, write) in keyWrites {
            if let position = write.position { place(token, at: position, "acked reply") }
        }
        if let finalList {
            for (index, token) in finalList.enumerated() {
                guard let write = writes[token], write.key == key else {
                    found.append("key \(key): final state holds token \(token), never sent to this key")
                    continue
                }
                if write.isRejected { found.append("key \(key): token \(token) was rejected yet is in the final state") }
                place(token, at: UInt64(index + 1), "final state")
            }
        }
        let keyReads = reads.filter { $0.key == key }
        for read in keyReads {
            let what = "read \(read.tag) of key \(key) saw count \(read.count), last \(read.last)"
            if read.count == 0 {
                if read.last != 0 { found.append("\(what): an empty key has no last token") }
                continue
            }
            guard let write = writes[read.last], write.key == key else {
                found.append("\(what): that token was never appended to this key")
                continue
            }
            if let position = positionOf[read.last], position != read.count {
                found.append("\(what): that token is at position \(position)")
            }
            if let other = tokenAt[read.count], other != read.last {
                found.append("\(what): position \(read.count) holds token \(other)")
            }
            if read.respondedAt < write.invokedAt { found.append("\(what): it was appended after the read returned") }
            if let finalList, read.count > UInt64(finalList.count) {
                found.append("\(what): the final state holds only \(finalList.count)")
            }
        }
        // Positions of appends known to have happened: acked, or surviving in the final state.
        let placed: [(write: Write, position: UInt64)] = keyWrites.compactMap { token, write in
            positionOf[token].map { (write, $0) }
        }
        let completed = placed.compactMap { entry in entry.write.respondedAt.map { (at: $0, value: entry.position) } }
        // Rule 2: a read sees every append acknowledged before it was sent.
        let mustSee = RealTime.largestBefore(completed, at: keyReads.map(\.invokedAt))
        for (read, floor) in zip(keyReads, mustSee) where floor.map({ read.count < $0 }) ?? false {
            found.append("read \(read.tag) of key \(key) saw \(read.count) tokens, but the append at \(floor!) was acked before it was sent")
        }
        // Rule 3: a read never sees an append sent after it was answered (the smallest such position bounds it).
        let later = placed.map { (at: Instant(nanoseconds: .max - $0.write.invokedAt.nanoseconds), value: .max - $0.position) }
        let cannotSee = RealTime.largestBefore(later, at: keyReads.map { Instant(nanoseconds: .max - $0.respondedAt.nanoseconds) })
        for (read, bound) in zip(keyReads, cannotSee) where bound.map({ read.count >= .max - $0 }) ?? false {
            found.append("read \(read.tag) of key \(key) saw \(read.count) tokens, including an append at \(UInt64.max - bound!) sent after it returned")
        }
        // Rule 4: an append acked before another was sent sits below it.
        let before = RealTime.largestBefore(completed, at: placed.map(\.write.invokedAt))
        for (entry, floor) in zip(placed, before) where floor.map({ entry.position <= $0 }) ?? false {
            found.append("key \(key): the append at \(entry.position) was sent after the append at \(floor!) was acked")
        }
        // Rule 5: reads never go back.
        let seen = RealTime.largestBefore(keyReads.map { (at: $0.respondedAt, value: $0.count) }, at: keyReads.map(\.invokedAt))
        for (read, floor) in zip(keyReads, seen) where floor.map({ read.count < $0 }) ?? false {
            found.append("read \(read.tag) of key \(key) saw \(read.count) tokens after an earlier read saw \(floor!)")
        }
        return found
    }
}
