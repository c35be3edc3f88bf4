import Posix

/// `lockstep status HOST:PORT... [--json] [--requirepass-file PATH]`: what each node says about itself.
///
/// Reads `INFO server` and `INFO replication` over the client port, the same answers `redis-cli` gets, so the
/// command needs nothing a node does not already serve and works against either role. Nodes started with
/// `--requirepass-file` answer INFO only after AUTH, so status takes the same file and sends AUTH first; a node
/// that refuses is listed as such, not as unreachable, because the fix is a password, not a network.
enum StatusCommand {
    static let defaultTimeout: Duration = .milliseconds(1_000)

    static let help = """
        Usage: lockstep status HOST:PORT... [--json] [--timeout MS] [--requirepass-file PATH]

        Shows each node's role, epoch, log positions, replay lag and peer health, read from its client
        (Redis-protocol) port with INFO. Give every node's client address, e.g.

          lockstep status 127.0.0.1:7000 127.0.0.1:7001

        Columns: NODE (the address asked), NAME, ROLE (primary, solo, backup, joining, stopped; unreachable;
        noauth: the node requires a password; wrongpass: it refused the one given), EPOCH, LOG (highest
        entry appended or received), ACKED (highest entry the backup acked), APPLIED (highest entry
        replayed), LAG (entries received but not replayed), DURABLE (the last entry in the node's durable
        log, with --data-dir), PEER (none, connect, connecting, sync,
        connected), CHECKPOINT (a checkpoint streaming to or from the peer: bytes and chunks so far, rate,
        estimated time left) and REASON (why the node is in its role; a node waiting after a restart says
        why its disk cannot prove it holds every acknowledged write).

        Options:
          --json        print a JSON array, one object per node, instead of the table
          --timeout MS  how long to wait for each node to connect and answer (default \
        \(defaultTimeout.wholeMilliseconds))
          --requirepass-file PATH  send AUTH with the password in PATH (trailing newlines dropped) before
                        INFO: the same file the nodes were started with
          -h, --help    show this help

        \(ExitCode.helpText)
          With status, 1 means at least one node was unreachable or refused to answer without the right
          password (it is still listed).
        """

    /// Why a node gave no status.
    enum Failure: Equatable, CustomStringConvertible {
        /// No connection, no answer in time, or an answer that is not INFO; the text says which.
        case unreachable(String)
        /// The node answered `-NOAUTH`: it was started with `--requirepass-file` and status was given none.
        case authenticationRequired
        /// The node answered AUTH with `-WRONGPASS`: the password given is not the node's.
        case wrongPassword

        /// The ROLE column: Redis's own error codes for the two password cases.
        var role: String {
            switch self {
            case .unreachable: "unreachable"
            case .authenticationRequired: "noauth"
            case .wrongPassword: "wrongpass"
            }
        }

        var description: String {
            switch self {
            case .unreachable(let reason): reason
            case .authenticationRequired:
                "authentication required: the node has a password; give its file with --requirepass-file"
            case .wrongPassword: "wrong password: the node refused the password in --requirepass-file"
            }
        }
    }

    /// One node's answer, or why there is none.
    struct Report: Equatable {
        var address: String
        /// INFO's `name:value` fields from both sections; empty when the node gave no status.
        var fields: [String: String]
        /// Why the node gave no status; nil when it answered.
        var failure: Failure?

        /// Whether the node answered INFO; false too when only its password was in the way.
        var isReachable: Bool { failure == nil }

        /// Lockstep's own role, falling back to Redis's (`master`/`slave`) for a server that is not Lockstep.
        var role: String {
            if let failure { return failure.role }
            return fields["lockstep_role"] ?? fields["role"] ?? "-"
        }

        func field(_ name: String) -> String { fields[name].flatMap { $0.isEmpty ? nil : $0 } ?? "-" }
    }

    static func run(_ words: [String]) throws(CommandError) -> Int32 {
        let arguments = try Arguments(
            words, command: "status", valued: ["--timeout", "--requirepass-file"], switches: ["--json"],
            allowsPositionals: true)
        if arguments.wantsHelp {
            writeStandardOutput(help + "\n")
            return ExitCode.success
        }
        guard !arguments.positionals.isEmpty else {
            throw .usage("give at least one node's client address, e.g. lockstep status 127.0.0.1:7000")
        }
        let timeout = try arguments.milliseconds("--timeout", default: defaultTimeout, in: 1...600_000)
        var addresses: [SocketAddress] = []
        for text in arguments.positionals {
            addresses.append(try Arguments.address(text, flag: "node address"))
        }
        let password = try arguments.string("--requirepass-file").map(ClientOptions.readPasswordFile)
        let reports = addresses.map { query($0, password: password, timeout: timeout) }
        writeStandardOutput(arguments.contains("--json") ? json(reports) : table(reports))
        return reports.allSatisfy(\.isReachable) ? ExitCode.success : ExitCode.failure
    }

    /// Asks one node for `INFO server` and `INFO replication`, pipelined on one connection after `AUTH password`
    /// when one is given.
    ///
    /// A node without a password answers that AUTH with an `-ERR`, as Redis does, and INFO still answers: status
    /// works against both kinds of node with the same flags.
    static func query(_ address: SocketAddress, password: [UInt8]? = nil, timeout: Duration) -> Report {
        func failed(_ failure: Failure) -> Report {
            Report(address: address.description, fields: [:], failure: failure)
        }
        do {
            let client = try RESPClient(address: address, timeout: timeout)
            defer { client.close() }
            if let password { try client.sendRaw(RESPClient.encode([Array("AUTH".utf8), password])) }
            try client.send(["INFO", "server"])
            try client.send(["INFO", "replication"])
            if password != nil, errorCode(try client.readReply()) == "WRONGPASS" { return failed(.wrongPassword) }
            var fields: [String: String] = [:]
            for _ in 0..<2 {
                let reply = try client.readReply()
                if errorCode(reply) == "NOAUTH" { return failed(.authenticationRequired) }
                guard case .bulk(let bytes?) = reply else {
                    let answer = reply.text.map { "\"\($0)\"" } ?? "something else"
                    return failed(.unreachable("INFO answered \(answer)"))
                }
                fields.merge(parseInfo(String(decoding: bytes, as: UTF8.self))) { _, new in new }
            }
            return Report(address: address.description, fields: fields, failure: nil)
        } catch {
            return failed(.unreachable(error.description))
        }
    }

    /// An error reply's code, its first word (`NOAUTH`, `WRONGPASS`, `ERR`), as Redis clients read it; nil for
    /// any other reply.
    static func errorCode(_ reply: RESPValue) -> Substring? {
        guard case .error(let message) = reply else { return nil }
        return message.prefix { $0 != " " }
    }

    /// INFO's `name:value` lines; `#` headings and blank lines are skipped. The value is everything after the
    /// first colon, so a reason may contain colons.
    static func parseInfo(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            let line = rawLine.hasSuffix("\r") ? rawLine.dropLast() : rawLine[...]
            guard !line.isEmpty, !line.hasPrefix("#"), let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = String(line[line.index(after: colon)...])
        }
        return fields
    }

    static var columns: [(title: String, value: (Report) -> String)] {
        [
            ("NODE", \.address),
            ("NAME", { $0.field("lockstep_node_name") }),
            ("ROLE", \.role),
            ("EPOCH", { $0.field("lockstep_epoch") }),
            ("LOG", { $0.field("lockstep_log_sequence") }),
            ("ACKED", { $0.field("lockstep_acked_sequence") }),
            ("APPLIED", { $0.field("lockstep_applied_sequence") }),
            ("LAG", { $0.field("lockstep_replay_lag") }),
            ("DURABLE", { $0.field("lockstep_persisted_sequence") }),
            ("PEER", { $0.field("lockstep_peer_state") }),
            ("CHECKPOINT", { $0.field("lockstep_checkpoint") }),
            ("REASON", { $0.failure?.description ?? $0.field("lockstep_reason") }),
        ]
    }

    /// Aligned columns, the reason last so a long one does not push the others around.
    static func table(_ reports: [Report]) -> String {
        let rows = [columns.map(\.title)] + reports.map { report in columns.map { $0.value(report) } }
        var widths = [Int](repeating: 0, count: columns.count)
        for row in rows {
            for (index, cell) in row.enumerated() { widths[index] = max(widths[index], cell.count) }
        }
        var text = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                let isLast = index == row.count - 1
                line += isLast ? cell : cell + String(repeating: " ", count: widths[index] - cell.count + 2)
            }
            while line.hasSuffix(" ") { line.removeLast() }
            text += line + "\n"
        }
        return text
    }

    /// A JSON array: numbers as numbers, a missing field as null, nodes that gave no status with `"error"` (and
    /// `"reachable": true` with role `noauth` or `wrongpass` when only the password was in the way).
    static func json(_ reports: [Report]) -> String {
        let objects = reports.map { report -> String in
            var members: [(String, String)] = [
                ("address", jsonString(report.address)),
                ("reachable", { if case .unreachable = report.failure { "false" } else { "true" } }()),
            ]
            if let failure = report.failure {
                members += [("role", jsonString(report.role)), ("error", jsonString(failure.description))]
            } else {
                let text = { (name: String) in report.fields[name].map(jsonString) ?? "null" }
                let number = { (name: String) in report.fields[name].flatMap { UInt64($0) }.map(String.init) ?? "null" }
                members += [
                    ("name", text("lockstep_node_name")),
                    ("role", jsonString(report.role)),
                    ("redis_role", text("role")),
                    ("process_id", number("process_id")),
                    ("epoch", number("lockstep_epoch")),
                    ("log_sequence", number("lockstep_log_sequence")),
                    ("acked_sequence", number("lockstep_acked_sequence")),
                    ("applied_sequence", number("lockstep_applied_sequence")),
                    ("replay_lag", number("lockstep_replay_lag")),
                    ("persisted_sequence", number("lockstep_persisted_sequence")),
                    ("peer_state", text("lockstep_peer_state")),
                    ("checkpoint", text("lockstep_checkpoint")),
                    ("checkpoint_bytes", number("lockstep_checkpoint_bytes")),
                    ("checkpoint_chunks", number("lockstep_checkpoint_chunks")),
                    ("checkpoint_estimated_bytes", number("lockstep_checkpoint_estimated_bytes")),
                    ("checkpoint_bytes_per_second", number("lockstep_checkpoint_bytes_per_second")),
                    ("checkpoint_milliseconds_left", number("lockstep_checkpoint_milliseconds_left")),
                    ("reason", text("lockstep_reason")),
                ]
            }
            return "  {" + members.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    static func jsonString(_ text: String) -> String {
        var escaped = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                escaped += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped + "\""
    }
}
