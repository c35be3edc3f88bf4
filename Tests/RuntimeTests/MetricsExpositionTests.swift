import Replication
@testable import Runtime
import Testing

/// The exposition format as the runtime writes it, read back by a strict reader of version 0.0.4 written here:
/// HELP then TYPE before each family's samples, escaped label values, one sample per known family member.
@Suite struct MetricsExpositionTests {
    /// One family as read back.
    struct Family {
        var name: String
        var help: String
        var type: String
        var samples: [(labels: [String: String], value: String)] = []

        func value(_ labels: [String: String] = [:]) -> String? {
            samples.first { $0.labels == labels }?.value
        }
    }

    struct ReadError: Error, CustomStringConvertible {
        var description: String
    }

    /// Reads `text` strictly: every sample belongs to the family whose HELP and TYPE came just before it.
    static func read(_ text: String) throws -> [Family] {
        guard text.hasSuffix("\n") else { throw ReadError(description: "no final line feed") }
        var families: [Family] = []
        var pendingHelp: (name: String, text: String)?
        for line in text.dropLast().split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                guard let space = rest.firstIndex(of: " "), pendingHelp == nil else {
                    throw ReadError(description: "a HELP line out of place: \(line)")
                }
                pendingHelp = (String(rest[..<space]), String(rest[rest.index(after: space)...]))
            } else if line.hasPrefix("# TYPE ") {
                let words = line.split(separator: " ")
                guard words.count == 4, let help = pendingHelp, help.name == words[2] else {
                    throw ReadError(description: "a TYPE line without its HELP just before: \(line)")
                }
                guard !families.contains(where: { $0.name == help.name }) else {
                    throw ReadError(description: "family \(help.name) twice")
                }
                families.append(Family(name: help.name, help: help.text, type: String(words[3])))
                pendingHelp = nil
            } else {
                guard var family = families.popLast(), pendingHelp == nil else {
                    throw ReadError(description: "a sample outside a family: \(line)")
                }
                let (name, labels, value) = try sample(line)
                guard name == family.name else {
                    throw ReadError(description: "sample \(name) inside family \(family.name)")
                }
                guard !family.samples.contains(where: { $0.labels == labels }) else {
                    throw ReadError(description: "two samples of \(name) with labels \(labels)")
                }
                family.samples.append((labels, value))
                families.append(family)
            }
        }
        return families
    }

    /// `name{label="value",...} value`, label values unescaped.
    static func sample(_ line: String) throws -> (String, [String: String], String) {
        var characters = Array(line)[...]
        let name = String(characters.prefix { $0 != "{" && $0 != " " })
        characters = characters.dropFirst(name.count)
        var labels: [String: String] = [:]
        if characters.first == "{" {
            characters = characters.dropFirst()
            while characters.first != "}" {
                let label = String(characters.prefix { $0 != "=" })
                characters = characters.dropFirst(label.count)
                guard characters.starts(with: ["=", "\""]) else { throw ReadError(description: "label in \(line)") }
                characters = characters.dropFirst(2)
                var value = ""
                while let character = characters.popFirst(), character != "\"" {
                    guard character == "\\" else {
                        value.append(character)
                        continue
                    }
                    switch characters.popFirst() {
                    case "\\": value.append("\\")
                    case "\"": value.append("\"")
                    case "n": value.append("\n")
                    default: throw ReadError(description: "bad escape in \(line)")
                    }
                }
                labels[label] = value
                if characters.first == "," { characters = characters.dropFirst() }
            }
            characters = characters.dropFirst()
        }
        guard characters.first == " " else { throw ReadError(description: "no value in \(line)") }
        let value = String(characters.dropFirst())
        guard value == "NaN" || Double(value) != nil else { throw ReadError(description: "value in \(line)") }
        return (name, labels, value)
    }

    static func snapshot() -> MetricsExposition.Snapshot {
        var status = NodeStatus(
            role: .primary, nodeName: "a\"b\\c\nd", epoch: 7, logSequence: 120, ackedSequence: 118,
            appliedSequence: 110, peerState: .sync, clientAddress: "127.0.0.1:7000", replayLag: 8)
        status.unackedEntries = 2
        status.unackedBytes = 96
        status.checkpoint = CheckpointProgress(
            direction: .sending, sequence: 100, bytes: 1_000_000, chunks: 4, estimatedBytes: 3_000_000,
            elapsed: .seconds(2))
        var counters = RuntimeCounters()
        counters.roleChanges = ["primary_lost": 2, "joined": 1, "backup_caught_up": 3]
        counters.channelCloses = ["silent_peer": 5]
        counters.clientCommands = 42
        counters.intakePauses = 3
        counters.channelLongestSilenceMicroseconds = 56_000
        return MetricsExposition.Snapshot(status: status, counters: counters, openClientConnections: 9)
    }

    @Test("every family has HELP and TYPE before its samples, a lockstep_ name, and counters end in _total")
    func familiesAreWellFormed() throws {
        let families = try Self.read(MetricsExposition.render(Self.snapshot()))
        #expect(families.count > 30)
        for family in families {
            #expect(family.name.hasPrefix("lockstep_"), "\(family.name)")
            #expect(["gauge", "counter"].contains(family.type), "\(family.name) \(family.type)")
            #expect((family.type == "counter") == family.name.hasSuffix("_total"), "\(family.name) is a \(family.type)")
            #expect(!family.help.isEmpty)
        }
    }

    @Test("known members get one sample each, 1 for the current one; counts by code one sample per code, sorted")
    func oneSamplePerMember() throws {
        let families = try Self.read(MetricsExposition.render(Self.snapshot()))
        func family(_ name: String) throws -> Family {
            try #require(families.first { $0.name == name }, "no family \(name)")
        }
        let roles = try family("lockstep_role")
        #expect(roles.samples.map { $0.labels["role"] } == NodeStatus.Role.allCases.map(\.rawValue))
        #expect(roles.samples.map(\.value) == ["1", "0", "0", "0", "0"])
        let peer = try family("lockstep_peer_state")
        #expect(peer.samples.filter { $0.value == "1" }.map { $0.labels["state"] } == ["sync"])
        #expect(peer.samples.count == NodeStatus.PeerState.allCases.count)
        let changes = try family("lockstep_role_changes_total")
        #expect(changes.samples.map { $0.labels["reason"] } == ["backup_caught_up", "joined", "primary_lost"])
        #expect(changes.value(["reason": "primary_lost"]) == "2")
        #expect(try family("lockstep_failovers_total").value() == "2")
        #expect(try family("lockstep_channel_closes_total").value(["code": "silent_peer"]) == "5")
        #expect(try family("lockstep_arbiter_errors_total").samples.isEmpty)
        let figures: [String: String] = [
            "lockstep_epoch": "7", "lockstep_log_sequence": "120", "lockstep_acked_sequence": "118",
            "lockstep_applied_sequence": "110", "lockstep_replay_lag_entries": "8", "lockstep_unacked_entries": "2",
            "lockstep_unacked_bytes": "96", "lockstep_client_connections": "9", "lockstep_client_commands_total": "42",
            "lockstep_intake_pauses_total": "3", "lockstep_channel_longest_silence_seconds": "0.056",
            "lockstep_checkpoint_sequence": "100", "lockstep_checkpoint_bytes": "1000000",
            "lockstep_checkpoint_chunks": "4", "lockstep_checkpoint_estimated_bytes": "3000000.0",
            "lockstep_checkpoint_bytes_per_second": "500000.0", "lockstep_checkpoint_seconds_left": "4.0",
            "lockstep_checkpoint_elapsed_seconds": "2.0",
        ]
        for (name, value) in figures { #expect(try family(name).value() == value, "\(name)") }
        #expect(try family("lockstep_checkpoint_in_progress").value(["direction": "sending"]) == "1")
        #expect(try family("lockstep_checkpoint_in_progress").value(["direction": "receiving"]) == "0")
    }

    @Test("without a checkpoint its figures are 0, and what cannot be known is NaN")
    func noCheckpoint() throws {
        var snapshot = Self.snapshot()
        snapshot.status.checkpoint = nil
        let families = try Self.read(MetricsExposition.render(snapshot))
        let value = { (name: String) in families.first { $0.name == name }?.value() }
        #expect(value("lockstep_checkpoint_bytes") == "0")
        #expect(value("lockstep_checkpoint_estimated_bytes") == "NaN")
        #expect(value("lockstep_checkpoint_seconds_left") == "NaN")
        let progress = families.first { $0.name == "lockstep_checkpoint_in_progress" }
        #expect(progress?.samples.allSatisfy { $0.value == "0" } == true)
    }

    @Test("label values escape backslash, quote and line feed; HELP escapes backslash and line feed only")
    func escaping() throws {
        let text = MetricsExposition.render(Self.snapshot())
        #expect(text.contains(#"lockstep_node_info{name="a\"b\\c\nd",client_address="127.0.0.1:7000"} 1"#))
        let families = try Self.read(text)
        #expect(families.first { $0.name == "lockstep_node_info" }?.samples.first?.labels["name"] == "a\"b\\c\nd")
        #expect(MetricsExposition.escapeLabelValue("x\\y\n\"z\"") == #"x\\y\n\"z\""#)
        #expect(MetricsExposition.escapeHelp("x\\y\n\"z\"") == #"x\\y\n"z""#)
        #expect(MetricsExposition.format(.nan) == "NaN")
        #expect(MetricsExposition.format(-.infinity) == "-Inf")
    }
}
