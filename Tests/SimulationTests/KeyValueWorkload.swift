import KeyValue
import LogChannel
import Replication

/// The key-value store's workload: plain clients send Redis commands of every type the model knows, one at a time or
/// as MULTI … EXEC transactions, and the history records what each was answered (`KeyValueHistory`).
///
/// A write transaction adds one token to both pair keys around one to three other writes; a read transaction reads
/// both pair keys' sizes around one or two other reads (`KeyValueModel`).
struct KeyValueWorkload: SimulationWorkload {
    static var emptyMachine: KeyValueStore { KeyValueStore() }

    var history = KeyValueHistory()
    /// The next token a write carries: one counter for every key, so a token names one write.
    private var nextToken: UInt64 = 1
    /// Tokens sent to each set, which SISMEMBER asks about.
    private var tokensAdded: [String: [UInt64]] = [:]

    mutating func request(tag: UInt64, at now: Instant, random: inout SeededRandom) -> [UInt8] {
        let request: KeyValueModel.Request
        switch random.next() % 8 {
        case 0:
            let token = takeToken()
            let writes = (0...(random.next() % 3)).map { _ in write(&random) }
            let addToSet = KeyValueModel.Operation.setAdd(KeyValueModel.pairSet, token: token)
            let pushToList = KeyValueModel.Operation.rightPush(KeyValueModel.pairList, token: token)
            request = .transaction([addToSet] + writes + [pushToList])
        case 1:
            let reads = (0...(random.next() % 2)).map { _ in read(&random) }
            request = .transaction(
                [.cardinality(KeyValueModel.pairSet)] + reads + [.length(KeyValueModel.pairList)])
        default:
            request = .single(random.next() % 2 == 0 ? write(&random) : read(&random))
        }
        history.invoked(request, tag: tag, at: now)
        return request.encoded
    }

    mutating func responded(tag: UInt64, with reply: [UInt8], at now: Instant) -> String? {
        history.responded(tag: tag, with: reply, at: now)
    }

    mutating func rejected(tag: UInt64) { history.rejected(tag: tag) }

    mutating func lost(tag: UInt64) { history.lost(tag: tag) }

    func missingAcknowledged(in machine: KeyValueStore) -> String? {
        history.missingAcknowledged(in: KeyValueModel.State(reading: machine))
    }

    // MARK: Commands

    private mutating func takeToken() -> UInt64 {
        defer { nextToken += 1 }
        return nextToken
    }

    private mutating func write(_ random: inout SeededRandom) -> KeyValueModel.Operation {
        switch random.next() % 5 {
        case 0: return .rightPush(pick(KeyValueModel.lists, &random), token: takeToken())
        case 1: return .leftPop(pick(KeyValueModel.lists, &random))
        case 2:
            let key = pick(KeyValueModel.hashes, &random)
            return .hashSet(key, field: pick(KeyValueModel.fields, &random), token: takeToken())
        case 3:
            let key = pick(KeyValueModel.sets, &random), token = takeToken()
            tokensAdded[key, default: []].append(token)
            return .setAdd(key, token: token)
        default: return .increment(pick(KeyValueModel.counters, &random))
        }
    }

    private func read(_ random: inout SeededRandom) -> KeyValueModel.Operation {
        switch random.next() % 7 {
        case 0: return .range(pick(KeyValueModel.lists, &random))
        case 1: return .length(pick(KeyValueModel.lists, &random))
        case 2: return .hashGet(pick(KeyValueModel.hashes, &random), field: pick(KeyValueModel.fields, &random))
        case 3: return .hashGetAll(pick(KeyValueModel.hashes, &random))
        case 4: return .cardinality(pick(KeyValueModel.sets, &random))
        case 5:
            // A token added lately (recent ones are the likeliest to be in flight), or one never added.
            let key = pick(KeyValueModel.sets, &random)
            let added = tokensAdded[key] ?? []
            let back = Int(random.next() % 8)
            return .isMember(key, token: back < added.count ? added[added.count - 1 - back] : 0)
        default: return .get(pick(KeyValueModel.counters, &random))
        }
    }

    private func pick(_ choices: [String], _ random: inout SeededRandom) -> String {
        choices[Int(random.next() % UInt64(choices.count))]
    }
}

/// The simulation of the bundled key-value store.
typealias KeyValueSimulation = PairSimulation<KeyValueWorkload>

extension KeyValueSimulation {
    init(seed: UInt64, faults: FaultMix) {
        self.init(seed: seed, faults: faults, workload: KeyValueWorkload())
    }

    /// Requests whose reply a client has seen.
    var acknowledgedRequests: Int { workload.history.acknowledgedRequests }

    /// The final checks, once healed and quiet: one serving node; the backup's digest equal to its; and every
    /// acknowledged reply linearizable against its state.
    mutating func checkFinalState() {
        guard let primary = finalPrimary(), let store = nodes[primary].core.machine else { return }
        _ = caughtUpBackup(of: primary)
        for violation in workload.history.violations(final: KeyValueModel.State(reading: store)) {
            report(.linearizability, violation)
        }
    }

    /// When the state was lost, what can be judged without it: acknowledged replies against each other.
    mutating func checkHistoryWithoutFinalState() {
        for violation in workload.history.violations(final: nil) { report(.linearizability, violation) }
    }
}
