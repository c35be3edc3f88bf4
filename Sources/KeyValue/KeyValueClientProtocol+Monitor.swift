import Replication

/// MONITOR's feed (`MonitorFeed`), built as requests are parsed, while some connection monitors.
extension KeyValueClientProtocol {
    /// Starts or stops building the feed (the runtime counts the monitoring connections).
    public func setFeedWanted(_ isWanted: Bool) {
        monitorFeed.setWanted(isWanted)
    }

    /// The feed since the last round.
    public func takeFeed() -> [UInt8]? {
        monitorFeed.take()
    }

    /// Adds `arguments` to the feed, unless they are a command Redis keeps out of it: those that carry a password
    /// (AUTH, HELLO), the administrative ones (CONFIG, DEBUG, MONITOR, SLOWLOG, CLIENT), and those it refuses before
    /// running them (an unknown command, a wrong number of arguments).
    /// The line shows the database the command ran in: after a valid SELECT, the one it selected, as Redis notes a
    /// command once it has run.
    func noteForMonitors(_ arguments: CommandArguments, session: Session) {
        guard !arguments.isEmpty, let name = CommandName(arguments.bytes(at: 0)) else { return }
        // Redis feeds the commands it runs: an unknown command or a wrong number of arguments is refused before.
        let local = KeyValueFrontend.LocalCommand(name: name)
        guard local?.accepts(argumentCount: arguments.count) == true
            || DataCommand(name: name)?.accepts(argumentCount: arguments.count) == true
        else { return }
        var database = session.connection.database
        if let command = local {
            switch command {
            case .auth, .hello, .config, .debug, .monitor, .slowlog, .client: return
            case .select where arguments.count == 2 && session.transaction == nil:
                if case .database(let selected) = KeyValueStore.database(arguments.bytes(at: 1)) { database = selected }
            default: break
            }
        }
        monitorFeed.note(
            arguments, clientID: session.clientID, peerAddress: session.connection.peerAddress, database: database)
    }
}
