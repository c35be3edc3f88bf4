/// The sessions group: `SESSION EXEC` SET beside plain SET on the same Lockstep pair, and the `LockstepClient`
/// library beside a plain RESP client, so the report can print what exactly-once costs (issue 19).
extension BenchmarkPlan {
    /// Plain `SET` at `connections` × `depth`.
    public static func plainSetCaseKey(connections: Int, depth: Int = 1) -> String {
        depth > 1 ? "sessions-set-pipelined\(depth)@\(connections)" : "sessions-set@\(connections)"
    }

    /// `SESSION EXEC <id> <n> SET` at `connections` × `depth`, each connection in its own session.
    public static func sessionSetCaseKey(connections: Int, depth: Int = 1) -> String {
        depth > 1 ? "sessions-exec-set-pipelined\(depth)@\(connections)" : "sessions-exec-set@\(connections)"
    }

    /// `SET` through one `LockstepClient` shared by `tasks` concurrent tasks.
    public static func clientLibraryCaseKey(tasks: Int) -> String { "sessions-client-set\(tasks)@1" }

    /// Whether a sessions case sends its requests inside sessions through the load generator.
    static func isSessionRequestCase(_ definition: CaseDefinition) -> Bool {
        definition.key.hasPrefix("sessions-exec-")
    }

    /// Whether a sessions case runs through the client library instead of the load generator.
    public static func isClientLibraryCase(_ definition: CaseDefinition) -> Bool {
        definition.key.hasPrefix("sessions-client-")
    }

    /// The sessions group's cases. Plain before session at each count: `roundOrder` keeps a count's cases together,
    /// so the two halves of a comparison run seconds apart.
    var sessionCases: [CaseDefinition] {
        var cases: [CaseDefinition] = []
        for connections in sessionConnections {
            cases.append(
                CaseDefinition(
                    key: Self.plainSetCaseKey(connections: connections), group: .sessions,
                    title: "Lockstep SET (sessions group)", connections: connections))
            cases.append(
                CaseDefinition(
                    key: Self.sessionSetCaseKey(connections: connections), group: .sessions,
                    title: "Lockstep SESSION EXEC … SET", connections: connections))
        }
        if let depth = sessionRequestsInFlight {
            cases.append(
                CaseDefinition(
                    key: Self.plainSetCaseKey(connections: 1, depth: depth), group: .sessions,
                    title: "Lockstep SET (sessions group)", connections: 1, pipelineDepth: depth))
            cases.append(
                CaseDefinition(
                    key: Self.sessionSetCaseKey(connections: 1, depth: depth), group: .sessions,
                    title: "Lockstep SESSION EXEC … SET", connections: 1, pipelineDepth: depth))
            cases.append(
                CaseDefinition(
                    key: Self.clientLibraryCaseKey(tasks: depth), group: .sessions,
                    title: "LockstepClient SET, one client shared by \(depth) tasks", connections: 1,
                    pipelineDepth: depth))
        }
        return cases
    }

    /// What the report sets side by side for the sessions group, in the order it prints them.
    public var sessionComparisons: [SessionComparison] {
        var comparisons = sessionConnections.map { connections in
            SessionComparison(
                title: "SESSION EXEC SET / SET, \(connections) connection\(connections == 1 ? "" : "s") × 1",
                baselineKey: Self.plainSetCaseKey(connections: connections),
                sessionKey: Self.sessionSetCaseKey(connections: connections),
                note: "what the server spends on exactly-once")
        }
        if let depth = sessionRequestsInFlight {
            comparisons.append(
                SessionComparison(
                    title: "SESSION EXEC SET / SET, 1 connection × \(depth) in flight",
                    baselineKey: Self.plainSetCaseKey(connections: 1, depth: depth),
                    sessionKey: Self.sessionSetCaseKey(connections: 1, depth: depth),
                    note: "the server's cost when requests are pipelined, as the library sends them"))
            comparisons.append(
                SessionComparison(
                    title: "LockstepClient, \(depth) tasks / plain RESP SET, 1 connection × \(depth) in flight",
                    baselineKey: Self.plainSetCaseKey(connections: 1, depth: depth),
                    sessionKey: Self.clientLibraryCaseKey(tasks: depth),
                    note: "the whole cost of exactly-once through the library: both keep \(depth) requests in "
                        + "flight on one connection"))
            comparisons.append(
                SessionComparison(
                    title: "LockstepClient, \(depth) tasks / SESSION EXEC SET, 1 connection × \(depth) in flight",
                    baselineKey: Self.sessionSetCaseKey(connections: 1, depth: depth),
                    sessionKey: Self.clientLibraryCaseKey(tasks: depth),
                    note: "the library's own share: the same requests on the wire"))
        }
        return comparisons
    }
}
