import Arbiter
import Posix

/// The "live" flag on etcd, for machines that share no disk (DESIGN, "Real networks").
///
/// Records live under `PREFIX/epoch/`, one key per taken epoch, named by the epoch as 20 zero-padded decimal
/// digits so that key order is epoch order (20 digits hold every `UInt64`). The value is the same text record
/// the directory arbiter writes (`EpochRecord.encodedText()`), CRC and all, so `etcdctl get` shows an operator
/// what `cat` would.
///
/// Taking epoch `e` is one etcd transaction:
/// - **if** every key in `[PREFIX/epoch/<e>, end of PREFIX/epoch/)` has `create_revision == 0` — that is, no
///   record exists for `e` or any higher epoch (etcd checks a compare with a range against every key in it, and an
///   empty range compares as one absent key);
/// - **then** put the record of `e`;
/// - **else** read the highest record (a range over the epoch keys, descending, limit 1), which beat us.
///
/// So "one owner per epoch" and "never grant below the highest" are a single atomic decision of etcd's, not a
/// read followed by a write that another node could slip between. Reads are etcd's default, linearizable.
///
/// An answer that does not come (timeout, dead member) is retried on the next endpoint. If the first attempt in
/// fact committed, the retry's compare fails and its read finds our own record, byte for byte (same claim, same
/// timestamp): that is reported as granted, since the epoch is ours. Anything the arbiter cannot read as one of
/// these two answers throws, and nobody goes live on a throw.
public struct EtcdArbiter: Arbiter {
    /// How long one request may take on one endpoint before the next is tried. etcd answers in milliseconds on a
    /// healthy cluster; a second covers a leader election (etcd's default election timeout is 1 s) without
    /// making a failover wait long on a dead member.
    public static let defaultRequestTimeout: Duration = .seconds(1)
    /// The largest HTTP response accepted: a range with limit 1 returns one record (at most
    /// `EpochRecord.textBytesLimit` bytes, a third more in base64) plus headers; more is not an answer of ours.
    public static let responseBytesLimit = 64 << 10
    /// Digits of an epoch in its key: `UInt64.max` has 20.
    static let epochDigitsCount = 20

    /// Where the records live.
    public let location: EtcdLocation
    let client: EtcdHTTPClient

    /// An arbiter on the etcd cluster at `location`; nothing is contacted until the first request.
    public init(location: EtcdLocation, requestTimeout: Duration = defaultRequestTimeout) {
        self.location = location
        client = EtcdHTTPClient(
            endpoints: location.endpoints, requestTimeout: requestTimeout, responseBytesLimit: Self.responseBytesLimit)
    }

    /// The highest epoch taken under the prefix and who took it; `nil` if none is.
    public func current() throws(ArbiterError) -> EpochRecord? {
        let answer = try client.post("/v3/kv/range", body: EtcdJSON.encode(highestRecordRequest))
        let range = try EtcdJSON.decode(EtcdJSON.RangeResponse.self, answer.body, from: answer.endpoint)
        return try highestRecord(in: range)
    }

    /// Takes `epoch` for `claim` in one transaction (see the type's comment); `.lost` names the highest record.
    public func take(epoch: UInt64, for claim: Claim) throws(ArbiterError) -> TakeResult {
        precondition(epoch >= 1, "epochs count up from 1")
        let record = EpochRecord(
            epoch: epoch, claim: claim, takenAtMilliseconds: wallClockNanoseconds() / 1_000_000)
        let key = Self.key(ofEpoch: epoch, prefix: location.prefix)
        let transaction = EtcdJSON.TransactionRequest(
            compare: [
                EtcdJSON.Compare(
                    result: "EQUAL", target: "CREATE", key: EtcdJSON.base64(key),
                    range_end: EtcdJSON.base64(namespaceEnd), create_revision: "0")
            ],
            success: [
                EtcdJSON.RequestOp(
                    request_put: EtcdJSON.PutRequest(key: EtcdJSON.base64(key), value: EtcdJSON.base64(record.encodedText())))
            ],
            failure: [EtcdJSON.RequestOp(request_range: highestRecordRequest)])
        let answer = try client.post("/v3/kv/txn", body: EtcdJSON.encode(transaction))
        let response = try EtcdJSON.decode(EtcdJSON.TransactionResponse.self, answer.body, from: answer.endpoint)
        if response.succeeded == true { return .granted(record) }
        guard let range = response.responses?.first?.response_range else {
            throw .badResponse(endpoint: "\(answer.endpoint)", reason: "a failed transaction without its range read")
        }
        guard let holder = try highestRecord(in: range) else {
            // The compare failed, so a key at or above `epoch` existed; etcd showing none is not an answer.
            throw .badResponse(endpoint: "\(answer.endpoint)", reason: "the take was refused but no epoch is taken")
        }
        // Our own earlier attempt whose answer was lost on the way (a timeout, then this retry).
        if holder == record { return .granted(record) }
        return .lost(to: holder)
    }

    /// `PREFIX/epoch/` followed by the epoch in 20 digits.
    static func key(ofEpoch epoch: UInt64, prefix: String) -> [UInt8] {
        let digits = String(epoch)
        return Array((prefix + "/epoch/" + String(repeating: "0", count: epochDigitsCount - digits.count) + digits).utf8)
    }

    /// The first key of the epoch namespace, `PREFIX/epoch/`.
    var namespaceStart: [UInt8] { Array((location.prefix + "/epoch/").utf8) }
    /// The first key after the namespace: `PREFIX/epoch0` (`0` follows `/` in ASCII).
    var namespaceEnd: [UInt8] { Array((location.prefix + "/epoch0").utf8) }

    /// A range read of the one highest key under `PREFIX/epoch/`.
    var highestRecordRequest: EtcdJSON.RangeRequest {
        EtcdJSON.RangeRequest(
            key: EtcdJSON.base64(namespaceStart), range_end: EtcdJSON.base64(namespaceEnd), limit: "1",
            sort_order: "DESCEND", sort_target: "KEY")
    }

    /// The record in a range answer of at most one key, checked against its key; `nil` for no key.
    ///
    /// A key in the namespace that is not an epoch key, or a value that is not a valid record of that epoch, is a
    /// corrupt record: its epoch stays taken by an unknown node, and `current()` refuses to guess past it.
    func highestRecord(in range: EtcdJSON.RangeResponse) throws(ArbiterError) -> EpochRecord? {
        guard let entry = range.kvs?.first else { return nil }
        guard let key = entry.key.flatMap(EtcdJSON.bytes(base64:)) else {
            throw .corruptRecord(path: "etcd key under \(location.prefix)/epoch/", reason: "key is not base64")
        }
        let keyText = String(decoding: key, as: UTF8.self)
        let digits = key.dropFirst(namespaceStart.count)
        guard key.starts(with: namespaceStart), digits.count == Self.epochDigitsCount,
            digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let epoch = UInt64(String(decoding: digits, as: UTF8.self))
        else {
            throw .corruptRecord(path: "etcd key \(keyText)", reason: "not an epoch key")
        }
        guard let value = EtcdJSON.bytes(base64: entry.value ?? "") else {
            throw .corruptRecord(path: "etcd key \(keyText)", reason: "value is not base64")
        }
        let record: EpochRecord
        do {
            record = try EpochRecord.decoded(fromText: value)
        } catch {
            throw .corruptRecord(path: "etcd key \(keyText)", reason: error.reason)
        }
        guard record.epoch == epoch else {
            throw .corruptRecord(
                path: "etcd key \(keyText)", reason: "holds epoch \(record.epoch) under the key of epoch \(epoch)")
        }
        return record
    }
}
