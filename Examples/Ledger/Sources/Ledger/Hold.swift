/// Money set aside from an account until it is released or its time runs out (`HOLD`, `RELEASE`, `Ledger.tick`).
///
/// Holds are the ledger's timer-driven part: their expiry is decided in `tick`, on the primary, by the recorded
/// clock, so the backup expires the same holds at the same point in the log and never by its own timers.
struct Hold: Equatable, Sendable {
    /// The id `HOLD` replied with, e.g. `h12-0123456789abcdef`.
    var id: String
    var account: String
    var amount: Int64
    /// The recorded Unix time, in milliseconds, from which `tick` returns the money.
    var expiresAtMilliseconds: Int64
}
