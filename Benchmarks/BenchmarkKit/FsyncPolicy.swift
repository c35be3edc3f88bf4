/// When a durable log is synced to disk: Lockstep's `--fsync` and Redis's `appendfsync` take the same three names, so
/// the durability group runs each system with the same one side by side.
public enum FsyncPolicy: String, Sendable, CaseIterable {
    /// The kernel decides when to write back.
    case no
    /// Synced once a second: an entry survives the process dying, not a power cut.
    case everysec
    /// Synced before a reply (or, for Lockstep, an ack) counts the entry: survives a power cut.
    case always
}
