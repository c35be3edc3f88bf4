import Replication

/// CONFIG and SLOWLOG: this node's settings and slow log, shared by its connections, in Redis 7.0's words.
///
/// A setting either belongs to this node and changes at run time (the slow log's two, Redis's encoding thresholds,
/// `notify-keyspace-events`), or is fixed by Lockstep's command line (persistence, memory, the port): CONFIG SET
/// accepts a fixed setting's current value, so a tool that turns off what is already off goes on, and refuses another
/// with Redis's error for an immutable setting.
extension KeyValueFrontend {
    /// What CONFIG SET changes on this node.
    struct ConfigTargets: Sendable {
        var slowLog: SlowLog
        var encodings: EncodingSettings
        var memory: MemoryLimit
        var keyspaceEvents: KeyspaceEventSettings
    }

    /// One setting CONFIG GET lists and CONFIG SET knows.
    struct Setting: Sendable {
        var name: String
        /// The current value, from the node's status and its settings.
        var value: @Sendable (NodeStatus, ConfigTargets) -> String
        /// Applies a value; nil for a fixed setting. Returns Redis's reason when the value is invalid.
        var set: (@Sendable (String, ConfigTargets) -> String?)?
    }

    /// Every setting, in the order CONFIG GET lists them.
    static let settings: [Setting] = configuration.map { name, value in
        Setting(name: name, value: { _, _ in value }, set: nil)
    } + [
        Setting(
            name: "latency-tracking",
            value: { _, targets in targets.slowLog.commandStatistics.isLatencyTracking ? "yes" : "no" },
            set: { text, targets in
                guard let isOn = yesOrNo(text) else { return "argument must be 'yes' or 'no'" }
                targets.slowLog.commandStatistics.isLatencyTracking = isOn
                return nil
            }),
        Setting(
            name: "latency-tracking-info-percentiles",
            value: { _, targets in targets.slowLog.commandStatistics.percentilesText },
            set: { text, targets in
                switch CommandStatistics.parsePercentiles(text) {
                case .success(let percentiles):
                    targets.slowLog.commandStatistics.percentiles = percentiles
                    return nil
                case .failure(let error):
                    return error.description
                }
            }),
        Setting(name: "maxmemory", value: { _, targets in String(targets.memory.bytes) },
                set: { text, targets in targets.memory.set(text) }),
        Setting(name: "maxmemory-policy", value: { _, _ in "noeviction" },
                set: { text, _ in MemoryLimit.policyRefusal(text) }),
        Setting(
            name: "notify-keyspace-events", value: { _, targets in targets.keyspaceEvents.events.letters },
            set: { text, targets in
                guard let events = KeyspaceEvents(letters: text.utf8) else {
                    return KeyspaceEvents.invalidLettersReason
                }
                targets.keyspaceEvents.events = events
                return nil
            }),
        Setting(name: "port", value: { status, _ in String(hostAndPort(status.clientAddress).port) }, set: nil),
        Setting(
            name: "slowlog-log-slower-than", value: { _, targets in String(targets.slowLog.thresholdMicroseconds) },
            set: { text, targets in
                guard let value = DecimalInteger.parse(Array(text.utf8)) else {
                    return "argument couldn't be parsed into an integer"
                }
                guard value >= -1 else { return "argument must be between -1 and \(Int64.max) inclusive" }
                targets.slowLog.thresholdMicroseconds = value
                return nil
            }),
        Setting(
            name: "slowlog-max-len", value: { _, targets in String(targets.slowLog.lengthLimit) },
            set: { text, targets in
                guard let value = DecimalInteger.parse(Array(text.utf8)) else {
                    return "argument couldn't be parsed into an integer"
                }
                guard value >= 0, value <= SlowLog.entriesLimit else {
                    return "argument must be between 0 and \(SlowLog.entriesLimit) inclusive"
                }
                targets.slowLog.lengthLimit = Int(value)
                return nil
            }),
    ] + EncodingSettings.thresholds.indices.flatMap { index in
        // Under its older name too, as Redis 7.0 answers to both.
        let threshold = EncodingSettings.thresholds[index]
        return ([threshold.name] + (threshold.alias.map { [$0] } ?? [])).map { name in
            Setting(
                name: name, value: { _, targets in String(targets.encodings.value(at: index)) },
                set: { text, targets in targets.encodings.set(text, at: index) })
        }
    }

    /// `CONFIG GET pattern...`, `CONFIG SET name value...`, `CONFIG RESETSTAT`, `CONFIG REWRITE`.
    static func configCommand(_ arguments: [[UInt8]], status: NodeStatus, targets: ConfigTargets) -> [UInt8] {
        let subcommand = arguments[1]
        if ASCII.equals(subcommand, "get") {
            guard arguments.count > 2 else { return Replies.wrongArity("config|get") }
            let patterns = arguments.dropFirst(2).map { GlobPattern(ASCII.lowercased($0)) }
            var pairs: [[UInt8]] = []
            for setting in settings where patterns.contains(where: { $0.matches(Array(setting.name.utf8)) }) {
                pairs.append(RESPWriter.bulk(setting.name))
                pairs.append(RESPWriter.bulk(setting.value(status, targets)))
            }
            return RESPWriter.array(pairs)
        }
        if ASCII.equals(subcommand, "set") {
            guard arguments.count >= 4 else { return Replies.wrongArity("config|set") }
            return configSet(Array(arguments.dropFirst(2)), status: status, targets: targets)
        }
        if ASCII.equals(subcommand, "resetstat") {
            targets.slowLog.commandStatistics.reset()
            return Replies.ok
        }
        if ASCII.equals(subcommand, "rewrite") {
            return RESPWriter.error("ERR The server is running without a config file")
        }
        return unknownSubcommand(subcommand, of: "CONFIG")
    }

    /// CONFIG SET's pairs, all or nothing, with Redis's errors in its order: an unknown name first, then a fixed
    /// setting given another value or a name given twice, then a value that does not parse.
    private static func configSet(_ pairs: [[UInt8]], status: NodeStatus, targets: ConfigTargets) -> [UInt8] {
        guard pairs.count % 2 == 0 else { return Replies.syntaxError }
        var chosen: [(setting: Setting, value: String)] = []
        var refusal: [UInt8]?
        for index in stride(from: 0, to: pairs.count, by: 2) {
            let name = String(decoding: ASCII.lowercased(pairs[index]), as: UTF8.self)
            guard let setting = settings.first(where: { $0.name == name }) else {
                guard refusal == nil else { continue }  // Redis reports the first error it meets
                var message = Array("ERR Unknown option or number of arguments for CONFIG SET - '".utf8)
                message.append(contentsOf: pairs[index].prefix(128))
                message.append(UInt8(ascii: "'"))
                var writer = RESPWriter()
                writer.appendError(message)
                return writer.bytes
            }
            let value = String(decoding: pairs[index + 1], as: UTF8.self)
            guard refusal == nil else { continue }
            if chosen.contains(where: { $0.setting.name == name }) {
                refusal = failed(name, "duplicate parameter")
            } else if setting.set == nil, value != setting.value(status, targets) {
                refusal = failed(name, "can't set immutable config")
            }
            chosen.append((setting, value))
        }
        if let refusal { return refusal }
        // Checked on scratch settings first, so that a bad value leaves every setting as it was.
        let scratch = ConfigTargets(
            slowLog: SlowLog(), encodings: EncodingSettings(), memory: MemoryLimit(),
            keyspaceEvents: KeyspaceEventSettings())
        for (setting, value) in chosen {
            if let set = setting.set, let reason = set(value, scratch) { return failed(setting.name, reason) }
        }
        for (setting, value) in chosen { _ = setting.set?(value, targets) }
        return Replies.ok
    }

    /// A boolean setting's value as Redis's `yesnotoi` reads it: `yes` or `no` in any case; nil for anything else.
    private static func yesOrNo(_ text: String) -> Bool? {
        if ASCII.equals(Array(text.utf8), "yes") { return true }
        if ASCII.equals(Array(text.utf8), "no") { return false }
        return nil
    }

    private static func failed(_ name: String, _ reason: String) -> [UInt8] {
        RESPWriter.error("ERR CONFIG SET failed (possibly related to argument '\(name)') - \(reason)")
    }

    /// `SLOWLOG GET [count]`, `SLOWLOG LEN`, `SLOWLOG RESET`, `SLOWLOG HELP`.
    static func slowLogCommand(_ arguments: [[UInt8]], slowLog: SlowLog) -> [UInt8] {
        let subcommand = arguments[1]
        if arguments.count == 2, ASCII.equals(subcommand, "help") {
            return RESPWriter.array([
                "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                "GET [<count>]",
                "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
                "    Entries are made of:",
                "    id, timestamp, time in microseconds, arguments array, client IP and port,",
                "    client name",
                "LEN",
                "    Return the length of the slowlog.",
                "RESET",
                "    Reset the slowlog.",
                "HELP",
                "    Prints this help.",
            ].map { RESPWriter.simpleString($0) })
        }
        if arguments.count == 2, ASCII.equals(subcommand, "reset") {
            slowLog.reset()
            return Replies.ok
        }
        if arguments.count == 2, ASCII.equals(subcommand, "len") { return RESPWriter.integer(Int64(slowLog.count)) }
        if arguments.count <= 3, ASCII.equals(subcommand, "get") {
            var count = 10
            if arguments.count == 3 {
                guard let wanted = DecimalInteger.parse(arguments[2]), wanted >= -1 else {
                    return RESPWriter.error("ERR count should be greater than or equal to -1")
                }
                count = wanted == -1 ? SlowLog.entriesLimit : Int(clamping: wanted)
            }
            return RESPWriter.array(slowLog.newest(count).map { entry in
                RESPWriter.array([
                    RESPWriter.integer(entry.id), RESPWriter.integer(entry.unixSeconds),
                    RESPWriter.integer(entry.microseconds),
                    RESPWriter.array(entry.arguments.map { RESPWriter.bulk($0) }),
                    RESPWriter.bulk(Array(entry.clientAddress.utf8)), RESPWriter.bulk(entry.clientName),
                ])
            })
        }
        return Replies.unknownSubcommandOrArity(subcommand, of: "SLOWLOG")
    }
}
