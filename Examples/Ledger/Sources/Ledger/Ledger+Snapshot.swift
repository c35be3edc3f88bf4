import Lockstep

/// Snapshot, restore and digest: how a joining backup gets the ledger, and how the backup proves it has not diverged.
///
/// The encoding is a version tag, the sequence number, the accounts **sorted by name** (each with its balance and
/// history), then the holds in creation order. Sorting is what makes it deterministic: the same ledger gives the same
/// bytes in every process, whatever order `Dictionary` iterates in there. The digest hashes those bytes; it costs
/// time in proportion to the state, which suits a small ledger (the primary logs one every 1,000 entries by default).
/// A service with a large state keeps a running digest instead, as the bundled key-value store does.
extension Ledger {
    /// The first word of every snapshot: the encoding's version, so a node never reads another version's bytes.
    static let snapshotVersion: UInt64 = 1

    /// Bytes an id or a history entry's `what` may have in a snapshot: more than the ledger ever writes.
    static let snapshotWordBytesLimit = 128

    /// The whole ledger as bytes.
    public func encoded() -> [UInt8] {
        var writer = SnapshotWriter()
        writer.write(Self.snapshotVersion)
        writer.write(nextSequence)
        writer.write(count: accounts.count)
        for name in accounts.keys.sorted() {
            let account = accounts[name]!  // a key from this very dictionary
            writer.write(name)
            writer.write(account.available)
            writer.write(count: account.history.count)
            for entry in account.history {
                writer.write(entry.id)
                writer.write(entry.amount)
                writer.write(entry.what)
                writer.write(entry.atMilliseconds)
            }
        }
        writer.write(count: holds.count)
        for hold in holds {
            writer.write(hold.id)
            writer.write(hold.account)
            writer.write(hold.amount)
            writer.write(hold.expiresAtMilliseconds)
        }
        return writer.bytes
    }

    /// Replaces the ledger with one read from `snapshot`, or throws and leaves it as it was.
    ///
    /// Checks what `execute` keeps true, so a bad snapshot is refused here rather than tripping a precondition later:
    /// names sorted and valid, balances within bounds, every hold on an existing account.
    public mutating func restore(from snapshot: [UInt8]) throws(SnapshotError) {
        var reader = SnapshotReader(snapshot)
        guard try reader.readUInt64() == Self.snapshotVersion else {
            throw SnapshotError("not a version \(Self.snapshotVersion) ledger snapshot")
        }
        var restored = Ledger(limits: limits)
        restored.nextSequence = try reader.readUInt64()
        let accountCount = try reader.readCount(limit: limits.accountsLimit, "accounts")
        var previousName: String?
        for _ in 0..<accountCount {
            let name = try reader.readString(bytesLimit: limits.accountNameBytesLimit, "an account name")
            guard LedgerCommand.isAccountName(name[...], limits: limits) else {
                throw SnapshotError("invalid account name \(name)")
            }
            guard previousName.map({ $0 < name }) ?? true else {
                throw SnapshotError("accounts out of order (or repeated) at \(name)")
            }
            previousName = name
            var account = Account()
            account.available = try reader.readInt64()
            guard (0...limits.balanceLimit).contains(account.available) else {
                throw SnapshotError("account \(name) has balance \(account.available)")
            }
            let historyCount = try reader.readCount(limit: limits.historyEntriesLimit, "history entries")
            for _ in 0..<historyCount {
                account.history.append(
                    HistoryEntry(
                        id: try reader.readString(bytesLimit: Self.snapshotWordBytesLimit, "an id"),
                        amount: try reader.readInt64(),
                        what: try reader.readString(bytesLimit: Self.snapshotWordBytesLimit, "a history entry"),
                        atMilliseconds: try reader.readInt64()))
            }
            restored.accounts[name] = account
        }
        let holdCount = try reader.readCount(limit: limits.holdsLimit, "holds")
        for _ in 0..<holdCount {
            let hold = Hold(
                id: try reader.readString(bytesLimit: Self.snapshotWordBytesLimit, "a hold id"),
                account: try reader.readString(bytesLimit: limits.accountNameBytesLimit, "a hold's account"),
                amount: try reader.readInt64(), expiresAtMilliseconds: try reader.readInt64())
            guard restored.accounts[hold.account] != nil, (1...limits.amountLimit).contains(hold.amount) else {
                throw SnapshotError("hold \(hold.id) is on a missing account or of an invalid amount")
            }
            restored.holds.append(hold)
        }
        guard reader.isAtEnd else { throw SnapshotError("bytes after the last hold") }
        for name in restored.accounts.keys where restored.total(of: name) > limits.balanceLimit {
            throw SnapshotError("account \(name) holds more than \(limits.balanceLimit)")
        }
        self = restored
    }

    /// FNV-1a over the snapshot, then a finaliser: equal ledgers give equal digests on every machine.
    ///
    /// Swift's `Hasher` would not do: it is seeded per process, so the two nodes would disagree on equal states.
    public func digest() -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in encoded() { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        // SplitMix64's finaliser: spreads FNV's weak high bits over the whole word.
        hash = (hash ^ (hash >> 30)) &* 0xBF58_476D_1CE4_E5B9
        hash = (hash ^ (hash >> 27)) &* 0x94D0_49BB_1331_11EB
        return hash ^ (hash >> 31)
    }
}
