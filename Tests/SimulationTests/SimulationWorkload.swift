import LogChannel
import Replication

/// What a simulation runs on the pair: the replicated state machine, what its clients send, and the records the
/// checkers hold the replies against.
///
/// The simulation (`PairSimulation`) owns the nodes, the network, the disks, the faults and the plain clients'
/// pipelines; the workload decides each request's bytes and judges each reply. A workload is a value kept in the
/// simulation (`workload`), so a seed still gives one trace. Session clients, whose requests a workload's machine
/// must number and deduplicate, are driven through the static hooks; a workload without sessions keeps the defaults.
protocol SimulationWorkload {
    associatedtype Machine: StateMachine

    /// The machine a new cluster starts from, and a joining backup restores over.
    static var emptyMachine: Machine { get }

    /// A plain client's next request, sent as `tag` at `now` on `link`: its command's bytes, as the machine applies
    /// them.
    mutating func request(tag: UInt64, on link: ClientLink, at now: Instant, random: inout SeededRandom) -> [UInt8]
    /// What the reply released for `tag` answers: the replies it carries by tag (the asker's own among them, unless
    /// it waits) and, when the asker waits, what ends its wait.
    mutating func route(tag: UInt64, reply: [UInt8]) -> RoutedReplies
    /// A node's source of wall-clock time and random values, which its primary reads through `ApplyContext`.
    static func entropy(random: SeededRandom, wallClock: VirtualWallClock) -> any EntropySource
    /// The primary released the reply to `tag` at `now`; returns a complaint if the reply is not its request's.
    mutating func responded(tag: UInt64, with reply: [UInt8], at now: Instant) -> String?
    /// The request was refused without being executed.
    mutating func rejected(tag: UInt64)
    /// The request's outcome will never be known (its node died or dropped it).
    mutating func lost(tag: UInt64)
    /// What a node that went live holding `machine` lacks of the acknowledged writes; nil if nothing.
    func missingAcknowledged(in machine: Machine) -> String?

    /// A session client's event (`PairSimulation.Event.sessionConnect`, `.sessionSend`, `.sessionTimeout`).
    static func sessionEvent(_ event: PairSimulation<Self>.Event, in simulation: inout PairSimulation<Self>)
    /// A reply reached a session client; false if `tag` is not a session client's current request.
    static func sessionReplied(_ tag: UInt64, with reply: [UInt8], in simulation: inout PairSimulation<Self>) -> Bool
    /// A node refused a session client's request; false if `tag` is not a session client's current request.
    static func sessionRejected(_ tag: UInt64, in simulation: inout PairSimulation<Self>) -> Bool
    /// Node `index` died or dropped its withheld replies: its session clients connect elsewhere.
    static func loseSessionConnections(at index: Int, in simulation: inout PairSimulation<Self>)
}

/// Without session clients: no session event is ever scheduled and no tag is a session client's. Without blocking
/// commands, a reply answers its asker alone; without expiring keys, the wall clock is `SimulatedEntropy`'s.
extension SimulationWorkload {
    mutating func route(tag: UInt64, reply: [UInt8]) -> RoutedReplies { RoutedReplies(replies: [(tag, reply)]) }

    static func entropy(random: SeededRandom, wallClock: VirtualWallClock) -> any EntropySource {
        SimulatedEntropy(random: random)
    }

    static func sessionEvent(_ event: PairSimulation<Self>.Event, in simulation: inout PairSimulation<Self>) {}
    static func sessionReplied(_ tag: UInt64, with reply: [UInt8], in simulation: inout PairSimulation<Self>) -> Bool {
        false
    }
    static func sessionRejected(_ tag: UInt64, in simulation: inout PairSimulation<Self>) -> Bool { false }
    static func loseSessionConnections(at index: Int, in simulation: inout PairSimulation<Self>) {}
}

/// Which connection a plain client sends on: to `node`, as long as its incarnation `incarnation` lives and serves
/// (`servingTerm`). A client's connection-bound state (a watch, a protocol said by HELLO) ends when its link changes.
struct ClientLink: Equatable {
    var client: Int
    var node: Int
    var incarnation: Int
    var servingTerm: Int
}

/// What one released reply answers (`SimulationWorkload.route`).
struct RoutedReplies {
    /// A blocked request's wait: the runtime sends `unblock` to its node once `timeout` passed since the reply that
    /// said it waits, as `ClientPort+Blocking` does.
    struct Wait {
        var timeout: Duration
        var unblock: [UInt8]
    }

    /// The replies, by the tag of the request each answers.
    var replies: [(tag: UInt64, reply: [UInt8])]
    /// Set when the asker waits.
    var wait: Wait?
}
